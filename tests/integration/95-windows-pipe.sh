#!/usr/bin/env bash
# The Windows transport under wine: `make windows` cross-builds the pipe
# server (src/platform/windows) into a test server with a fixed handler;
# run under wine64 in a private prefix, it must write Docker's spec file
# once \\.\pipe\vsphere-dvs exists, answer the plugin API over the pipe
# (vdvs-pipe-test-client: keep-alive, concurrency, body limits, hostile
# and random input), and remove the spec file on a clean exit.  A bad pipe name is a
# clear error with no spec file.  Wine enforces neither the pipe's DACL
# nor remote-client rejection nor FIRST_PIPE_INSTANCE: those are not
# checked here (docs/windows.md).
# No machine lock needed: nothing outside the private prefix is touched.
set -euo pipefail
fail () { echo "FAIL: $*" >&2; exit 1; }
T=$(mktemp -d /tmp/vdvs-wine.XXXXXX)
remove_tmp () { rm -rf "$T"; }
trap 'rc=$?; remove_tmp; exit $rc' EXIT
. "$(dirname "$0")/wine-lib.bash"
WINE_THEN=remove_tmp
wine_build
B=$WIN_BUILD/tests/windows
SERVER=$B/vdvs-pipe-test-server.exe
wine_prefix
[ ! -e "$SPEC" ] || fail "spec file exists before the server starts"

# A bad pipe name: a clear error naming it, no spec file.
rc=0
timeout 60 "$WINE" "$SERVER" --pipe notapipe > "$T/bad.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "bad pipe name: exit status $rc (want 1)"
grep -qF 'pipe name `notapipe`: expected \\.\pipe\NAME' "$T/bad.log" || { cat "$T/bad.log" >&2; fail "bad pipe name: no clear error"; }
[ ! -e "$SPEC" ] || fail "spec file written although the pipe failed"
echo "ok: bad pipe name refused"

"$WINE" "$SERVER" > "$T/server.log" 2>&1 &
SPID=$!
for _ in $(seq 300); do
  [ -e "$SPEC" ] && break
  kill -0 "$SPID" 2>/dev/null || { cat "$T/server.log" >&2; fail "server exited"; }
  sleep 0.1
done
[ -e "$SPEC" ] || fail "no spec file after 30 s"
[ "$(cat "$SPEC")" = '{"Name":"vsphere","Addr":"npipe:////./pipe/vsphere-dvs"}' ] ||
  fail "spec file content: $(cat "$SPEC")"
echo "ok: spec file written"

rc=0
timeout 300 "$WINE" "$CLIENT" all > "$T/client.log" 2>&1 || rc=$?
tr -d '\r' < "$T/client.log"
[ "$rc" -eq 0 ] || fail "pipe client: exit status $rc"
grep -q '^0 failed' "$T/client.log" || fail "pipe client: no summary"
npass=$(grep -c '^PASS' "$T/client.log")
[ "$npass" -ge 18 ] || fail "pipe client: only $npass checks passed"

# Shutdown with an idle keep-alive and a half-sent request open: both are
# closed and the server exits, well before the 120 s idle timeout.
rc=0
timeout 60 "$WINE" "$CLIENT" shutdown > "$T/shutdown.log" 2>&1 || rc=$?
tr -d '\r' < "$T/shutdown.log"
[ "$rc" -eq 0 ] || fail "shutdown: exit status $rc"
for _ in $(seq 300); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SPID" 2>/dev/null && fail "server still running 30 s after shutdown"
rc=0; wait "$SPID" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/server.log" >&2; fail "server exit status $rc"; }
grep -q '\[INFO\] Stopped' "$T/server.log" || fail "server did not stop cleanly"
[ ! -e "$SPEC" ] || fail "spec file left after a clean exit"
echo "ok: clean exit removed the spec file"
# --max-connections 2: a third client stays connected, unanswered, until
# one of the two closes (its own pipe name and spec path).
"$WINE" "$SERVER" --max-connections 2 --pipe '\\.\pipe\vdvs-limit' \
  --spec 'C:\ProgramData\vdvs-limit.json' > "$T/limit-server.log" 2>&1 &
LPID=$!
LSPEC=$WINEPREFIX/drive_c/ProgramData/vdvs-limit.json
for _ in $(seq 300); do [ -e "$LSPEC" ] && break; sleep 0.1; done
[ -e "$LSPEC" ] || { cat "$T/limit-server.log" >&2; fail "limit server: no spec file"; }
rc=0
timeout 120 "$WINE" "$CLIENT" --pipe '\\.\pipe\vdvs-limit' limit 2 > "$T/limit.log" 2>&1 || rc=$?
tr -d '\r' < "$T/limit.log"
[ "$rc" -eq 0 ] || fail "connection limit: exit status $rc"
rc=0; timeout 30 tail --pid="$LPID" -f /dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "limit server still running after shutdown"
rc=0; wait "$LPID" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/limit-server.log" >&2; fail "limit server exit status $rc"; }
[ ! -e "$LSPEC" ] || fail "limit server left its spec file"
echo "PASS: windows pipe transport under wine ($npass client checks)"
