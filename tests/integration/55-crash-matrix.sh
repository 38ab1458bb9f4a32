#!/usr/bin/env bash
# Crash matrix with a real engine and containers on shared and unshared
# volumes: kill -9 vdvsd; kill -9 dockerd without and with --live-restore;
# vdvsd killed while a Mount is in progress.  After every restart: running
# containers keep their data and mounts, refcounts equal the real users,
# stopped containers' volumes end up unmounted and detached, `docker volume
# rm` works, nothing leaks.  (kill -9 vmdkfs: 60-faults-plugin.sh.)
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse
require_docker
require_driver_socket_free
SOCK=$DRIVER_SOCK
d () { "$DOCKER" "$@"; }
S=$$ A=crA$$ B=crB$$
export VDVS_VMDKFS_CTL=$T/run/vmdkfs.ctl
on_exit 'd rm -f $(d ps -aq --filter name=vdvs-cr-$S) >/dev/null 2>&1; d volume rm -f $A $B >/dev/null 2>&1'
# Whatever happens, leave the engine running as scripts/dockerd.sh starts it.
on_exit 'restart_dockerd ""'

restart_dockerd () {   # restart_dockerd EXTRA_ARGS: kill -9, then start again
  local pid; pid=$(pidof dockerd || true)
  if [ -n "$pid" ]; then kill -9 $pid; for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done; fi
  # The engine's own containerd outlives it; a new engine starts its own,
  # so let the old one go (its shims, and so the containers, stay).  It must
  # be gone before the engine starts: one still running is reused, and one
  # still shutting down then makes the new engine time out ("containerd is
  # still running", then "timeout waiting for containerd to start": seen
  # once after 10 s of SIGTERM, while it was killing the old engine's
  # containers).  SIGKILL after 10 s: the shims stay either way.
  local cd; cd=$(pgrep -f 'containerd --config /var/run/docker/containerd/containerd.toml' || true)
  if [ -n "$cd" ]; then
    kill $cd
    for _ in $(seq 100); do kill -0 $cd 2>/dev/null || break; sleep 0.1; done
    if kill -0 $cd 2>/dev/null; then
      echo "containerd $cd still running 10 s after SIGTERM: SIGKILL"
      kill -9 $cd
      for _ in $(seq 100); do kill -0 $cd 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  VDVS_DOCKERD_ARGS="$1" "$TOP/scripts/dockerd.sh" >/dev/null
}
mounted () { grep -q " $MNT/$1@datastore1 " /proc/self/mounts; }
# refs VOL: references in vdvsd's state file; no file = 0, a file that is
# not a valid refs record fails the test.
refs () {
  local f=$T/state/refs/$1@datastore1
  [ -e "$f" ] || { echo 0; return; }
  jq -e '([.mounts[]] + [.recovered] | add) // 0 | numbers' "$f" 2>/dev/null || fail "refs file $f is not valid: $(head -c 200 "$f")"
}
status () { d volume inspect "$1" | jq -r '.[0].Status.status'; }
wait_for () {   # wait_for SECONDS CMD...: poll until CMD succeeds
  local n=$(( $1 * 10 )); shift
  for _ in $(seq $n); do "$@" && return 0; sleep 0.1; done; return 1
}
start () { start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock --recovery-grace 3; }
writer () {    # writer NAME VOLUME: a container appending fsync'd lines
  d run -d --name "vdvs-cr-$S-$1" --network none -v "$2:/d" "$IMAGE" sh -c \
    "i=0; while true; do i=\$((i+1)); echo $1-\$i >> /d/$1; sync /d/$1; sleep 0.2; done" >/dev/null
}
count () { d run --rm --network none -v "$1:/d" "$IMAGE" sh -c "grep -c . /d/$2"; }

start
d volume create -d vsphere --name "$A" -o size=64mb >/dev/null
d volume create -d vsphere --name "$B" -o size=64mb >/dev/null
writer a1 "$A"; writer a2 "$A"; writer b1 "$B"
wait_for 10 mounted "$A" && wait_for 10 mounted "$B" || fail "volumes not mounted"
[ "$(refs "$A")" = 2 ] && [ "$(refs "$B")" = 1 ] || fail "refcounts A=$(refs "$A") B=$(refs "$B")"

# --- kill -9 vdvsd
kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
start
sleep 1
mounted "$A" && mounted "$B" || fail "a restart of vdvsd unmounted volumes in use"
[ "$(refs "$A")" = 2 ] && [ "$(refs "$B")" = 1 ] || fail "refcounts after vdvsd kill: A=$(refs "$A") B=$(refs "$B")"
d stop -t 1 "vdvs-cr-$S-b1" >/dev/null
wait_for 10 sh -c "! grep -q ' $MNT/$B@datastore1 ' /proc/self/mounts" || fail "B not unmounted when its only container stopped"
[ "$(status "$B")" = detached ] || fail "B not detached"
d stop -t 1 "vdvs-cr-$S-a1" >/dev/null
sleep 0.5
mounted "$A" || fail "A unmounted while a2 still uses it"
[ "$(refs "$A")" = 1 ] || fail "A refcount after one of two stopped: $(refs "$A")"
ok "kill -9 vdvsd: mounts and refcounts kept; later stops unmount and detach"

# --- kill -9 dockerd without live-restore: containers die, no Unmount is sent
d start "vdvs-cr-$S-a1" >/dev/null
wait_for 10 sh -c "[ \$(jq '[.mounts[]] + [.recovered] | add' '$T/state/refs/$A@datastore1') = 2 ]" || fail "A not back to 2 users"
restart_dockerd ""
d volume ls >/dev/null      # the engine's restore already asked us; make sure
wait_for 30 sh -c "! grep -q ' $MNT/$A@datastore1 ' /proc/self/mounts" || fail "A still mounted after the engine killed its containers"
wait_for 10 sh -c "[ \"\$($DOCKER volume inspect $A | jq -r '.[0].Status.status')\" = detached ]" || fail "A not detached after engine crash"
[ "$(refs "$A")" = 0 ] || fail "stale references left: $(refs "$A")"
n1=$(count "$A" a1); n2=$(count "$A" a2)
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "fsync'd data lost: a1=$n1 a2=$n2"
d rm -f "vdvs-cr-$S-a1" "vdvs-cr-$S-a2" >/dev/null
ok "kill -9 dockerd: its dead containers' volume unmounted and detached, data kept ($n1+$n2 records)"

# --- kill -9 dockerd with --live-restore: containers keep running
restart_dockerd "--live-restore"
writer b2 "$B"
wait_for 10 mounted "$B" || fail "B not mounted"
restart_dockerd "--live-restore"
d volume ls >/dev/null
sleep 5    # longer than the recovery grace: recovery has looked at B
mounted "$B" || fail "B unmounted although its container survived the engine restart"
[ "$(d inspect -f '{{.State.Running}}' "vdvs-cr-$S-b2")" = true ] || fail "container died with live-restore"
d exec "vdvs-cr-$S-b2" sh -c 'echo live >> /d/b2 && sync' || fail "B unusable after live-restore"
d stop -t 1 "vdvs-cr-$S-b2" >/dev/null
wait_for 10 sh -c "! grep -q ' $MNT/$B@datastore1 ' /proc/self/mounts" || fail "B not unmounted at stop after live-restore"
d rm "vdvs-cr-$S-b2" >/dev/null
restart_dockerd ""
ok "kill -9 dockerd with --live-restore: container and mount kept, stop unmounts"

# --- vdvsd killed while a Mount is in progress
"$VDVS_BUILD/tools/vdvsctl" fault stall id=st path="datastore1/dockvols/*/$B-flat.vmdk" op=read >/dev/null
d run -d --name "vdvs-cr-$S-c5" --network none -v "$B:/d" "$IMAGE" sleep 600 > "$T/c5.out" 2>&1 &
runpid=$!
wait_for 20 sh -c "'$VDVS_BUILD/tools/vdvsctl' fault list | grep 'id=st.*matched=[1-9]' >/dev/null" || fail "Mount never reached the disk"
kill -9 "$VDVSD_PID"
# The killed Mount waits (uninterruptibly) for the disk read that vmdkfs
# holds: the process can only finish dying once the read completes.
"$VDVS_BUILD/tools/vdvsctl" fault release st >/dev/null
wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
start
runrc=0; wait "$runpid" || runrc=$?
sleep 5   # recovery grace, then its second look
# Either outcome is one the engine may choose (it retries a Mount whose
# connection broke), but each must be whole: a running container has a
# working volume with one reference and `docker run` succeeded; otherwise
# `docker run` failed with an error and nothing is mounted or referenced.
running=$(d inspect -f '{{.State.Running}}' "vdvs-cr-$S-c5" 2>/dev/null || echo false)
if [ "$running" = true ]; then
  [ $runrc = 0 ] || fail "container runs but docker run exited $runrc: $(cat "$T/c5.out")"
  mounted "$B" || fail "container runs but B is not mounted"
  d exec "vdvs-cr-$S-c5" sh -c 'echo c5 > /d/c5 && sync && grep -q c5 /d/c5' || fail "container runs but B is not usable"
  [ "$(refs "$B")" = 1 ] || fail "container runs but B has $(refs "$B") references, expected 1"
  d rm -f "vdvs-cr-$S-c5" >/dev/null
  wait_for 10 sh -c "! grep -q ' $MNT/$B@datastore1 ' /proc/self/mounts" || fail "B not unmounted"
else
  [ $runrc != 0 ] || fail "docker run exited 0 but the container is not running: $(cat "$T/c5.out")"
  grep -qi 'error' "$T/c5.out" || fail "docker run failed without an error message: $(cat "$T/c5.out")"
  d rm -f "vdvs-cr-$S-c5" >/dev/null 2>&1 || true
  wait_for 30 sh -c "! grep -q ' $MNT/$B@datastore1 ' /proc/self/mounts" || fail "half-done mount left behind"
  wait_for 30 sh -c "[ ! -e '$T/state/refs/$B@datastore1' ] || [ \"\$(jq '[.mounts[]] + [.recovered] | add' '$T/state/refs/$B@datastore1')\" = 0 ]" \
    || fail "references left by the failed docker run: $(refs "$B")"
fi
[ "$(refs "$B")" = 0 ] || fail "B has $(refs "$B") references after its container went away"
wait_for 30 sh -c "[ \"\$($DOCKER volume inspect $B | jq -r '.[0].Status.status')\" = detached ]" || fail "B left attached after the interrupted Mount"
ok "vdvsd killed during a Mount: container running=$running, volume consistent afterwards"

# the interrupted `docker run` may have left its container in Created state
d rm -f $(d ps -aq --filter "volume=$B") >/dev/null 2>&1 || true
d volume rm "$A" "$B" >/dev/null || fail "volume rm after the crash matrix"
[ -z "$(find "$ROOT" -name "cr[AB]$S*")" ] || fail "files left"
ok "volumes removed, nothing left"
