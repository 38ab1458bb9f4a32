#!/usr/bin/env bash
# Get, List and Path are answered from memory (the mock index's per-volume
# records, vmdkfs's pidfd, vdvsd's table): they must still show every change
# at once, whoever made it.
#  - vdvsd's own Mount/Unmount: the next Get shows attached/detached.
#  - another VM rewriting a sidecar (atomically, then in place): the next
#    Get shows it, and Mount is refused while "another VM" holds the disk.
#  - a volume's files deleted by hand: Get and Path say not found, List
#    drops it.
#  - vmdkfs killed: the next Get says the datastore is down; after a
#    restart it is up again.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DIR=$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111

start_vdvsd
api_ok VolumeDriver.Create '{"Name":"co1","Opts":{"size":"100mb"}}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"co2","Opts":{"size":"100mb"}}' >/dev/null
get () { api_ok VolumeDriver.Get "{\"Name\":\"$1\"}"; }
field () { jq -r ".Volume.Status.$2" <<<"$(get "$1")"; }

# --- our own changes, read back at once (no sleep, several rounds)
for i in 1 2 3; do
  [ "$(field co1 status)" = detached ] || fail "round $i: not detached before Mount"
  api_ok VolumeDriver.Mount "{\"Name\":\"co1\",\"ID\":\"m$i\"}" >/dev/null
  g=$(get co1)
  [ "$(jq -r .Volume.Status.status <<<"$g")" = attached ] || fail "round $i: Get right after Mount: $g"
  [ "$(jq -r '.Volume.Status."attached to VM"' <<<"$g")" = testvm ] || fail "round $i: attached to: $g"
  [ "$(api_ok VolumeDriver.Path '{"Name":"co1"}' | jq -r .Mountpoint)" = "$MNT/co1@datastore1" ] || fail "Path while mounted"
  [ "$(api_ok VolumeDriver.Path '{"Name":"co1@datastore1"}' | jq -r .Mountpoint)" = "$MNT/co1@datastore1" ] || fail "Path (full name) while mounted"
  api_ok VolumeDriver.Unmount "{\"Name\":\"co1\",\"ID\":\"m$i\"}" >/dev/null
  [ "$(field co1 status)" = detached ] || fail "round $i: Get right after Unmount"
  [ -z "$(api_ok VolumeDriver.Path '{"Name":"co1"}' | jq -r .Mountpoint)" ] || fail "Path after Unmount"
done
ok "Get and Path follow vdvsd's own Mount/Unmount at once"

# --- another VM takes the disk (atomic sidecar rewrite), then lets go
# (rewritten in place); a status text with quotes and a newline
sc=$(ls "$DIR"/co2-*.vmfd)
[ "$(field co2 status)" = detached ] || fail "co2 not detached"
jq '.status = "attached" | .attachedVMUuid = "42000000-0000-0000-0000-0000000000bb"
    | .attachedVMName = "other \"vm\"\nB"
    | .attachedVMDevice = {"Unit":"3","ControllerPciSlotNumber":"160","ControllerPciBusNumber":"3.0"}' \
   "$sc" > "$DIR/.co2.tmp"
mv "$DIR/.co2.tmp" "$sc"
g=$(get co2)
[ "$(jq -r .Volume.Status.status <<<"$g")" = attached ] || fail "other VM's attach not seen: $g"
[ "$(jq -r '.Volume.Status."attached to VM"' <<<"$g")" = $'other "vm"\nB' ] || fail "other VM's name: $g"
[ "$(jq -r '.Volume.Status.attachedVMDevice.Unit' <<<"$g")" = 3 ] || fail "other VM's device: $g"
api_err VolumeDriver.Mount '{"Name":"co2","ID":"x"}' "attached"
jq '.status = "detached" | del(.attachedVMUuid, .attachedVMName, .attachedVMDevice)' "$sc" > "$T/sc.json"
cat "$T/sc.json" > "$sc"
g=$(get co2)
[ "$(jq -r .Volume.Status.status <<<"$g")" = detached ] || fail "in-place rewrite not seen: $g"
[ "$(jq -r '.Volume.Status."attached to VM"' <<<"$g")" = null ] || fail "still attached to: $g"
ok "another VM's sidecar changes show in the next Get (atomic and in place)"

# --- the extent grows under a write: allocated follows
before=$(field co2 capacity.allocated)
dd if=/dev/urandom of="$DIR/co2-flat.vmdk" bs=1M count=8 seek=50 conv=notrunc,fsync status=none
after=$(field co2 capacity.allocated)
[ "$before" != "$after" ] || fail "allocated unchanged after writing 8 MB: $before"
ok "allocated size follows writes to the extent ($before -> $after)"

# --- files deleted out of band
rm -f "$DIR/co2.vmdk" "$DIR/co2-flat.vmdk" "$sc"
api_err VolumeDriver.Get '{"Name":"co2"}' "Volume co2 not found"
api_err VolumeDriver.Path '{"Name":"co2"}' "Volume co2 not found"
l=$(api_ok VolumeDriver.List '{}')
jq -e '.Volumes | map(.Name) == ["co1@datastore1"]' <<<"$l" >/dev/null || fail "List after delete: $l"
ok "deleted by hand: Get and Path say not found, List drops it"

# --- vmdkfs killed: down at the next Get, up after a restart
if [ "${VDVS_TEST_VMDKFS:-auto}" = off ]; then
  echo "vmdkfs off (VDVS_TEST_VMDKFS=off): the vmdkfs-kill case does not apply"
else
  [ -S "$T/run/vmdkfs.ctl" ] || fail "vmdkfs did not start (no control socket $T/run/vmdkfs.ctl)"
  [ "$(field co1 '"datastore status"')" = null ] || fail "datastore down before the kill"
  pid=$(cat "$T/run/vmdkfs.ctl.pid" 2>/dev/null)
  grep -q vmdkfs "/proc/$pid/cmdline" 2>/dev/null || fail "vmdkfs pid file gives '$pid', not a running vmdkfs"
  kill -9 "$pid"
  # Dead before asking (no retry after that): gone, or a zombie of vdvsd's
  # whose every thread has exited.  The main thread shows Z while the
  # other threads are still exiting, and until the last one has, the
  # process has not terminated (its pidfd is not readable yet).
  for _ in $(seq 100); do
    st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo gone)
    [ "$st" = gone ] && break
    [ "$st" = Z ] && [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -le 1 ] && break
    sleep 0.05
  done
  f=$(field co1 '"datastore status"')
  [[ "$f" == down* ]] || fail "Get right after vmdkfs died: datastore status '$f'"
  stop_vdvsd || fail "vdvsd stop"
  start_vdvsd          # starts vmdkfs again
  [ "$(field co1 '"datastore status"')" = null ] || fail "datastore still down after restart"
  ok "vmdkfs killed: Get reports the datastore down at once, up after a restart"
fi

api_ok VolumeDriver.Remove '{"Name":"co1"}' >/dev/null
stop_vdvsd || fail "vdvsd did not exit cleanly"
