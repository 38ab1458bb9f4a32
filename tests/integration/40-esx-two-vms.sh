#!/bin/bash
# Two VMs on one datastore root, served by one esxsim (a listener each):
# a volume attached by A is visible to B, B's attach and remove fail with
# the upstream texts, after A detaches (or is powered off) B attaches, and
# data written through A's disk is read through B's.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"

PORT=$(free_port)
A=unix://$T/vm1.sock
B=tcp://127.0.0.1:$PORT
start_esxsim esxsim --listen "$A,$VM1" --listen "$B,$VM2"
PATH_V=/vmfs/volumes/datastore1/dockvols/_DEFAULT/shared.vmdk

expect_eq "A creates" "$("$ESXCLI" "$A" create shared size=16mb fstype=ext4)" null
expect_contains "B sees it" "$("$ESXCLI" "$B" list)" '"shared@datastore1"'
expect_contains "B's get names the creator" "$("$ESXCLI" "$B" get shared)" '"created by VM": "vm1"'

out=$("$ESXCLI" "$A" attach shared)
unit=$(sed 's/.*"Unit": "\([0-9]*\)".*/\1/' <<<"$out")
dev=$(by_path vm1 "$unit") || fail "A's disk not published under $T/vm1/dev"
echo "ok - A attached, guest sees $dev"
expect_contains "B sees it attached to A" "$("$ESXCLI" "$B" get shared)" '"attached to VM": "vm1"'
expect_eq "B cannot attach" "$("$ESXCLI" "$B" attach shared || true)" \
  "Error: Failed to add disk 'scsi1:0'. disk $PATH_V already attached to VM=vm1"
expect_eq "B cannot remove" "$("$ESXCLI" "$B" remove shared || true)" \
  "Error: Failed to remove volume shared, in use by VM = vm1."
expect_eq "B's detach does not touch A's disk" "$("$ESXCLI" "$B" detach shared)" null
expect_contains "still attached to A" "$("$ESXCLI" "$B" get shared)" '"attached to VM": "vm1"'

# Data written on A (as the guest would, through the published device).
head -c 1048576 /dev/urandom >"$T/data"
dd if="$T/data" of="$dev" bs=64k oflag=direct conv=fsync status=none
expect_eq "A detaches" "$("$ESXCLI" "$A" detach shared)" null
[ ! -e "$dev" ] || fail "A's device name still present after detach"

out=$("$ESXCLI" "$B" attach shared)
unit=$(sed 's/.*"Unit": "\([0-9]*\)".*/\1/' <<<"$out")
dev=$(by_path vm2 "$unit") || fail "B's disk not published under $T/vm2/dev"
echo "ok - B attached after A detached, guest sees $dev"
dd if="$dev" of="$T/back" bs=64k count=16 iflag=direct status=none
cmp -s "$T/data" "$T/back" || fail "data written on A differs on B"
echo "ok - data written on A is read on B"

expect_eq "A cannot attach now" "$("$ESXCLI" "$A" attach shared || true)" \
  "Error: Failed to add disk 'scsi1:0'. disk $PATH_V already attached to VM=vm2"
expect_eq "power off B" "$("$ESXCLI" admin "$T/admin.sock" power-off vm2)" "ok detached=1"
expect_contains "detached by the power-off" "$("$ESXCLI" "$A" get shared)" '"status": "detached"'
[ ! -e "$dev" ] || fail "B's device name still present after power-off"
out=$("$ESXCLI" "$A" attach shared)
expect_contains "A attaches after B's power-off" "$out" '"ControllerPciBusNumber": "15.0"}'
expect_eq "power off by UUID" \
  "$("$ESXCLI" admin "$T/admin.sock" power-off 42000000-0000-0000-0000-000000000001)" \
  "ok detached=1"
expect_eq "admin: unknown VM" "$("$ESXCLI" admin "$T/admin.sock" power-off vm9 || true)" \
  "error unknown VM 'vm9'"
expect_eq "B removes" "$("$ESXCLI" "$B" remove shared)" null
expect_eq "gone for A" "$("$ESXCLI" "$A" list)" "[]"

stop_esxsim
echo "PASS"
