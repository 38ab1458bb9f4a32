#!/usr/bin/env bash
# vdvsd.exe's restart recovery under wine64 against a fake Docker engine
# on \\.\pipe\docker_engine (tests/windows/fake-engine.c): the start-up
# pass counts the engine's references (stale ones dropped), no engine
# means docker=unavailable without retries, and each hostile engine
# (garbage, truncated, hung, huge, endless, HTTP 500) gets a clear error
# while vdvsd.exe keeps serving and stops cleanly.  Also a Create without
# fstype gets ntfs (it reaches ESX), the log goes to upstream's file under
# %LOCALAPPDATA%, and vdvsd.exe runs as the service `vdvs` (installed by
# --install-service, started and stopped with wine's sc).  The ESX backend is esxsim over tcp: it
# attaches loop devices, so run this under the machine lock.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"
. "$(dirname "$0")/wine-lib.bash"
WINE_THEN=esx_cleanup
wine_build
ENGINE=$WIN_BUILD/tests/windows/vdvs-fake-engine.exe

PORT=$(free_port)
URL=tcp://127.0.0.1:$PORT
start_esxsim esxsim --listen "$URL,$VM1"

wine_prefix
# One wineserver for the whole test (ended by wine_cleanup): between two
# programs an exiting one would refuse the next.
"$WINESERVER" -w
"$WINESERVER" -p
STATE=$WINEPREFIX/drive_c/ProgramData/vsphere-storage-for-docker/state/vsphere
ENGINE_ADDR='npipe:////./pipe/docker_engine'
# Upstream's log file, under the (wine) user's LocalAppData.
LOG=$WINEPREFIX/drive_c/users/$(id -un)/AppData/Local/vsphere-storage-for-docker/logs/vsphere-storage-for-docker.log

# The log vdvsd.exe writes, CR dropped.
log () { if [ -f "$LOG" ]; then tr -d '\r' < "$LOG"; fi; }

# wait_log PATTERN SECONDS: until the log holds PATTERN (a bash regex),
# while vdvsd.exe ($VPID, when not the service) runs.
wait_log ()
{
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ $(log) =~ $1 ]] && return 0
    [ -z "$VPID" ] || kill -0 "$VPID" 2>/dev/null || { log >&2; fail "vdvsd.exe exited waiting for /$1/"; }
    sleep 0.1
  done
  log >&2
  fail "no /$1/ in vdvsd.exe's log after $2 s"
}

start_vdvsd ()
{
  rm -f "$LOG"
  # No disk ever appears under wine's Win32 layer: a remount by recovery
  # waits --device-timeout for it, and Ctrl-C waits for that remount.
  "$WINE" "$VDVSD" --backend esx -o "esx=$URL" --recovery-grace 0 \
    --device-timeout 1 > "$T/vdvsd.out" 2>&1 &
  VPID=$!
  wait_log 'Serving' 30
}

# Ctrl-C: a clean exit within 20 s, spec file removed.
stop_vdvsd ()
{
  local rc=0
  kill -INT "$VPID"
  timeout 20 tail --pid="$VPID" -f /dev/null || fail "vdvsd.exe still running 20 s after Ctrl-C ($1)"
  wait "$VPID" || rc=$?
  [ "$rc" -eq 0 ] || { log >&2; fail "vdvsd.exe exit status $rc ($1)"; }
  [ ! -e "$SPEC" ] || fail "spec file left after a clean exit ($1)"
}

start_engine ()
{
  "$WINE" "$ENGINE" "$1" > "$T/engine-$1.log" 2>&1 &
  EPID=$!
  for _ in $(seq 300); do
    grep -q listening "$T/engine-$1.log" 2>/dev/null && return 0
    kill -0 "$EPID" 2>/dev/null || { cat "$T/engine-$1.log" >&2; fail "fake engine ($1) exited"; }
    sleep 0.1
  done
  fail "fake engine ($1) not listening after 30 s"
}

stop_engine ()
{
  kill "$EPID" 2>/dev/null || true
  wait "$EPID" 2>/dev/null || true
}

api ()
{
  local out
  out=$(timeout 60 "$WINE" "$CLIENT" post "$1" "$2" 2>&1) || fail "$1: $out"
  printf '%s' "$out" | tr -d '\r'
}

# Volumes on ESX, and references vdvsd.exe kept from before a restart:
# esxvol held by three mounts (one container of the engine still uses it),
# stale by one (no container uses it).
for v in esxvol other stale; do
  "$ESXCLI" "$URL" create "$v" size=10mb > "$T/esxcli.log" 2>&1 || fail "esxcli create $v: $(cat "$T/esxcli.log")"
done
put_refs ()
{
  mkdir -p "$STATE/refs"
  printf '{"name":"esxvol@datastore1","mounts":{"gone1":1,"gone2":1,"c1":1},"recovered":0}' > "$STATE/refs/esxvol@datastore1"
  printf '{"name":"stale@datastore1","mounts":{"gone3":1},"recovered":0}' > "$STATE/refs/stale@datastore1"
}

# No engine: recovery does not ask, and does not retry.
put_refs
start_vdvsd
expect_eq "the foreground names its log file" "$(tr -d '\r' < "$T/vdvsd.out")" \
  "vdvsd: logging to C:\\users\\$(id -un)\\AppData\\Local\\vsphere-storage-for-docker\\logs\\vsphere-storage-for-docker.log (--log-file - logs here)"
wait_log 'Refcounting successfully completed' 30
expect_contains "no engine: docker=unavailable" "$(log)" 'Recovery: reconciling volumes=2 docker=unavailable'
[[ $(log) != *"Docker not answering"* ]] || fail "no engine, yet recovery asked one: $(log)"
echo "ok - no engine: no retries"
stop_vdvsd "no engine"

# The engine answers: its references count.
put_refs
start_engine ok
start_vdvsd
wait_log 'Refcounting successfully completed' 30
l=$(log)
expect_contains "engine: docker=yes" "$l" 'Recovery: reconciling volumes=2 docker=yes'
expect_contains "engine: stale references of esxvol dropped" "$l" \
  'Recovery: dropping stale references name=esxvol@datastore1 refcount=3 users=1'
expect_contains "engine: no user of stale" "$l" \
  'Recovery: no container uses volume, dropping references name=stale@datastore1 refcount=1'
expect_contains "engine: the request" "$(tr -d '\r' < "$T/engine-ok.log")" \
  'request: GET /v1.24/containers/json?all=1&filters=%7B%22status%22%3A%5B%22running%22%2C%22paused%22%2C%22restarting%22%2C%22created%22%5D%7D HTTP/1.1'
stop_vdvsd "engine ok"
stop_engine

# Hostile engines: a clear error, retried, while the plugin API answers.
hostile ()
{
  local mode=$1 want=$2
  put_refs
  start_engine "$mode"
  start_vdvsd
  wait_log 'Recovery: Docker not answering, retrying attempt=1 ' 40
  expect_contains "$mode engine: the error" "$(log)" "attempt=1 error=\"Docker engine at \`$ENGINE_ADDR\` $want"
  expect_eq "$mode engine: Activate still answers" "$(api /Plugin.Activate '')" '{"Implements":["VolumeDriver"]}'
  stop_vdvsd "$mode engine"
  stop_engine
}
hostile garbage 'sent a bad reply: malformed HTTP status line "SSH-2.0-OpenSSH_9.2": expected "HTTP/1.1 200 OK""'
hostile truncated 'not answering: connection closed after 6 of 1000 body bytes"'
hostile hang 'not answering: no complete reply within 5 s"'
hostile huge 'sent a bad reply: reply body of 100000000000 bytes is larger than the limit of 67108864 bytes"'
hostile stream 'sent a bad reply: reply body of 67174400 bytes is larger than the limit of 67108864 bytes"'
hostile error 'answered HTTP 500: {"message":"engine on fire"}"'

# Create without -o fstype: the Windows default, ntfs, passes the mkfs
# check (ext4 failed it with upstream's `Not found mkfs for ext4`), so
# ESX is asked to create the volume.
start_vdvsd
r=$(api /VolumeDriver.Create '{"Name":"winvol","Opts":{"size":"20mb"}}')
[[ $r != *"Not found mkfs"* ]] || fail "Create without fstype: $r"
expect_contains "Create without fstype reached ESX" "$(tr -d '\r' < "$T/esxsim.log")" 'cmd=create name="winvol"'
stop_vdvsd "fstype"

# The service.  Wine ends a prefix's services with its last ordinary
# process: the fake engine is that process here.
start_engine ok
VPID=
cp "$VDVSD" "$WINEPREFIX/drive_c/vdvsd.exe"
sc () { timeout 60 "$WINE" sc "$@" 2>&1 | tr -d '\r'; }
svc_state () { sc query vdvs | sed -n 's/^ *STATE *: *[0-9]* *//p'; }
if out=$("$WINE" 'C:\vdvsd.exe' --install-service --bogus 2>&1); then fail "installed with --bogus: $out"; fi
expect_contains "install with a bad option" "$out" 'unknown or incomplete option `--bogus`'
out=$("$WINE" 'C:\vdvsd.exe' --install-service --backend esx -o "esx=$URL" --recovery-grace 0 2>&1) || fail "install: $out"
expect_contains "install" "$(printf '%s' "$out" | tr -d '\r')" \
  "installed the service vdvs: \"C:\\vdvsd.exe\" --service \"--backend\" \"esx\" \"-o\" \"esx=$URL\" \"--recovery-grace\" \"0\""
expect_eq "installed, stopped" "$(svc_state)" STOPPED
if out=$("$WINE" 'C:\vdvsd.exe' --install-service 2>&1); then fail "installed twice: $out"; fi
expect_contains "install twice" "$out" '(vdvsd --uninstall-service removes it)'
rm -f "$LOG"
sc start vdvs > "$T/sc.log"
for _ in $(seq 300); do [ -e "$SPEC" ] && break; sleep 0.1; done
[ -e "$SPEC" ] || { cat "$T/sc.log"; log; fail "sc start vdvs: no spec file after 30 s"; }
for _ in $(seq 100); do [ "$(svc_state)" = RUNNING ] && break; sleep 0.1; done
expect_eq "sc start: running" "$(svc_state)" RUNNING
expect_contains "the service logs to the file" "$(log)" 'service=yes'
expect_eq "the service answers" "$(api /Plugin.Activate '')" '{"Implements":["VolumeDriver"]}'
wait_log 'Recovery: reconciling volumes=[0-9]+ docker=yes' 30
sc stop vdvs > "$T/sc.log"
for _ in $(seq 300); do [ "$(svc_state)" = STOPPED ] && break; sleep 0.1; done
expect_eq "sc stop: stopped" "$(svc_state)" STOPPED
[ ! -e "$SPEC" ] || fail "spec file left after sc stop"
expect_contains "sc stop: a clean stop" "$(log)" '[INFO] Stopped'
out=$("$WINE" 'C:\vdvsd.exe' --uninstall-service 2>&1) || fail "uninstall: $out"
expect_contains "uninstall" "$out" 'removed the service vdvs'
out=$(sc query vdvs || true)
[[ $out != *SERVICE_NAME* ]] || fail "sc query still finds vdvs after --uninstall-service: $out"
echo "ok - uninstalled"
if out=$("$WINE" 'C:\vdvsd.exe' --service 2>&1); then fail "--service outside the service manager ran: $out"; fi
expect_contains "--service by hand" "$out" '--service is for the service manager, which did not start this process'
stop_engine
echo "PASS: vdvsd.exe's restart recovery asked the engine on its pipe and survived hostile ones"
