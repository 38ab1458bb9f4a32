# Shared helpers for the integration tests (sourced, bash).
# Each test gets private dirs under $T, its own plugin socket, mount root,
# datastore root and emulated device roots; cleanup runs on EXIT and must
# leave no mount, loop device or daemon behind.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTS=$TOP/tests/integration # checks.py, for the scripts' embedded Python
VDVS_BUILD=${VDVS_BUILD:-$TOP/build}
VDVSD=$VDVS_BUILD/src/vdvsd
# $DOCKER is the CLI behind a deadline (docker-bounded); engine_revive
# talks to the CLI itself.
export VDVS_DOCKER_CLI=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}
DOCKER=${VDVS_DOCKER_CLI:+$TESTS/docker-bounded}
IMAGE=${VDVS_TEST_IMAGE:-vdvs-busybox:latest}

require_root () { [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }; }
require_loop () { [ -e /dev/loop-control ] || { echo "SKIP: no loop devices"; exit 77; }; }
require_fuse () { [ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }; }
# Engine tests: a Docker engine that answers, the local test image, and
# the driver socket the engine calls free of another plugin.
DRIVER_SOCK=/run/docker/plugins/vsphere.sock
require_docker () {
  [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 || { echo "SKIP: no Docker engine"; exit 77; }
}
require_image () {
  "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1 || { echo "SKIP: no $IMAGE (scripts/dockerd.sh)"; exit 77; }
}
require_driver_socket_free () {
  if [ -S "$DRIVER_SOCK" ] && curl -s --max-time 2 --unix-socket "$DRIVER_SOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
    echo "SKIP: another plugin serves $DRIVER_SOCK (stop it to run this test)"; exit 77
  fi
}

T=$(mktemp -d /tmp/vdvs-test.XXXXXX)
# Sanitized builds (tests/run.sh --asan sets VDVS_BUILD to build-asan):
# every report of vdvsd, vmdkfs, esxsim or a tool goes to $T/sanitizer.PID,
# which fails the test at cleanup.  Ignored by unsanitized binaries.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:log_path=$T/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}halt_on_error=1:print_stacktrace=1:log_path=$T/sanitizer"
# SANITIZED=1 when vdvsd is an ASan build (memory bounds differ there).
SANITIZED=0
case "$(ldd "$VDVSD" 2>/dev/null)" in *libasan*) SANITIZED=1 ;; esac
# Loop devices bound before the test: anything bound at the end that is not
# in this list is the test's leak (tests run one at a time).
LOOPS_BEFORE=$(losetup -n -O NAME 2>/dev/null | sort | tr '\n' ' ')
VDVSD_PID=
cleanup_fns=()
on_exit () { cleanup_fns+=("$1"); }

# engine_revive: a Docker engine that no longer answers (20.10 can
# deadlock under many parallel container removals) would hang every later
# test.  Save its goroutine dump, then restart it so the cleanup below and
# the next tests find one that answers.
engine_revive () {
  [ -n "$VDVS_DOCKER_CLI" ] && [ -S /var/run/docker.sock ] || return 0
  timeout 20 "$VDVS_DOCKER_CLI" ps -q >/dev/null 2>&1 && return 0
  local pid f stacks= saved=/var/log/vdvs-dockerd-stacks-$(date +%Y%m%d-%H%M%S).log
  pid=$(cat /var/run/docker.pid 2>/dev/null) || return 0
  echo "FAIL: the Docker engine (pid $pid) does not answer: saving its goroutines, restarting it" >&2
  kill -USR1 "$pid" 2>/dev/null; sleep 2
  for f in /var/run/docker/goroutine-stacks-*; do
    [ -e "$f" ] && { [ -z "$stacks" ] || [ "$f" -nt "$stacks" ]; } && stacks=$f
  done
  [ -n "$stacks" ] && cp "$stacks" "$saved" && echo "engine goroutines: $saved" >&2
  # Its own containerd goes with it; the containers' shims stay and are
  # picked up again by the new one.
  pkill -9 -P "$pid" -x containerd 2>/dev/null
  kill -9 "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  "$TOP/scripts/dockerd.sh" >&2 || echo "engine_revive: the Docker engine did not come back" >&2
}

_cleanup () {
  local rc=$? _k
  set +eu
  local fns=("${cleanup_fns[@]}")
  [ $rc = 0 ] || engine_revive
  # _k: the eval'd snippets may use any ordinary variable name
  for ((_k=${#fns[@]}-1; _k>=1; _k--)); do eval "${fns[$_k]}"; done
  local leaked=0 src
  # The daemon must survive to SIGTERM and exit 0 (not a crash, not a
  # sanitizer exit status).
  stop_vdvsd || { src=$?; echo "FAIL: vdvsd did not exit cleanly on SIGTERM (status $src)" >&2; leaked=1; }
  eval "${fns[0]}"   # stop_esxsim, after the daemon that talks to it
  # A check that failed in a subshell ($(...), a background job) already
  # signalled us; the marker makes sure the test ends red in any case.
  if [ -s "$T/FAILED" ]; then
    echo "FAIL (in a subshell): $(head -3 "$T/FAILED")" >&2; leaked=1
  fi
  for src in "$T"/sanitizer.*; do
    [ -e "$src" ] || continue
    echo "FAIL: sanitizer report $src:" >&2; head -60 "$src" >&2; leaked=1
  done
  if [ -f "$T/vdvsd.log" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/vdvsd.log"; then
    echo "FAIL: sanitizer report in vdvsd.log:" >&2
    grep -m5 -A20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/vdvsd.log" >&2; leaked=1
  fi
  # Anything of ours still mounted or attached is a leak: report and undo.
  # Loops are listed first: once the datastore's FUSE mount is gone, their
  # backing paths no longer start with $T.  Only loops over a file of this
  # test: another test's must not be touched even when someone runs without
  # the machine lock.
  local back our_loops=()
  for l in $(losetup -n -O NAME 2>/dev/null | sort); do
    case " $LOOPS_BEFORE " in *" $l "*) continue ;; esac
    back=$(losetup -n -O BACK-FILE "$l" 2>/dev/null)
    case "$back" in "$T"/*) our_loops+=("$l $back") ;; esac
  done
  while read -r mp; do
    echo "LEAK: mount $mp" >&2; leaked=1; umount -l "$mp"
  done < <(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for l in "${our_loops[@]}"; do
    [ -n "$(losetup -n -O BACK-FILE "${l%% *}" 2>/dev/null)" ] || continue
    echo "LEAK: loop ${l%% *} (${l#* })" >&2; leaked=1; losetup -d "${l%% *}"
  done
  # A vmdkfs that the test's vdvsd started and left running: only if the
  # pid is still that vmdkfs (pids wrap).
  local vpid
  vpid=$(cat "$T/run/vmdkfs.ctl.pid" 2>/dev/null || true)
  if [ -n "$vpid" ] && tr '\0' ' ' < "/proc/$vpid/cmdline" 2>/dev/null | grep "vmdkfs.*$T" >/dev/null; then
    echo "LEAK: vmdkfs $vpid" >&2; leaked=1; kill "$vpid"
    for _ in $(seq 50); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
  fi
  while read -r mp; do umount -l "$mp"; done < <(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf "$T"
  [ $leaked -eq 0 ] || rc=1
  exit $rc
}
trap _cleanup EXIT
MAIN_PID=$$
trap 'exit 1' USR1

# fail MSG: end the test red.  In a subshell ($(...), a pipeline, a
# background job) exit only ends the subshell, so record the failure and
# signal the test's shell too.
fail () {
  echo "FAIL: $*" >&2
  [ -f "$T/vdvsd.log" ] && tail -30 "$T/vdvsd.log" >&2
  if [ "$BASHPID" != "$MAIN_PID" ]; then
    echo "$*" >> "$T/FAILED"
    kill -USR1 "$MAIN_PID" 2>/dev/null
  fi
  exit 1
}
ok () { echo "ok - $*"; }

# start_vdvsd [extra vdvsd args...]: serve on $SOCK with private roots.
SOCK=$T/plugins/vsphere.sock
MNT=$T/mnt
ROOT=$T/root
# The backend under test: mock (default), or esx = vdvsd's ESX client
# talking to esxsim over a unix socket, esxsim running the emulated
# datastore with the same roots.
VDVS_TEST_BACKEND=${VDVS_TEST_BACKEND:-mock}
ESXSIM=$VDVS_BUILD/tools/esxsim
ESXSIM_PID=
mock_opts () {
  echo "root=$ROOT sysfs-root=$T/sys dev-root=$T/dev vmdkfs=${VDVS_TEST_VMDKFS:-auto}" \
       "vmdkfs-mount=$T/vmfs vmdkfs-ctl=$T/run/vmdkfs.ctl"
}
start_esxsim () {
  [ -n "$ESXSIM_PID" ] && kill -0 "$ESXSIM_PID" 2>/dev/null && return 0
  local args=() o
  for o in $(mock_opts); do args+=(--backend-opt "$o"); done
  "$ESXSIM" --root "$ROOT" --datastores "${DATASTORES:-datastore1}" "${args[@]}" \
    --listen "unix://$T/run/esx.sock,vm-name=${VM_NAME:-testvm},vm-uuid=${VM_UUID:-42000000-0000-0000-0000-000000000001}" \
    --admin "$T/run/esx-admin.sock" >>"$T/esxsim.log" 2>&1 &
  ESXSIM_PID=$!
  for _ in $(seq 1 100); do
    [ -S "$T/run/esx.sock" ] && return 0
    kill -0 "$ESXSIM_PID" 2>/dev/null || fail "esxsim exited at start: $(tail -5 "$T/esxsim.log")"
    sleep 0.1
  done
  fail "esxsim did not come up"
}
stop_esxsim () {
  [ -n "${ESXSIM_PID:-}" ] || return 0
  kill -TERM "$ESXSIM_PID" 2>/dev/null || true
  wait "$ESXSIM_PID" 2>/dev/null || true
  ESXSIM_PID=
}
on_exit stop_esxsim

start_vdvsd () {
  mkdir -p "$T/plugins" "$T/run"
  local backend=() o
  if [ "$VDVS_TEST_BACKEND" = esx ]; then
    start_esxsim
    backend=(--backend esx -o "esx=unix://$T/run/esx.sock" -o "sysfs-root=$T/sys"
             -o "dev-root=$T/dev" -o timeout=30 -o retries=2)
  else
    for o in $(mock_opts); do backend+=(-o "$o"); done
    backend+=(-o "vm-name=${VM_NAME:-testvm}" -o "datastores=${DATASTORES:-datastore1}")
  fi
  "$VDVSD" --socket "$SOCK" --mount-root "$MNT" --state-dir "$T/state" \
    --docker-socket none --log-level debug "${backend[@]}" \
    "$@" >>"$T/vdvsd.log" 2>&1 &
  VDVSD_PID=$!
  for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && return 0
    kill -0 "$VDVSD_PID" 2>/dev/null || fail "vdvsd exited at start"
    sleep 0.1
  done
  fail "vdvsd socket $SOCK did not appear"
}

# stop_vdvsd: SIGTERM and require a clean exit.
stop_vdvsd () {
  [ -n "${VDVSD_PID:-}" ] || return 0
  kill -TERM "$VDVSD_PID" 2>/dev/null || true
  local rc=0
  wait "$VDVSD_PID" 2>/dev/null || rc=$?
  VDVSD_PID=
  return $rc
}

# api ENDPOINT JSON: POST to the plugin, print the body (no checks).
api () {
  curl -sS --max-time 120 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d "$2" "http://plugin/$1"
}
# api_save FILE ENDPOINT JSON: POST, body to FILE and the HTTP status to
# FILE.code (for requests run in the background; check with reply_ok).
api_save () {
  curl -sS --max-time 120 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d "$3" -o "$1" -w '%{http_code}' "http://plugin/$2" > "$1.code" 2>>"$1.curl"
  return 0
}
# api_req ENDPOINT JSON: POST; sets API_CODE (HTTP status, 000 when curl
# failed) and API_BODY.
api_req () {
  local out
  out=$(curl -sS --max-time 120 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
          -d "$2" -w '\n%{http_code}' "http://plugin/$1" 2>&1) || true
  API_CODE=${out##*$'\n'}; API_BODY=${out%$'\n'*}
  [ "$API_CODE" != "$out" ] || { API_CODE=000; API_BODY=$out; }
}
# reply_ok WHAT CODE BODY: HTTP 200, a JSON object, and Err == "".
reply_ok () {
  [ "$2" = 200 ] || fail "$1: HTTP status $2, body: $3"
  jq -es 'length == 1 and (.[0] | type == "object" and (.Err | type) == "string" and .Err == "")' \
    >/dev/null 2>&1 <<<"$3" || fail "$1: expected a JSON object with Err \"\", got: ${3:-<empty body>}"
}
# reply_errtext WHAT CODE BODY: HTTP 200 and a JSON object with a string
# Err; prints Err (empty on success).
reply_errtext () {
  [ "$2" = 200 ] || fail "$1: HTTP status $2, body: $3"
  jq -ers 'if length == 1 and (.[0] | type == "object" and (.Err | type) == "string") then .[0].Err else error("no Err") end' \
    2>/dev/null <<<"$3" || fail "$1: expected a JSON object with a string Err, got: ${3:-<empty body>}"
}
# reply_file_ok FILE WHAT: reply_ok on what api_save wrote.
reply_file_ok () {
  reply_ok "$2" "$(cat "$1.code" 2>/dev/null)" "$(cat "$1" 2>/dev/null)$(cat "$1.curl" 2>/dev/null)"
}
# reply_err WHAT CODE BODY EXPECTED: HTTP 200, a JSON object whose Err is a
# non-empty string containing EXPECTED.
reply_err () {
  local err
  [ "$2" = 200 ] || fail "$1: HTTP status $2, body: $3"
  err=$(jq -ers 'if length == 1 and (.[0] | type == "object" and (.Err | type) == "string" and .Err != "") then .[0].Err else error("no Err") end' \
          2>/dev/null <<<"$3") || fail "$1 should fail with '$4', got: ${3:-<empty body>}"
  [[ "$err" == *"$4"* ]] || fail "$1: expected '$4' in Err, got '$err'"
}
# api_ok ENDPOINT JSON: HTTP 200, a JSON object with Err == ""; prints the
# body.  Fails the test (also from inside $(...)) otherwise.
api_ok () {
  api_req "$1" "$2"
  reply_ok "$1 $2" "$API_CODE" "$API_BODY"
  printf '%s' "$API_BODY"
}
# api_err ENDPOINT JSON EXPECTED: HTTP 200, a JSON object whose Err contains
# EXPECTED.
api_err () {
  api_req "$1" "$2"
  reply_err "$1 $2" "$API_CODE" "$API_BODY" "$3"
}
