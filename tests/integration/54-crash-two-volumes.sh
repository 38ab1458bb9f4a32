#!/usr/bin/env bash
# A host crash with two volumes mounted, on the emulated datastore: vdvsd
# and vmdkfs killed, their mounts and loop devices gone, vdvsd's /run state
# wiped, while the datastore's sidecars and unit records still say
# "attached".  The Docker engine vdvsd asks does not answer (a socket that
# accepts and never replies).  After the restart, stale attachments are
# swept before the plugin serves (without the engine), and mounting the
# volumes again, A then B and, after a second crash, B then A, gives each
# its own data.  With an engine, real containers write and read the data.
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse

S=$$ A=c2a$$ B=c2b$$
HAVE_DOCKER=
if [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 \
   && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  SOCK=/run/docker/plugins/vsphere.sock
  if [ -S "$SOCK" ] && curl -s --max-time 2 --unix-socket "$SOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
    echo "SKIP: another plugin serves $SOCK"; exit 77
  fi
  HAVE_DOCKER=1
  on_exit '"$DOCKER" volume rm -f $A $B >/dev/null 2>&1'
fi
d () { "$DOCKER" "$@"; }

# The engine vdvsd consults for recovery: accepts, never answers.
FAKE=$T/fake-docker.sock
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$FAKE" &
FAKE_PID=$!
on_exit 'kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null'
for _ in $(seq 50); do [ -S "$FAKE" ] && break; sleep 0.1; done
[ -S "$FAKE" ] || fail "fake engine socket did not appear"

start () { start_vdvsd --socket "$SOCK" --docker-socket "$FAKE"; }
status () { api VolumeDriver.Get "{\"Name\":\"$1\"}" | jq -r '.Volume.Status.status'; }
mount_api () { api_ok VolumeDriver.Mount "{\"Name\":\"$1\",\"ID\":\"$2\"}" | jq -r .Mountpoint; }
unmount_api () { api_ok VolumeDriver.Unmount "{\"Name\":\"$1\",\"ID\":\"$2\"}" >/dev/null; }
data_of () { cat "$MNT/$1@datastore1/f" 2>/dev/null || echo "(unreadable)"; }

# Our loop devices: those on the extents of A and B (by file name: once
# vmdkfs is lazily unmounted, the kernel shows the path from its root).
our_loops () {
  losetup -n -O NAME,BACK-FILE 2>/dev/null \
    | awk -v a="/$A-flat.vmdk" -v b="/$B-flat.vmdk" '{ n = length($2) }
        substr($2, n - length(a) + 1) == a || substr($2, n - length(b) + 1) == b { print $1 }'
}

# host_crash: what a reboot leaves of this VM: the datastore only.
host_crash () {
  local vpid l
  vpid=$(cat "$T/run/vmdkfs.ctl.pid" 2>/dev/null || true)
  kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
  if [ -n "$vpid" ] && tr '\0' ' ' < "/proc/$vpid/cmdline" 2>/dev/null | grep "vmdkfs.*$T" >/dev/null; then
    kill -9 "$vpid"
    for _ in $(seq 50); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
  fi
  while read -r mp; do umount -l "$mp"; done < <(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for l in $(our_loops); do losetup -d "$l" 2>/dev/null || true; done
  for _ in $(seq 100); do [ -z "$(our_loops)" ] && break; sleep 0.1; done
  [ -z "$(our_loops)" ] || fail "loop devices of the test still bound: $(our_loops)"
  rm -rf "$T/run" "$T/sys" "$T/dev" "$T/state"
  rm -f "$SOCK"
}

# restart: vdvsd comes up; before any request, the stale attachments must
# be gone, and the engine must not have been heard from.
restart () {
  local t0=$SECONDS
  LOG0=$(wc -l < "$T/vdvsd.log")
  start
  SWEPT="$(status "$A") $(status "$B")"
  STARTUP=$((SECONDS - t0))
}
# check_sweep ROUND: what was seen right after the restart; checked after
# the mounts, so that a missing sweep shows first as the data it mixes up.
check_sweep () {
  [ "$SWEPT" = "detached detached" ] || fail "$1: stale attachments not swept before serving: $SWEPT"
  [ "$STARTUP" -lt 20 ] || fail "$1: vdvsd took ${STARTUP}s to serve"
  # This daemon's log: the sweep came before it served, and its recovery
  # is still waiting for the engine (no reconciling yet).
  tail -n +"$((LOG0 + 1))" "$T/vdvsd.log" > "$T/round.log"
  awk '/Recovery: detached unused volume/ { d++ } /msg="?Serving/ || /Serving/ { exit d >= 2 ? 0 : 1 }' "$T/round.log" \
    || fail "$1: the sweep did not detach both volumes before Serving"
  ! grep -q "Recovery: reconciling" "$T/round.log" || fail "$1: recovery heard from an engine that never answers"
}

# --- two volumes with distinct data, both mounted
start
api_ok VolumeDriver.Create "{\"Name\":\"$A\",\"Opts\":{\"size\":\"32mb\"}}" >/dev/null
api_ok VolumeDriver.Create "{\"Name\":\"$B\",\"Opts\":{\"size\":\"32mb\"}}" >/dev/null
if [ -n "$HAVE_DOCKER" ]; then
  d run --rm --network none -v "$A:/d" "$IMAGE" sh -c "echo data-of-$A > /d/f && sync" || fail "writer container on A"
  d run --rm --network none -v "$B:/d" "$IMAGE" sh -c "echo data-of-$B > /d/f && sync" || fail "writer container on B"
  ok "containers wrote A's and B's data"
else
  for v in "$A" "$B"; do
    mp=$(mount_api "$v" w); echo "data-of-$v" > "$mp/f"; sync "$mp/f"; unmount_api "$v" w
  done
fi
mount_api "$A" m1 >/dev/null
mount_api "$B" m1 >/dev/null
[ "$(data_of "$A")" = "data-of-$A" ] && [ "$(data_of "$B")" = "data-of-$B" ] || fail "data before the crash"
[ "$(status "$A") $(status "$B")" = "attached attached" ] || fail "not attached before the crash"
ok "A and B mounted: $(our_loops | tr '\n' ' ')"

# --- crash 1, then A before B
host_crash
restart
mount_api "$A" m2 >/dev/null
mount_api "$B" m2 >/dev/null
[ "$(data_of "$A")" = "data-of-$A" ] || fail "after crash 1, A then B: A shows '$(data_of "$A")'"
[ "$(data_of "$B")" = "data-of-$B" ] || fail "after crash 1, A then B: B shows '$(data_of "$B")'"
check_sweep "crash 1"
ok "crash 1: swept before serving (${STARTUP}s, engine silent); A then B each see their own data"

# --- crash 2, then B before A: B is offered the loop device A had
host_crash
restart
mount_api "$B" m3 >/dev/null
mount_api "$A" m3 >/dev/null
[ "$(data_of "$A")" = "data-of-$A" ] || fail "after crash 2, B then A: A shows '$(data_of "$A")'"
[ "$(data_of "$B")" = "data-of-$B" ] || fail "after crash 2, B then A: B shows '$(data_of "$B")'"
check_sweep "crash 2"
ok "crash 2: swept before serving (${STARTUP}s, engine silent); B then A each see their own data"

# Writes still go to the right disk, and survive an orderly unmount.
echo "more-$A" >> "$MNT/$A@datastore1/f"; echo "more-$B" >> "$MNT/$B@datastore1/f"; sync
unmount_api "$A" m3; unmount_api "$B" m3
[ "$(status "$A") $(status "$B")" = "detached detached" ] || fail "not detached after the last unmount"
[ -z "$(our_loops)" ] || fail "loop devices left: $(our_loops)"
if [ -n "$HAVE_DOCKER" ]; then
  [ "$(d run --rm --network none -v "$A:/d" "$IMAGE" cat /d/f | tr '\n' ' ')" = "data-of-$A more-$A " ] || fail "container reads A wrong"
  [ "$(d run --rm --network none -v "$B:/d" "$IMAGE" cat /d/f | tr '\n' ' ')" = "data-of-$B more-$B " ] || fail "container reads B wrong"
  ok "containers read A's and B's own data"
else
  for v in "$A" "$B"; do
    mp=$(mount_api "$v" r)
    [ "$(tr '\n' ' ' < "$mp/f")" = "data-of-$v more-$v " ] || fail "$v's data: $(cat "$mp/f")"
    unmount_api "$v" r
  done
fi
ok "each volume kept its own data"

api_ok VolumeDriver.Remove "{\"Name\":\"$A\"}" >/dev/null
api_ok VolumeDriver.Remove "{\"Name\":\"$B\"}" >/dev/null
[ -z "$(ls "$ROOT/.vms/"*/ 2>/dev/null | grep scsi || true)" ] || fail "unit records left: $(ls "$ROOT/.vms/"*/)"
ok "volumes removed, no unit record left"
