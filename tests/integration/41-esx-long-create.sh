#!/usr/bin/env bash
# A create that ESX takes long over, through vdvsd --backend esx and esxsim:
#  - esxsim stalls the create longer than the client's configured timeout
#    (as a big eagerzeroedthick create or a clone does on ESXi): the
#    Docker-level Create waits for the reply and succeeds, the volume is
#    formatted and mounts, and exactly one create reached esxsim;
#  - the service dies while a create is in its hands and is back within the
#    client's retry window: the Create fails with a clear error and the
#    create is not sent a second time.
VDVS_TEST_BACKEND=esx
VDVS_TEST_VMDKFS=off
source "$(dirname "$0")/lib.sh"
require_root; require_loop
ESXCLI=$VDVS_BUILD/tests/tools/esxcli
[ -x "$ESXCLI" ] || fail "$ESXCLI not built"

admin () { "$ESXCLI" admin "$T/run/esx-admin.sock" "$@"; }
# creates_of NAME: the create requests esxsim started for NAME.
creates_of () { grep -c "Request stalled.* cmd=create name=\"$1\"" "$T/esxsim.log" || true; }

# The reply timeout of get and list is 2 s; retries (2) would resend a
# create were it treated like them.
start_vdvsd -o timeout=2 -o retry-delay=0.5

# --- a create slower than the timeout succeeds, sent once
[ "$(admin stall 5 slow create)" = ok ] || fail "stall"
t0=$(date +%s%N)
api_ok VolumeDriver.Create '{"Name":"slow","Opts":{"size":"20mb"}}' >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 4900 ] || fail "Create returned after ${ms} ms: the stall did not apply"
[ "$(creates_of slow)" = 1 ] || fail "create reached esxsim $(creates_of slow) times"
[ "$(grep -c '\] Request vm=testvm cmd=create name="slow"' "$T/esxsim.log" || true)" = 1 ] ||
  fail "create executed other than once"
[ "$(admin stall 0)" = ok ] || fail "unstall"
g=$(api_ok VolumeDriver.Get '{"Name":"slow"}')
[ "$(jq -r '.Volume.Status.status' <<<"$g")" = detached ] || fail "Get after the long create: $g"
m=$(api_ok VolumeDriver.Mount '{"Name":"slow","ID":"c1"}' | jq -r .Mountpoint)
mountpoint -q "$m" || fail "not mounted at $m"
echo data >"$m/f"
api_ok VolumeDriver.Unmount '{"Name":"slow","ID":"c1"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"slow"}' >/dev/null
ok "a create slower than the timeout (${ms} ms) succeeds, formatted, sent once"

# --- the service dies holding the create and comes back at once: no resend
[ "$(admin stall 4 lost create)" = ok ] || fail "stall"
api VolumeDriver.Create '{"Name":"lost","Opts":{"size":"20mb"}}' >"$T/lost.out" &
CREATE=$!
for _ in $(seq 100); do [ "$(creates_of lost)" = 1 ] && break; sleep 0.1; done
[ "$(creates_of lost)" = 1 ] || fail "the create did not reach esxsim"
kill -KILL "$ESXSIM_PID"; wait "$ESXSIM_PID" 2>/dev/null || true
ESXSIM_PID=
start_esxsim
wait "$CREATE" || fail "curl failed"
err=$(jq -r '.Err // ""' <"$T/lost.out")
[[ "$err" == *"Run 'create' failed: "*"was not sent again"* ]] ||
  fail "Create after the service died: '$err'"
sleep 1.5 # past the retry delay: a resend would have reached the new esxsim
[ "$(creates_of lost)" = 1 ] || fail "create sent $(creates_of lost) times"
grep -q 'cmd=create name="lost"' <(grep -v 'Request stalled' "$T/esxsim.log") &&
  fail "the create was executed by the restarted esxsim"
l=$(api_ok VolumeDriver.List '{}')
jq -e '.Volumes[] | select(.Name == "lost@datastore1")' <<<"$l" >/dev/null &&
  fail "volume lost exists: $l"
ok "a create whose connection broke is reported, not sent again"
