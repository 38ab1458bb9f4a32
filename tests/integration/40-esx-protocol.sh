#!/bin/bash
# The ESX client (vdvs_backend_esx through esxcli) against esxsim over unix
# and tcp: every command, the upstream reply shapes and error texts, and the
# server rules (oversize and malformed frames closed without a reply,
# non-privileged source port refused) without disturbing other clients.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"

PORT=$(free_port)
U=unix://$T/vm1.sock
P=tcp://127.0.0.1:$PORT
start_esxsim esxsim --listen "$U,$VM1" --listen "$P,$VM2"

for url in "$U" "$P"; do
  echo "# transport $url"
  v=vol-${url%%:*}
  expect_eq "create" "$("$ESXCLI" "$url" create "$v" size=20mb fstype=ext4)" null
  expect_eq "create again" "$("$ESXCLI" "$url" create "$v" fstype=ext4 || true)" \
    "Error: File /vmfs/volumes/datastore1/dockvols/_DEFAULT/$v.vmdk already exists"
  out=$("$ESXCLI" "$url" get "$v")
  expect_contains "get: status and capacity" "$out" '"status": "detached", "capacity": {"size": "20MB", "allocated": '
  expect_contains "get: key order" "$out" '"datastore": "datastore1", "fstype": "ext4", "diskformat": "thin", "attach-as": "independent_persistent", "access": "read-write", "clone-from": "None"}'
  expect_contains "list" "$("$ESXCLI" "$url" list)" "{\"Name\": \"$v@datastore1\", \"Attributes\": {}}"
  out=$("$ESXCLI" "$url" attach "$v")
  expect_contains "attach reply shape" "$out" '{"Unit": "'
  expect_contains "attach reply keys" "$out" '", "ControllerPciSlotNumber": "160", "ControllerPciBusNumber": "15.0"}'
  expect_eq "attach is idempotent" "$("$ESXCLI" "$url" attach "$v")" "$out"
  expect_contains "get while attached" "$("$ESXCLI" "$url" get "$v")" '"status": "attached"'
  expect_eq "remove refused while attached" "$("$ESXCLI" "$url" remove "$v" || true)" \
    "Error: Failed to remove volume $v, in use by VM = $(case $url in unix*) echo vm1;; *) echo vm2;; esac)."
  expect_eq "detach" "$("$ESXCLI" "$url" detach "$v")" null
  expect_eq "detach of a detached disk" "$("$ESXCLI" "$url" detach "$v")" null
  expect_eq "remove" "$("$ESXCLI" "$url" remove "$v")" null
  expect_eq "get after remove" "$("$ESXCLI" "$url" get "$v" || true)" \
    "Error: Volume $v not found (file: /vmfs/volumes/datastore1/dockvols/_DEFAULT/$v.vmdk)"
  expect_eq "bad size" "$("$ESXCLI" "$url" create x size=100mbb || true)" \
    "Error: Invalid format for size. 
Valid sizes must be of form X[mMgGtT]b where X is an integer. Default = 100mb"
  expect_eq "second datastore" "$("$ESXCLI" "$url" create "$v@datastore2")" null
  expect_contains "list names are qualified" "$("$ESXCLI" "$url" list)" "\"$v@datastore2\""
  expect_eq "remove on datastore2" "$("$ESXCLI" "$url" remove "$v@datastore2")" null
  expect_eq "version" "$("$ESXCLI" "$url" version)" '{"version": "esxsim-0.1.0"}'
  expect_eq "unknown command" "$("$ESXCLI" "$url" frobnicate v)" '{"Error": "Unknown command:frobnicate"}'
  out=$("$ESXCLI" -o protocol-version=1 "$url" get v || true)
  ind=$(printf '\n%36s' '')
  expect_eq "protocol version mismatch, as vmdk_ops.py writes it" "$out" \
    "Error: There is a mismatch between VDVS client (Docker plugin) protocol version${ind}(1) and server (ESXi) protocol version (2) which indicates different${ind}versions of the product are installed on Guest and ESXi sides,${ind}please make sure VDVS plugin and driver are from the same release version.${ind}"
  expect_eq "remove of a missing volume is null (FileNotFound is success)" \
    "$("$ESXCLI" "$url" remove "never-made")" null
  expect_eq "remove of a missing volume on datastore2" \
    "$("$ESXCLI" "$url" remove "never-made@datastore2")" null
done

echo "# a corrupt sidecar: get answers null, remove still works"
expect_eq "create" "$("$ESXCLI" "$U" create corrupt size=10mb)" null
scs=("$T"/root/datastore1/dockvols/_DEFAULT/corrupt-*.vmfd)
printf '{"status": ' >"${scs[0]}"
expect_eq "get of a corrupt sidecar answers null" \
  "$("$ESXCLI" raw "$U" --json '{"cmd":"get","details":{"Name":"corrupt"},"version":"2"}')" null
expect_eq "... which the client reports as no metadata" "$("$ESXCLI" "$U" get corrupt || true)" \
  "Error: Volume corrupt: ESX has no metadata for it (get answered null; its sidecar file may be corrupt)"
expect_eq "remove of the corrupt volume" "$("$ESXCLI" "$U" remove corrupt)" null
expect_contains "gone" "$("$ESXCLI" "$U" get corrupt || true)" "Error: Volume corrupt not found (file: "

echo "# server rules"
expect_eq "invalid JSON" "$("$ESXCLI" raw "$U" --json '{"cmd":')" \
  "{\"Error\": \"Failed to parse json '{\\\"cmd\\\":'.\"}"
expect_eq "4096-byte request served" "$("$ESXCLI" raw "$U" --size 4095)" "[]"
set +e
out=$("$ESXCLI" raw "$U" --size 4096); rc=$?
set -e
expect_eq "oversize request closed without reply" "$out/$rc" "closed without reply/3"
out=$("$ESXCLI" raw "$U" --magic deadbeef || true)
expect_eq "bad magic closed without reply" "$out" "closed without reply"
out=$("$ESXCLI" raw "$U" --no-nul || true)
expect_eq "missing NUL closed without reply" "$out" "closed without reply"
out=$("$ESXCLI" raw "$U" --length 20 || true)
expect_eq "length mismatch closed without reply" "$out" "closed without reply"
out=$("$ESXCLI" raw "$P" --unprivileged || true)
expect_eq "non-privileged source port refused" "$out" "closed without reply"
grep -q "Connection from non root port=" "$T/esxsim.log" ||
  fail "esxsim did not log the non-root connection"
expect_eq "privileged source port served" "$("$ESXCLI" raw "$P")" "[]"
out=$("$ESXCLI" -o source-port=any -o retries=0 "$P" list || true)
# Bad message (nothing came back) or Connection reset (the server closed
# with our request unread), depending on timing.
expect_contains "client without privileged port gets a clear error" "$out" \
  "Error: Run 'list' failed: "
expect_contains "... naming the missing reply" "$out" " - Failed to receive magic data"

echo "# bad clients do not disturb good ones"
BAD=()
for i in $(seq 20); do
  "$ESXCLI" raw "$U" --magic 12345678 >/dev/null & BAD+=($!)
  "$ESXCLI" raw "$U" --size 9000 >/dev/null & BAD+=($!)
  "$ESXCLI" raw "$U" --length 4000 >/dev/null & BAD+=($!)
  "$ESXCLI" raw "$P" --unprivileged >/dev/null & BAD+=($!)
done
OTHER_PIDS+=("${BAD[@]}")
for i in $(seq 10); do
  expect_eq "good client $i" "$("$ESXCLI" "$U" list)" "[]"
done
for pid in "${BAD[@]}"; do
  wait "$pid" || true
done
OTHER_PIDS=()
expect_eq "service alive after bad clients" "$("$ESXCLI" admin "$T/admin.sock" ping)" "ok pong"

stop_esxsim
echo "PASS"
