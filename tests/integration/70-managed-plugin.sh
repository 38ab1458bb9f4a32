#!/usr/bin/env bash
# The managed (v2) plugin on the real Docker engine: the rootfs and
# config.json of plugin/, `docker plugin create/set/enable`, the volume
# workflow with containers writing and reading data, `plugin disable`
# refused while volumes are in use, settable values, an upgrade (disable,
# recreate from a new rootfs, enable) with volumes and data intact; first
# with the mock backend, then with the esx backend talking to esxsim on the
# host over tcp://127.0.0.1 (host network).
#
# The plugin gets a name of its own (vdvsmpPID:test, used as the driver
# name), so it never takes the `vsphere` name from a v1 vdvsd that other
# tests (50, 51) run: a v2 plugin named vsphere, even disabled, would
# shadow it.  Everything it creates is removed at the end.
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse
require_docker
require_image

S=$$
NAME=vdvsmp$S
PLUGIN=$NAME:test
DS=$T/ds                     # host datastore root, bind-mounted at /var/lib/vdvs
DIR=$T/plugin
mkdir -p "$DS"
d () { timeout 180 "$DOCKER" "$@"; }
containers=()

plugin_id () { d plugin inspect -f '{{.Id}}' "$PLUGIN" 2>/dev/null; }
plugin_pid () {   # the plugin's vdvsd, found by its plugin-only argument
  local p id
  id=$(plugin_id) || return 1
  for p in $(pgrep -x vdvsd); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -x "VDVS_DRIVER=$NAME" >/dev/null && { echo "$p"; return 0; }
  done
  return 1
}
cleanup_plugin () {
  # Another test may be restarting the shared engine: wait for it.
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  for c in "${containers[@]}"; do d rm -f "$c" >/dev/null 2>&1; done
  for v in $(d volume ls -q --filter "driver=$PLUGIN" 2>/dev/null); do d volume rm -f "$v" >/dev/null 2>&1; done
  if d plugin inspect "$PLUGIN" >/dev/null 2>&1; then
    d plugin disable -f "$PLUGIN" >/dev/null 2>&1
    d plugin rm -f "$PLUGIN" >/dev/null 2>&1
  fi
  # Our loop devices only: their backing files carry this test's volume
  # names.  Others' loops (tests running at the same time) are left alone.
  local l
  for l in $(losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v s="mp$S" 'index($2, s) { print $1 }'); do
    echo "LEAK: loop $l" >&2; losetup -d "$l"; echo 1 > "$T/leaked"
  done
  LOOPS_BEFORE=$(losetup -n -O NAME 2>/dev/null | sort | tr '\n' ' ')
  [ ! -f "$T/leaked" ] || exit 1
}
on_exit cleanup_plugin

# build_plugin MARKER: plugin dir from the build, MARKER in the rootfs.
build_plugin () {
  "$TOP/plugin/build-rootfs.sh" "$VDVS_BUILD" "$DIR" > "$T/build-rootfs.log" 2>&1 \
    || fail "plugin/build-rootfs.sh: $(tail -5 "$T/build-rootfs.log")"
  echo "$1" > "$DIR/rootfs/etc/vdvs-plugin-build"
}
# create_plugin BACKEND OPTS: create from $DIR and apply the settings.
create_plugin () {
  d plugin create "$PLUGIN" "$DIR" >/dev/null || fail "docker plugin create $PLUGIN"
  d plugin set "$PLUGIN" datastore.source="$DS" VDVS_DRIVER="$NAME" \
    VDVS_BACKEND="$1" VDVS_BACKEND_OPTS="$2" || fail "docker plugin set"
}
enable_plugin () {
  d plugin enable "$PLUGIN" >/dev/null || fail "docker plugin enable: $(grep "plugin=$(plugin_id)" /var/log/vdvs-dockerd.log 2>/dev/null | tail -5)"
  [ "$(d plugin inspect -f '{{.Enabled}}' "$PLUGIN")" = true ] || fail "plugin not enabled"
}
run () { d run --rm --network none "$@"; }
mounted_in_propagated () {   # VOLUME: is it mounted where the engine looks?
  grep -q " /var/lib/docker/plugins/$(plugin_id)/propagated-mount/$1@datastore1 " /proc/self/mounts
}

# workflow BACKEND: create, write, read, in-use refusals, rm.
workflow () {
  local b=$1 V=mp$S$1 c=mpc$S$1 insp
  d volume create --driver="$PLUGIN" --name="$V" -o size=200mb >/dev/null || fail "[$b] volume create"
  insp=$(d volume inspect "$V")
  [ "$(jq -r '.[0].Driver' <<<"$insp")" = "$PLUGIN" ] || fail "[$b] driver: $insp"
  [ "$(jq -r '.[0].Status.capacity.size' <<<"$insp")" = 200MB ] || fail "[$b] capacity: $insp"
  [ "$(jq -r '.[0].Status.status' <<<"$insp")" = detached ] || fail "[$b] status: $insp"
  d volume ls --filter "driver=$PLUGIN" | grep "$V" >/dev/null || fail "[$b] volume ls lacks $V"
  ok "[$b] docker volume create, inspect, ls through $PLUGIN"

  # busybox `sync FILE` fsyncs that file; a global sync would wait on
  # every other FUSE mount of the machine.
  run -v "$V:/data" "$IMAGE" sh -c 'echo hello-'"$b"' > /data/f && sync /data/f' || fail "[$b] writer container"
  [ "$(run -v "$V:/data" "$IMAGE" cat /data/f)" = "hello-$b" ] || fail "[$b] reader container"
  ok "[$b] a container writes, a second one reads the data back"

  containers+=("$c")
  d run -d --name "$c" --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null \
    || fail "[$b] long-running container"
  mounted_in_propagated "$V" || fail "[$b] not mounted under the plugin's propagated mount"
  [ "$(d volume inspect "$V" | jq -r '.[0].Status.status')" = attached ] || fail "[$b] not attached in use"
  ! d plugin disable "$PLUGIN" 2>"$T/disable.err" || fail "[$b] plugin disable succeeded with a volume in use"
  grep -q "in use" "$T/disable.err" || fail "[$b] disable error: $(cat "$T/disable.err")"
  ! d volume rm "$V" 2>"$T/rm.err" || fail "[$b] volume rm succeeded in use"
  d exec "$c" sh -c 'echo more >> /data/f && sync /data/f' || fail "[$b] write in the running container"
  d rm -f "$c" >/dev/null
  for _ in $(seq 50); do mounted_in_propagated "$V" || break; sleep 0.1; done
  ! mounted_in_propagated "$V" || fail "[$b] still mounted after the container went away"
  [ "$(d volume inspect "$V" | jq -r '.[0].Status.status')" = detached ] || fail "[$b] not detached after use"
  ok "[$b] plugin disable and volume rm refused while in use; unmounted and detached after"
}

# ---------------------------------------------------------------- mock
build_plugin build-1
jq -e '.interface.types == ["docker.volumedriver/1.0"] and .interface.socket == "vsphere.sock"
       and .propagatedMount == "/mnt/vmdk" and .linux.capabilities == ["CAP_SYS_ADMIN"]' \
  "$DIR/config.json" >/dev/null || fail "config.json: $(cat "$DIR/config.json")"
create_plugin mock "datastores=datastore1;vm-name=mpvm$S"
[ "$(d plugin inspect -f '{{.Enabled}}' "$PLUGIN")" = false ] || fail "created plugin is enabled"
d plugin inspect "$PLUGIN" | jq -e --arg ds "$DS" '.[0].Settings.Mounts[] | select(.Name == "datastore") | .Source == $ds' >/dev/null \
  || fail "datastore.source not set"
ok "make-plugin dir: docker plugin create, set (datastore.source, env)"
enable_plugin
pid=$(plugin_pid) || fail "plugin vdvsd not running"
tr '\0' '\n' < "/proc/$pid/environ" | grep -x VDVS_LOG_LEVEL=info >/dev/null || fail "default VDVS_LOG_LEVEL"
ok "docker plugin enable: vdvsd running in the plugin (pid $pid)"

! d plugin set "$PLUGIN" VDVS_LOG_LEVEL=debug 2>/dev/null || fail "plugin set accepted while enabled"
workflow mock

d volume rm "mp${S}mock" >/dev/null || fail "volume rm mp${S}mock"

# Keep a volume with data across a settings change and an upgrade.
V=mpkeep$S
d volume create --driver="$PLUGIN" --name="$V" -o size=100mb >/dev/null || fail "create $V"
run -v "$V:/data" "$IMAGE" sh -c 'echo kept > /data/k && sync /data/k' || fail "write $V"
! d plugin disable "$PLUGIN" 2>/dev/null || fail "plugin disable succeeded while a volume exists"
d plugin disable -f "$PLUGIN" >/dev/null || fail "plugin disable -f"
d plugin set "$PLUGIN" VDVS_LOG_LEVEL=debug || fail "plugin set VDVS_LOG_LEVEL while disabled"
enable_plugin
pid=$(plugin_pid) || fail "plugin vdvsd not running after set"
tr '\0' '\n' < "/proc/$pid/environ" | grep -x VDVS_LOG_LEVEL=debug >/dev/null || fail "VDVS_LOG_LEVEL=debug not in the plugin's environment"
[ "$(run -v "$V:/data" "$IMAGE" cat /data/k)" = kept ] || fail "data lost across disable/set/enable"
ok "docker plugin set VDVS_LOG_LEVEL=debug (refused while enabled) reaches vdvsd; data kept"

# Upgrade without a registry (`docker plugin upgrade` pulls): disable,
# remove, create from a new rootfs, set again, enable.  The engine starts
# the new plugin's in-use count at zero (its volumes are not re-counted
# until the engine restarts), so this part checks data, not the refusal.
old_id=$(plugin_id)
d plugin disable -f "$PLUGIN" >/dev/null || fail "upgrade: disable -f"
d plugin rm -f "$PLUGIN" >/dev/null || fail "upgrade: rm -f"
build_plugin build-2
create_plugin mock "datastores=datastore1;vm-name=mpvm$S"
enable_plugin
[ "$(plugin_id)" != "$old_id" ] || fail "upgrade: same plugin id"
pid=$(plugin_pid) || fail "plugin vdvsd not running after upgrade"
[ "$(cat "/proc/$pid/root/etc/vdvs-plugin-build")" = build-2 ] || fail "upgrade: the old rootfs runs"
insp=$(d volume inspect "$V") || fail "upgrade: volume inspect"
[ "$(jq -r '.[0].Status.capacity.size' <<<"$insp")" = 100MB ] || fail "upgrade: inspect: $insp"
[ "$(run -v "$V:/data" "$IMAGE" cat /data/k)" = kept ] || fail "upgrade: data lost"
d volume rm "$V" >/dev/null || fail "volume rm after upgrade"
[ -z "$(find "$DS" -name "$V*")" ] || fail "files of $V left in the datastore"
d plugin disable "$PLUGIN" >/dev/null || fail "plugin disable with no volume left"
d plugin rm "$PLUGIN" >/dev/null || fail "plugin rm"
! grep -q "/var/lib/docker/plugins/$old_id" /proc/self/mounts || fail "mounts of the old plugin left"
ok "upgrade (disable -f, rm, create from a new rootfs, enable): volume and data intact; removed"

# ---------------------------------------------------------------- esx
# esxsim on the host serves the datastore under $DS/esx; the plugin finds
# the attached disks through the same dirs, bind-mounted at /var/lib/vdvs.
E=$DS/esx
mkdir -p "$E/root" "$E/run"
port=
for p in $(shuf -i 20000-29999 -n 10); do
  "$ESXSIM" --root "$E/root" --datastores datastore1 --sysfs-root "$E/sys" --dev-root "$E/dev" \
    --backend-opt "vmdkfs-mount=$E/vmfs" --backend-opt "vmdkfs-ctl=$E/run/vmdkfs.ctl" \
    --listen "tcp://127.0.0.1:$p,vm-name=mpvm$S,vm-uuid=42000000-0000-0000-0000-0000000$S" \
    >"$T/esxsim-$p.log" 2>&1 &
  ESXSIM_PID=$!
  for _ in $(seq 50); do
    kill -0 "$ESXSIM_PID" 2>/dev/null || break
    grep -q "Listening url=tcp://127.0.0.1:$p " "$T/esxsim-$p.log" && { port=$p; break; }
    sleep 0.1
  done
  [ -n "$port" ] && break
  stop_esxsim
done
[ -n "$port" ] || fail "esxsim did not listen: $(tail -5 "$T"/esxsim-*.log)"
create_plugin esx "esx=tcp://127.0.0.1:$port;sysfs-root=/var/lib/vdvs/esx/sys;dev-root=/var/lib/vdvs/esx/dev;timeout=30;retries=2"
enable_plugin
ok "plugin created with the esx backend (esxsim on tcp://127.0.0.1:$port)"
workflow esx
grep -q "mp${S}esx" <<<"$("$VDVS_BUILD/tools/vdvsctl" --root "$E/root" ls 2>&1)" || fail "[esx] volume not on esxsim's datastore"
d volume rm "mp${S}esx" >/dev/null || fail "[esx] volume rm"
ok "[esx] the volume lives on esxsim's datastore; removed"

d plugin disable "$PLUGIN" >/dev/null || fail "final disable"
d plugin rm "$PLUGIN" >/dev/null || fail "plugin rm"
! d plugin inspect "$PLUGIN" >/dev/null 2>&1 || fail "plugin left after rm"
ok "plugin disabled and removed; nothing left"
