#!/usr/bin/env bash
# The ESX service goes away (kill -9 esxsim) and comes back: Get keeps
# answering for known volumes (the engine would forget a volume whose Get
# fails), a mounted volume stays usable and can be unmounted once the
# service is back, new attaches get a clear error meanwhile, and a request
# to a dead service fails within the configured bound, never hangs.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
VDVS_TEST_BACKEND=esx
start_vdvsd
api_ok VolumeDriver.Create '{"Name":"keep","Opts":{"size":"32mb"}}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"other","Opts":{"size":"32mb"}}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"keep","ID":"k1"}' | jq -r .Mountpoint)
echo before > "$mp/f"; sync
api_ok VolumeDriver.Get '{"Name":"other"}' >/dev/null

kill -9 "$ESXSIM_PID"; wait "$ESXSIM_PID" 2>/dev/null || true; ESXSIM_PID=
g=$(api_ok VolumeDriver.Get '{"Name":"other"}')
[ "$(jq -r .Volume.Name <<<"$g")" = other ] || fail "Get lost the volume while the service is down: $g"
[ "$(jq -r .Volume.Status.backend <<<"$g")" != null ] || fail "Get does not say the backend is unreachable: $g"
[ "$(jq -r .Volume.Status.datastore <<<"$g")" = datastore1 ] || fail "cached status: $g"
ok "Get answers from the last known state while the ESX service is down"
echo during >> "$mp/f" && sync || fail "mounted volume unusable while the service is down"
err=$(api VolumeDriver.Mount '{"Name":"other","ID":"o1"}' | jq -r .Err)
[[ "$err" == *"Run '"*"failed"* || "$err" == *"not reachable"* ]] || fail "attach while down: '$err'"
ok "mounted volume usable, new attach refused with a clear error: $err"

start_esxsim
api_ok VolumeDriver.Unmount '{"Name":"keep","ID":"k1"}' >/dev/null
! mountpoint -q "$mp" 2>/dev/null || fail "not unmounted after the service came back"
[ "$(api_ok VolumeDriver.Get '{"Name":"keep"}' | jq -r .Volume.Status.status)" = detached ] || fail "not detached"
mp=$(api_ok VolumeDriver.Mount '{"Name":"keep","ID":"k2"}' | jq -r .Mountpoint)
[ "$(cat "$mp/f")" = "$(printf 'before\nduring')" ] || fail "data lost: $(cat "$mp/f")"
api_ok VolumeDriver.Unmount '{"Name":"keep","ID":"k2"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"keep"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"other"}' >/dev/null
ok "service back: unmount, detach, remount with the data, remove"
