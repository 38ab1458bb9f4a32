#!/usr/bin/env bash
# vdvsd's command line as users meet it: --log-file writes there (not to
# stderr); a second vdvsd on a socket another daemon answers is refused and
# the first keeps serving; `--driver vmdk` serves
# /run/docker/plugins/vmdk.sock and `vdvsctl status` follows it up and
# down; the installed /etc/vdvs.conf (mock, with mock options) does not
# stop `vdvsd --backend esx` (its mock options are not given to esx), by
# flag or by VDVS_BACKEND.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
CTL=$VDVS_BUILD/tools/vdvsctl

# --- --log-file
start_vdvsd --log-file "$T/daemon.log"
api_ok VolumeDriver.List '{}' >/dev/null
grep -q 'Serving' "$T/daemon.log" || fail "--log-file: no 'Serving' line in $T/daemon.log"
! grep -q 'Serving' "$T/vdvsd.log" || fail "--log-file: logs still go to stderr"
ok "--log-file: the log goes to the file, not stderr"

# --- a second daemon on the same socket is refused; the first keeps serving
rc=0
timeout 20 "$VDVSD" --socket "$SOCK" --mount-root "$T/mnt2" --state-dir "$T/state2" \
  --docker-socket none $(for o in $(mock_opts); do printf -- '-o %s ' "$o"; done) \
  > "$T/second.log" 2>&1 || rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || fail "second vdvsd on a served socket: exit $rc (124 = still running), log: $(cat "$T/second.log")"
grep -q "another plugin is serving \`$SOCK\`" "$T/second.log" || fail "second vdvsd: no clear error: $(cat "$T/second.log")"
[ -S "$SOCK" ] || fail "the refused daemon removed the first one's socket"
api_ok VolumeDriver.List '{}' >/dev/null
ok "a second vdvsd on a served socket is refused (exit $rc), the first keeps serving"
stop_vdvsd || fail "vdvsd did not exit cleanly"

# --- --driver vmdk: the original name, its own default socket
VSOCK=/run/docker/plugins/vmdk.sock
if [ -S "$VSOCK" ] && curl -s --max-time 2 --unix-socket "$VSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
  echo "SKIP: another plugin serves $VSOCK"; exit 77
fi
status_of () {   # status_of SERVICE: up|down from vdvsctl --json status
  { "$CTL" --json status || true; } | jq -er --arg s "$1" '.[] | select(.service == $s) | .status' \
    || fail "vdvsctl --json status has no '$1': $("$CTL" --json status)"
}
[ "$(status_of 'vdvsd (vmdk)')" = down ] || fail "vdvsctl status: vmdk up before the daemon started"
mkdir -p "$T/run"
backend=(); for o in $(mock_opts); do backend+=(-o "$o"); done
"$VDVSD" --driver vmdk --mount-root "$MNT" --state-dir "$T/state" --docker-socket none \
  --log-level debug "${backend[@]}" -o vm-name=testvm >>"$T/vdvsd.log" 2>&1 &
VDVSD_PID=$!
for _ in $(seq 100); do [ -S "$VSOCK" ] && break; kill -0 "$VDVSD_PID" 2>/dev/null || break; sleep 0.1; done
[ -S "$VSOCK" ] || fail "--driver vmdk: no socket $VSOCK"
SOCK=$VSOCK
[ "$(api Plugin.Activate '')" = '{"Implements":["VolumeDriver"]}' ] || fail "Activate on $VSOCK"
api_ok VolumeDriver.Create '{"Name":"vm1","Opts":{"size":"16mb"}}' >/dev/null
[ "$(api_ok VolumeDriver.Mount '{"Name":"vm1","ID":"a"}' | jq -r .Mountpoint)" = "$MNT/vm1@datastore1" ] || fail "Mount via vmdk.sock"
api_ok VolumeDriver.Unmount '{"Name":"vm1","ID":"a"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"vm1"}' >/dev/null
grep -q 'driver=vmdk' "$T/vdvsd.log" || fail "start line does not name driver vmdk"
[ "$(status_of 'vdvsd (vmdk)')" = up ] || fail "vdvsctl status: vmdk not up while served"
"$CTL" status > "$T/status" || fail "vdvsctl status exits non-zero while vmdk.sock answers"
grep -E "^vdvsd \(vmdk\) +$VSOCK +up$" "$T/status" >/dev/null || fail "vdvsctl status (text): $(cat "$T/status")"
stop_vdvsd || fail "vdvsd --driver vmdk did not exit cleanly"
[ ! -e "$VSOCK" ] || fail "$VSOCK left after SIGTERM"
[ "$(status_of 'vdvsd (vmdk)')" = down ] || fail "vdvsctl status: vmdk still up after the daemon stopped"
if [ "$(status_of 'vdvsd (vsphere)')" = down ]; then
  rc=0; "$CTL" status >/dev/null || rc=$?
  [ $rc = 1 ] || fail "vdvsctl status exits $rc with no vdvsd answering, not 1"
fi
ok "--driver vmdk serves $VSOCK; vdvsctl status shows it up, then down (exit 1)"

# --- the installed config with another backend chosen by flag or env
SOCK=$T/plugins/vsphere.sock
start_esxsim
esx=(-o "esx=unix://$T/run/esx.sock" -o "sysfs-root=$T/sys" -o "dev-root=$T/dev" -o timeout=30 -o retries=2)
for how in flag env; do
  if [ $how = flag ]; then
    args=(--backend esx); envs=()
  else
    args=(); envs=(VDVS_BACKEND=esx)
  fi
  env "${envs[@]}" "$VDVSD" --config "$TOP/dist/vdvs.conf" "${args[@]}" --socket "$SOCK" \
    --mount-root "$MNT" --state-dir "$T/state" --docker-socket none "${esx[@]}" \
    >>"$T/vdvsd.log" 2>&1 &
  VDVSD_PID=$!
  for _ in $(seq 100); do [ -S "$SOCK" ] && break; kill -0 "$VDVSD_PID" 2>/dev/null || break; sleep 0.1; done
  [ -S "$SOCK" ] || fail "[$how] vdvsd --config dist/vdvs.conf with backend esx did not start: $(tail -3 "$T/vdvsd.log")"
  api_ok VolumeDriver.Create "{\"Name\":\"cf$how\",\"Opts\":{\"size\":\"16mb\"}}" >/dev/null
  [ -f "$ROOT/datastore1/dockvols/_DEFAULT/cf$how.vmdk" ] || fail "[$how] volume not on esxsim's datastore"
  api_ok VolumeDriver.Remove "{\"Name\":\"cf$how\"}" >/dev/null
  stop_vdvsd || fail "[$how] vdvsd did not exit cleanly"
done
! grep -q "Unknown esx backend option" "$T/vdvsd.log" || fail "the config file's mock options reached the esx backend"
ok "installed vdvs.conf + backend esx by flag and by VDVS_BACKEND: serves, mock options ignored"
