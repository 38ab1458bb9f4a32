#!/usr/bin/env bash
# The README's quick start, as a new user runs it: no Docker engine running
# and no `busybox` image, `make run` in one shell, the README's commands in
# another.  The commands are the first ```sh block after the "## Quick start"
# heading of README.md (VDVS_README to test another copy), run verbatim with
# bash -e, so a README that drifts from what works breaks this test.  Then
# `make run` is stopped as Ctrl-C stops it and nothing may be left behind;
# `make plugin` must then refuse the name the engine still gives the v1 vdvsd.
#
# It stops the shared engine: run it under the machine lock.  The engine is
# left as found (running, as scripts/dockerd.sh or systemd starts it), and so
# is the `busybox` image.  Numbered 05 so it runs first: it restarts the engine
# that tests/run.sh started, and later tests find it as run.sh left it.
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse
[ -n "$DOCKER" ] && command -v dockerd >/dev/null || { echo "SKIP: no Docker (make deps)"; exit 77; }

README=${VDVS_README:-$TOP/README.md}
PSOCK=/run/docker/plugins/vsphere.sock
V=MyVolume
DSROOT=/var/lib/vdvs                # vdvsd's defaults, as make run uses them
d () { timeout 120 "$DOCKER" "$@"; }

# --- the block, as the README prints it
awk '/^## Quick start/ { h = 1; next }
     h && !b && /^```sh$/ { b = 1; next }
     b && /^```$/ { exit }
     b { print }' "$README" > "$T/quickstart.sh"
grep -q '[^[:space:]]' "$T/quickstart.sh" || fail "no \`\`\`sh block under '## Quick start' in $README"
grep -q -- "--name=$V " "$T/quickstart.sh" || fail "the quick start does not create $V: $(cat "$T/quickstart.sh")"
echo "quick start block:"; sed 's/^/  /' "$T/quickstart.sh"

if [ -S "$PSOCK" ] && curl -s --max-time 2 --unix-socket "$PSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
  echo "SKIP: another plugin serves $PSOCK (stop it to run this test)"; exit 77
fi
awk '$2 ~ "^/mnt/vmdk/" { f = 1 } END { exit !f }' /proc/self/mounts &&
  fail "volumes are mounted under /mnt/vmdk already: $(grep ' /mnt/vmdk/' /proc/self/mounts)"
[ -z "$(find "$DSROOT" -name "$V.vmdk" 2>/dev/null)" ] ||
  fail "$V exists in $DSROOT already (docker volume rm $V with make run going)"
# make run makes the datastore and vdvsd's run dir: removed after if new.
new_dirs=()
for dir in "$DSROOT" /run/vdvs; do [ -e "$dir" ] || new_dirs+=("$dir"); done

# --- the engine as found, then none running and no busybox image
stop_engine () {
  [ $systemd_engine = 1 ] && systemctl stop docker.socket docker.service 2>/dev/null
  local pid ctd
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    kill -TERM "$pid"
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "dockerd $pid: SIGKILL after 30 s"; kill -9 "$pid"; sleep 1; }
  fi
  # The engine's own containerd: a new engine must not find it shutting down.
  ctd=$(pgrep -f 'containerd --config /var/run/docker/containerd/containerd.toml' || true)
  if [ -n "$ctd" ]; then
    kill "$ctd" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$ctd" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$ctd" 2>/dev/null || true
  fi
  ! "$DOCKER" info >/dev/null 2>&1
}

systemd_engine=0
[ -d /run/systemd/system ] && systemctl is-active --quiet docker.service 2>/dev/null && systemd_engine=1
engine_was_up=0
"$DOCKER" info >/dev/null 2>&1 && engine_was_up=1
[ $engine_was_up = 1 ] || "$TOP/scripts/dockerd.sh" >/dev/null || fail "no Docker engine starts"
if d plugin inspect vsphere >/dev/null 2>&1; then
  [ $engine_was_up = 1 ] || stop_engine
  echo "SKIP: a managed plugin named vsphere exists: it takes the driver name from make run's vdvsd"; exit 77
fi
had_busybox=0
if d image inspect busybox:latest >/dev/null 2>&1; then
  had_busybox=1
  d image save -o "$T/busybox.tar" busybox:latest || fail "cannot save the busybox image"
fi
d image rm -f busybox:latest >/dev/null 2>&1 || true

MAKE_PID=''; PLUGIN_TRIED=0
vdvsd_of_make () { pgrep -P "$MAKE_PID" -x vdvsd; }
restore () {
  if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
    d ps -aq --filter volume=$V 2>/dev/null | xargs -r "$DOCKER" rm -f >/dev/null 2>&1
    d volume rm -f $V >/dev/null 2>&1
    kill -TERM "$(vdvsd_of_make)" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$MAKE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$MAKE_PID" 2>/dev/null && { echo "make run did not stop"; kill -9 "$(vdvsd_of_make)" "$MAKE_PID"; }
  fi
  # A plugin our make plugin made (none of that name existed before).
  [ "$PLUGIN_TRIED" = 1 ] && "$DOCKER" plugin rm -f vsphere:latest >/dev/null 2>&1
  # The engine as found: restarted the way it was started, the image back.
  stop_engine
  if [ $systemd_engine = 1 ]; then systemctl start docker.service
  else "$TOP/scripts/dockerd.sh" >/dev/null; fi
  "$DOCKER" image rm -f busybox:latest >/dev/null 2>&1
  [ $had_busybox = 0 ] || "$DOCKER" image load -q -i "$T/busybox.tar" >/dev/null
  [ $engine_was_up = 1 ] || stop_engine
  for dir in "${new_dirs[@]}"; do
    [ -z "$(find "$dir" -name '*.vmdk')" ] && rm -rf "$dir"
  done
}
on_exit restore

stop_engine || fail "the Docker engine did not stop"
ok "no Docker engine running, no busybox image"

# --- make run, as in the first shell
make -C "$TOP" run BUILD="$VDVS_BUILD" > "$T/make-run.log" 2>&1 < /dev/null &
MAKE_PID=$!
for _ in $(seq 600); do
  [ -S "$PSOCK" ] && curl -s --max-time 2 --unix-socket "$PSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1 && break
  kill -0 "$MAKE_PID" 2>/dev/null || { cat "$T/make-run.log"; fail "make run exited before serving $PSOCK"; }
  sleep 0.5
done
[ -S "$PSOCK" ] || { tail -30 "$T/make-run.log"; fail "make run: no plugin socket $PSOCK after 300 s"; }
VPID=$(vdvsd_of_make) || fail "no vdvsd child of make run"
"$DOCKER" info >/dev/null 2>&1 || { cat "$T/make-run.log"; fail "make run did not start a Docker engine"; }
grep -q "dockerd: starting (log /" "$T/make-run.log" || fail "make run did not say where the engine's log is: $(cat "$T/make-run.log")"
d image inspect busybox:latest >/dev/null 2>&1 || fail "make run did not make the busybox image"
ok "make run: engine started (its log named), busybox image made, vdvsd serving $PSOCK"

# --- the README's commands, verbatim, as in the second shell
rc=0; timeout 600 bash -e "$T/quickstart.sh" > "$T/quickstart.out" 2> "$T/quickstart.err" || rc=$?
[ $rc = 0 ] || { cat "$T/quickstart.out" "$T/quickstart.err"; tail -20 "$T/make-run.log"; fail "the quick start failed (rc=$rc)"; }
cat "$T/quickstart.out"
log_has () { grep "$1" "$T/make-run.log" | grep -c "name=$V@datastore1"; }
[ "$(log_has 'Volume created and formatted')" -ge 1 ] || fail "vdvsd did not create $V"
jq -e --arg v $V '.[] | select(.Name == $v and .Driver == "vsphere" and .Status.capacity.size == "10GB")' \
  < <(sed -n '/^\[/,/^\]/p' "$T/quickstart.out") >/dev/null || fail "no inspect output of $V by the vsphere driver"
[ "$(log_has 'Mount done')" -ge 2 ] || fail "vdvsd did not mount $V for two containers"
[ "$(log_has 'Volume unmounted')" -ge 2 ] || fail "vdvsd did not unmount $V after the containers"
grep -qx hello "$T/quickstart.out" || fail "the second container did not read back what the first wrote"
d volume ls -q | grep -x $V >/dev/null && fail "$V still listed after docker volume rm"
[ -z "$(find "$DSROOT" -name "$V*")" ] || fail "files of $V left in $DSROOT: $(find "$DSROOT" -name "$V*")"
ok "quick start: $V created, written by one container, read back by another, inspected, removed"

# --- Ctrl-C: vdvsd stops and leaves nothing behind
kill -INT "$VPID"
for _ in $(seq 300); do kill -0 "$MAKE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MAKE_PID" 2>/dev/null && fail "make run still running 30 s after SIGINT to vdvsd"
rc=0; wait "$MAKE_PID" || rc=$?
MAKE_PID=
[ $rc = 0 ] || { tail -20 "$T/make-run.log"; fail "make run exited with $rc after SIGINT"; }
[ ! -e "$PSOCK" ] || fail "plugin socket $PSOCK left behind"
left=$(awk -v ds=$DSROOT '$2 ~ "^/mnt/vmdk/" || $2 ~ "^/run/vdvs/" || ($3 == "fuse.vmdkfs" && index($1, ds) == 1) { print $1, $2, $3 }' /proc/self/mounts)
[ -z "$left" ] || fail "mounts left behind: $left"
left=$(losetup -n -O NAME,BACK-FILE 2>/dev/null | grep -E "$DSROOT|/run/vdvs/" || true)
[ -z "$left" ] || fail "loop devices left behind: $left"
pgrep -f '^[^ ]*vmdkfs .*/run/vdvs/' >/dev/null && fail "vmdkfs left running: $(pgrep -af vmdkfs)"
ok "make run stopped by SIGINT: no socket, mount, FUSE mount, loop device or vmdkfs left"

# --- make plugin now: the engine still sends `vsphere` to the v1 socket
PLUGIN_TRIED=1
out=$(make -C "$TOP" plugin BUILD="$VDVS_BUILD" 2>&1) && fail "make plugin succeeded while the engine remembers the v1 vsphere: $out"
grep -q "has used a v1 plugin named 'vsphere'" <<<"$out" || fail "make plugin did not say why: $out"
grep -q "PLUGIN_NAME=" <<<"$out" || fail "make plugin did not say what to do: $out"
d plugin inspect vsphere:latest >/dev/null 2>&1 && fail "make plugin created vsphere:latest anyway"
ok "make plugin refuses the name the engine gives the v1 vdvsd, and says what to do"
