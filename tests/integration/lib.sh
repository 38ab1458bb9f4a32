# Shared helpers for the integration tests (sourced, bash).
# Each test gets private dirs under $T, its own plugin socket, mount root,
# datastore root and emulated device roots; cleanup runs on EXIT and must
# leave no mount, loop device or daemon behind.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VDVS_BUILD=${VDVS_BUILD:-$TOP/build}
VDVSD=$VDVS_BUILD/src/vdvsd
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}
IMAGE=${VDVS_TEST_IMAGE:-vdvs-busybox:latest}

require_root () { [ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }; }
require_loop () { [ -e /dev/loop-control ] || { echo "SKIP: no loop devices"; exit 77; }; }
require_fuse () { [ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }; }

T=$(mktemp -d /tmp/vdvs-test.XXXXXX)
VDVSD_PID=
cleanup_fns=()
on_exit () { cleanup_fns+=("$1"); }

_cleanup () {
  local rc=$?
  set +e
  for ((i=${#cleanup_fns[@]}-1; i>=0; i--)); do eval "${cleanup_fns[$i]}"; done
  stop_vdvsd
  # Anything of ours still mounted or attached is a leak: report and undo.
  local leaked=0
  while read -r mp; do
    echo "LEAK: mount $mp" >&2; leaked=1; umount -l "$mp"
  done < <(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for l in $(losetup -a -O NAME,BACK-FILE -n 2>/dev/null | awk -v t="$T" 'index($2, t) == 1 { print $1 }'); do
    echo "LEAK: loop $l" >&2; leaked=1; losetup -d "$l"
  done
  # vmdkfs started by a test vdvsd
  if [ -f "$T/run/vmdkfs.ctl.pid" ]; then kill "$(cat "$T/run/vmdkfs.ctl.pid")" 2>/dev/null; fi
  rm -rf "$T"
  [ $leaked -eq 0 ] || rc=1
  exit $rc
}
trap _cleanup EXIT

fail () { echo "FAIL: $*" >&2; [ -f "$T/vdvsd.log" ] && tail -30 "$T/vdvsd.log" >&2; exit 1; }
ok () { echo "ok - $*"; }

# start_vdvsd [extra vdvsd args...]: serve on $SOCK with private roots.
SOCK=$T/plugins/vsphere.sock
MNT=$T/mnt
ROOT=$T/root
start_vdvsd () {
  mkdir -p "$T/plugins" "$T/run"
  "$VDVSD" --socket "$SOCK" --mount-root "$MNT" --state-dir "$T/state" \
    --docker-socket none --log-level debug \
    -o root="$ROOT" -o sysfs-root="$T/sys" -o dev-root="$T/dev" \
    -o vmdkfs="${VDVS_TEST_VMDKFS:-auto}" -o vmdkfs-mount="$T/vmfs" \
    -o vmdkfs-ctl="$T/run/vmdkfs.ctl" -o vm-name="${VM_NAME:-testvm}" \
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

# api ENDPOINT JSON: POST to the plugin, print the body.
api () {
  curl -sS --max-time 120 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    -d "$2" "http://plugin/$1"
}
# api_ok ENDPOINT JSON: the reply must have an empty Err.
api_ok () {
  local out; out=$(api "$1" "$2")
  [ "$(jq -r '.Err // ""' <<<"$out")" = "" ] || fail "$1 $2 -> $out"
  printf '%s' "$out"
}
# api_err ENDPOINT JSON EXPECTED: Err must contain EXPECTED.
api_err () {
  local out err; out=$(api "$1" "$2")
  err=$(jq -r '.Err // ""' <<<"$out")
  [ -n "$err" ] || fail "$1 $2 should fail with '$3', got $out"
  [[ "$err" == *"$3"* ]] || fail "$1 $2: expected '$3' in Err, got '$err'"
}
