#!/bin/bash
# Retries and time: esxsim killed and restarted within the client's retry
# window (the call succeeds), a service that stays down (a clear error after
# a bounded time), a hung listener and a stalled volume (ETIMEDOUT with the
# upstream FAQ hint) that do not hold up calls for other volumes.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"

PORT=$(free_port)
U=unix://$T/vm1.sock
P=tcp://127.0.0.1:$PORT
start_esxsim esxsim --listen "$U,$VM1" --listen "$P,$VM2"
expect_eq "create" "$("$ESXCLI" "$U" create keep size=10mb)" null
expect_eq "create fast" "$("$ESXCLI" "$U" create fast size=10mb)" null

echo "# esxsim crashes and comes back within the retry window"
kill -9 "$ESXSIM_PID"
wait "$ESXSIM_PID" 2>/dev/null || true
start=$(date +%s%N)
"$ESXCLI" -o retries=5 -o retry-delay=1 "$U" get keep >"$T/get.out" 2>"$T/get.err" &
GET=$!
OTHER_PIDS+=("$GET")
"$ESXCLI" -o retries=5 -o retry-delay=1 "$P" list >"$T/list.out" 2>"$T/list.err" &
LIST=$!
OTHER_PIDS+=("$LIST")
sleep 2.2
start_esxsim esxsim --listen "$U,$VM1" --listen "$P,$VM2"
wait "$GET" || fail "get did not survive the restart: $(cat "$T/get.out")"
wait "$LIST" || fail "list did not survive the restart: $(cat "$T/list.out")"
OTHER_PIDS=()
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_contains "get answered after restart (${ms} ms)" "$(cat "$T/get.out")" '"status": "detached"'
expect_contains "list answered after restart" "$(cat "$T/list.out")" '"keep@datastore1"'
expect_contains "retries were logged" "$(cat "$T/get.err")" "Retrying..."
[ "$ms" -lt 8000 ] || fail "retries took ${ms} ms"

echo "# the service stays down"
stop_esxsim
start=$(date +%s%N)
out=$("$ESXCLI" -o retries=2 -o retry-delay=0.2 "$P" get keep || true)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "clear error when unreachable" "$out" \
  "Error: Run 'get' failed: Connection refused (errno=111) - Failed to connect to the ESX service at $P: Connection refused"
[ "$ms" -ge 400 ] && [ "$ms" -lt 3000 ] || fail "3 tries took ${ms} ms"
echo "ok - 3 tries in ${ms} ms"
out=$("$ESXCLI" -o retries=10 -o retry-delay=1 -o total-timeout=2.5 "$U" get keep || true)
expect_contains "total time bounds the retries" "$out" "Error: Run 'get' failed: "
start_esxsim esxsim --listen "$U,$VM1" --listen "$P,$VM2"

echo "# a hung service times out, other calls go on"
"$ESXCLI" hang "unix://$T/hung.sock" >"$T/hang.log" 2>&1 &
OTHER_PIDS+=($!)
for i in $(seq 50); do [ -S "$T/hung.sock" ] && break; sleep 0.1; done
start=$(date +%s%N)
out=$("$ESXCLI" -o timeout=1 "unix://$T/hung.sock" get keep || true)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "hung service: timeout error" "$out" \
  "Error: Run 'get' failed: Connection timed out (errno=110) - Failed to receive magic data: received 0 expected 4 bytes (timed out) Cannot communicate with ESX, please refer to the FAQ https://github.com/vmware/vsphere-storage-for-docker/wiki#faq"
[ "$ms" -lt 3000 ] || fail "timeout took ${ms} ms (no retry expected after the request went out)"
echo "ok - timed out after ${ms} ms"

# One volume stalls on the service; calls for another volume over the same
# backend handle are not held up.
expect_eq "stall one volume" "$("$ESXCLI" admin "$T/admin.sock" stall 4 keep)" ok
out=$("$ESXCLI" par -o timeout=2 "$U" get keep get fast attach fast || true)
echo "$out"
line=$(grep '^get keep ' <<<"$out")
expect_contains "stalled volume times out" "$line" "Error: Run 'get' failed: Connection timed out (errno=110)"
for op in "get fast" "attach fast"; do
  line=$(grep "^$op " <<<"$out")
  ms=$(sed 's/.* ms=\([0-9]*\) .*/\1/' <<<"$line")
  [ "$ms" -lt 1000 ] || fail "$op waited ${ms} ms behind the stalled volume"
  case "$line" in *Error:*) fail "$op failed: $line" ;; esac
  echo "ok - $op in ${ms} ms while 'keep' stalls"
done
expect_eq "detach fast" "$("$ESXCLI" "$U" detach fast)" null
expect_eq "unstall" "$("$ESXCLI" admin "$T/admin.sock" stall 0)" ok
sleep 2.5 # let the stalled request finish before the graceful stop
expect_eq "remove keep" "$("$ESXCLI" "$U" remove keep)" null
expect_eq "remove fast" "$("$ESXCLI" "$U" remove fast)" null

stop_esxsim
echo "PASS"
