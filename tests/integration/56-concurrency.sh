#!/usr/bin/env bash
# Concurrency: parallel create/remove of the same and of different names;
# two VMs (two vdvsd on one datastore root) racing to attach one volume:
# exactly one wins, the other gets the upstream message; 50 containers
# started at once over 10 volumes, twice: every count returns to zero.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
start_vdvsd

# --- parallel create/remove, same name and different names
pids=(); for i in $(seq 10); do api_save "$T/cs$i" VolumeDriver.Create '{"Name":"same","Opts":{"size":"16mb"}}' & pids+=($!); done; wait "${pids[@]}"
# exactly one create makes it; the others answer "already exists"
made=0; exist=0
for i in $(seq 10); do
  e=$(reply_errtext "parallel create of one name ($i)" "$(cat "$T/cs$i.code")" "$(cat "$T/cs$i")")
  case $e in "") made=$((made + 1)) ;; *"already exists") exist=$((exist + 1)) ;; *) fail "parallel create of one name ($i): $e" ;; esac
done
[ "$made" = 1 ] && [ "$exist" = 9 ] || fail "parallel create of one name: $made made, $exist already exists (want 1 and 9)"
[ "$(api_ok VolumeDriver.List '{}' | jq '[.Volumes[] | select(.Name == "same@datastore1")] | length')" = 1 ] || fail "one name, several volumes"
pids=(); for i in $(seq 10); do api_save "$T/rs$i" VolumeDriver.Remove '{"Name":"same"}' & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 10); do reply_file_ok "$T/rs$i" "parallel remove of one name ($i)"; done
api_err VolumeDriver.Get '{"Name":"same"}' "not found"
pids=(); for i in $(seq 12); do
  api_save "$T/cd$i" VolumeDriver.Create "{\"Name\":\"d$i\",\"Opts\":{\"size\":\"16mb\"}}" & pids+=($!)
  [ $i -gt 2 ] && { api_save "$T/rd$i" VolumeDriver.Remove "{\"Name\":\"d$((i-2))\"}" & pids+=($!); }
done; wait "${pids[@]}"
for i in $(seq 12); do reply_file_ok "$T/cd$i" "parallel create d$i"; done
for i in $(seq 3 12); do reply_file_ok "$T/rd$i" "parallel remove d$((i-2))"; done
for i in $(seq 12); do api_ok VolumeDriver.Remove "{\"Name\":\"d$i\"}" >/dev/null; done
[ -z "$(find "$ROOT" -name 'd[0-9]*' -o -name 'same*')" ] || fail "files left by parallel create/remove"
ok "parallel create/remove of one name and of different names"

# --- two VMs racing to attach one volume
api_ok VolumeDriver.Create '{"Name":"race","Opts":{"size":"16mb"}}' >/dev/null
SOCK_A=$SOCK
mkdir -p "$T/b/plugins"
"$VDVSD" --socket "$T/b/plugins/vsphere.sock" --mount-root "$T/b/mnt" --state-dir "$T/b/state" \
  --docker-socket none -o root="$ROOT" -o sysfs-root="$T/b/sys" -o dev-root="$T/b/dev" \
  -o vmdkfs=auto -o vmdkfs-mount="$T/vmfs" -o vmdkfs-ctl="$T/run/vmdkfs.ctl" \
  -o vm-name=vmB -o vm-uuid=42000000-0000-0000-0000-00000000000b >>"$T/vdvsd-b.log" 2>&1 &
PID_B=$!
on_exit 'kill $PID_B 2>/dev/null; wait $PID_B 2>/dev/null'
for _ in $(seq 100); do [ -S "$T/b/plugins/vsphere.sock" ] && break; sleep 0.1; done
[ -S "$T/b/plugins/vsphere.sock" ] || fail "second vdvsd (VM B) did not come up: $(tail -5 "$T/vdvsd-b.log")"
# apib*: the api_* checks against VM B's daemon.
apib () { curl -sS --max-time 60 --unix-socket "$T/b/plugins/vsphere.sock" -d "$2" "http://p/$1"; }
apib_ok () { local SOCK=$T/b/plugins/vsphere.sock; api_ok "$@"; }
apib_err () { local SOCK=$T/b/plugins/vsphere.sock; api_err "$@"; }
apib_save () { local SOCK=$T/b/plugins/vsphere.sock; api_save "$@"; }
for round in $(seq "${VDVS_STRESS_ROUNDS:-3}"); do
  api_save "$T/ra" VolumeDriver.Mount '{"Name":"race","ID":"a"}' & pa=$!
  apib_save "$T/rb" VolumeDriver.Mount '{"Name":"race","ID":"b"}' & pb=$!
  wait $pa $pb
  ea=$(reply_errtext "round $round: Mount on A" "$(cat "$T/ra.code")" "$(cat "$T/ra")")
  eb=$(reply_errtext "round $round: Mount on B" "$(cat "$T/rb.code")" "$(cat "$T/rb")")
  if [ -z "$ea" ] && [ -n "$eb" ]; then winner=A; lose="$eb"
  elif [ -n "$ea" ] && [ -z "$eb" ]; then winner=B; lose="$ea"
  else fail "round $round: not exactly one winner: A='$ea' B='$eb'"; fi
  [[ "$lose" == *"already attached to VM="* ]] || fail "loser's message: $lose"
  if [ $winner = A ]; then
    [[ "$lose" == *"VM=testvm"* ]] || fail "loser names the wrong VM: $lose"
    apib_err VolumeDriver.Remove '{"Name":"race"}' "in use by VM = testvm"
    api_ok VolumeDriver.Unmount '{"Name":"race","ID":"a"}' >/dev/null
  else
    [[ "$lose" == *"VM=vmB"* ]] || fail "loser names the wrong VM: $lose"
    apib_ok VolumeDriver.Unmount '{"Name":"race","ID":"b"}' >/dev/null
  fi
  [ "$(api_ok VolumeDriver.Get '{"Name":"race"}' | jq -r .Volume.Status.status)" = detached ] || fail "round $round: not detached at the end"
done
# data written on one VM is read on the other
mp=$(apib_ok VolumeDriver.Mount '{"Name":"race","ID":"w"}' | jq -r .Mountpoint)
[ -n "$mp" ] && mountpoint -q "$mp" || fail "Mount on B gave no mounted Mountpoint: '$mp'"
echo from-B > "$mp/f"; sync
apib_ok VolumeDriver.Unmount '{"Name":"race","ID":"w"}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"race","ID":"r"}' | jq -r .Mountpoint)
[ "$(cat "$mp/f")" = from-B ] || fail "data written on VM B not seen on VM A"
api_ok VolumeDriver.Unmount '{"Name":"race","ID":"r"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"race"}' >/dev/null
kill $PID_B; rc=0; wait $PID_B 2>/dev/null || rc=$?
[ $rc = 0 ] || fail "vdvsd of VM B did not exit cleanly on SIGTERM (status $rc): $(tail -5 "$T/vdvsd-b.log")"
ok "two VMs race to attach one volume: exactly one wins, upstream messages, data crosses VMs"

# --- 50 containers at once over 10 volumes, twice
if ! { [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; }; then
  echo "SKIP: Docker engine or image $IMAGE not available: the 50-container case did not run"; exit 77
fi
DSOCK=/run/docker/plugins/vsphere.sock
if [ -S "$DSOCK" ] && curl -s --max-time 2 --unix-socket "$DSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
  echo "SKIP: another plugin serves $DSOCK: the 50-container case did not run"; exit 77
fi
stop_vdvsd || fail "vdvsd stop"
SOCK=$DSOCK
start_vdvsd --docker-socket /var/run/docker.sock
S=$$
on_exit '"$DOCKER" rm -f $("$DOCKER" ps -aq --filter name=vdvs-cc-$S) >/dev/null 2>&1; for i in $(seq 10); do "$DOCKER" volume rm -f cc$S-$i >/dev/null 2>&1; done'
for i in $(seq 10); do "$DOCKER" volume create -d vsphere --name "cc$S-$i" -o size=16mb >/dev/null; done
for round in $(seq "${VDVS_STRESS_ROUNDS:-2}"); do
  seq 50 | xargs -P 25 -I{} sh -c "$DOCKER run -d --name vdvs-cc-$S-{} --network none -v cc$S-\$(( {} % 10 + 1 )):/d $IMAGE sh -c 'echo {} > /d/c{}; sleep 600' >/dev/null" \
    || fail "round $round: a container failed to start"
  [ "$("$DOCKER" ps -q --filter name=vdvs-cc-$S | wc -l)" = 50 ] || fail "round $round: not 50 running"
  [ "$(grep -c " $MNT/cc$S-" /proc/self/mounts)" = 10 ] || fail "round $round: not 10 mounts"
  for i in $(seq 10); do
    n=$(jq '[.mounts[]] + [.recovered] | add' "$T/state/refs/cc$S-$i@datastore1")
    [ "$n" = 5 ] || fail "round $round: cc$S-$i refcount $n, expected 5"
  done
  # Ten removals at a time: the plugin still sees Unmounts race over the
  # volumes, while 50 at once can wedge the Docker 20.10 engine itself.
  "$DOCKER" ps -aq --filter name=vdvs-cc-$S > "$T/cc-ids"
  xargs -P 10 -n 1 "$DOCKER" rm -f < "$T/cc-ids" >/dev/null || fail "round $round: docker rm -f failed"
  for _ in $(seq 100); do grep -q " $MNT/cc$S-" /proc/self/mounts || break; sleep 0.1; done
  ! grep -q " $MNT/cc$S-" /proc/self/mounts ||
    fail "round $round: mounts left after all containers went away; references: $(cat "$T"/state/refs/* 2>/dev/null)"
  [ -z "$(ls "$T/state/refs/")" ] || fail "round $round: references left: $(ls "$T/state/refs/")"
done
for i in $(seq 10); do "$DOCKER" volume rm "cc$S-$i" >/dev/null || fail "volume rm cc$S-$i"; done
ok "50 containers at once over 10 volumes, twice: refcounts 5 each, back to zero"
