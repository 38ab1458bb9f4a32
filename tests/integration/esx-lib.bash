# Shared helpers of tests/integration/40-esx-*.sh (sourced, not run).
#
# Each test gets a private directory ($T) with the datastore root, the
# emulated sysfs and /dev of each VM, sockets and logs; the EXIT trap
# powers off the VMs (detaching every disk and its loop device), stops the
# daemons it started and removes $T.

VDVS_BUILD=${VDVS_BUILD:-$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/build}
ESXSIM=$VDVS_BUILD/tools/esxsim
ESXCLI=$VDVS_BUILD/tests/tools/esxcli

if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root (privileged source ports, loop devices)"
  exit 77
fi
for b in "$ESXSIM" "$ESXCLI"; do
  if [ ! -x "$b" ]; then
    echo "FAIL: $b not built (VDVS_BUILD=$VDVS_BUILD)"
    exit 1
  fi
done

T=$(mktemp -d /tmp/vdvs-esx-test.XXXXXX)
ESXSIM_PIDS=()
OTHER_PIDS=()

esx_cleanup ()
{
  local rc=$? pid f
  set +e
  if [ -S "$T/admin.sock" ]; then
    for vm in vm1 vm2; do
      "$ESXCLI" admin "$T/admin.sock" power-off "$vm" >/dev/null 2>&1
    done
  fi
  for pid in "${OTHER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${ESXSIM_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  for pid in "${ESXSIM_PIDS[@]}" "${OTHER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null
  done
  # Last resort: loop devices still backed by files of this test.
  if [ -d "$T/root" ]; then
    losetup -a 2>/dev/null | grep -F "$T/root" | cut -d: -f1 |
      while read -r dev; do losetup -d "$dev"; done
  fi
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    for f in "$T"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $f (last lines)"
      tail -n 30 "$f"
    done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap esx_cleanup EXIT

fail ()
{
  echo "FAIL: $*"
  exit 1
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq ()
{
  if [ "$2" != "$3" ]; then
    printf 'FAIL: %s\n  got:      %s\n  expected: %s\n' "$1" "$2" "$3"
    exit 1
  fi
  echo "ok - $1"
}

# expect_contains WHAT ACTUAL NEEDLE
expect_contains ()
{
  case "$2" in
    *"$3"*) echo "ok - $1" ;;
    *) printf 'FAIL: %s\n  got:      %s\n  expected to contain: %s\n' "$1" "$2" "$3"
       exit 1 ;;
  esac
}

# A free TCP port on 127.0.0.1 above the privileged range.
free_port ()
{
  local p
  for p in $(seq 20000 20999 | shuf); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  fail "no free TCP port"
}

# start_esxsim LOGNAME ARGS... : esxsim on $T/root with datastores
# datastore1,datastore2, vmdkfs off, admin socket $T/admin.sock; waits
# (bounded) for the admin socket to answer.
start_esxsim ()
{
  local log=$T/$1.log i
  shift
  rm -f "$T/esxsim.pid"
  "$ESXSIM" --root "$T/root" --datastores datastore1,datastore2 \
    --backend-opt vmdkfs=off --admin "$T/admin.sock" \
    --pidfile "$T/esxsim.pid" --request-timeout 5 "$@" >>"$log" 2>&1 &
  ESXSIM_PID=$!
  ESXSIM_PIDS+=("$ESXSIM_PID")
  for i in $(seq 100); do
    if [ -f "$T/esxsim.pid" ] &&
       "$ESXCLI" admin "$T/admin.sock" ping >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "$ESXSIM_PID" 2>/dev/null || fail "esxsim exited at start-up (see $log)"
    sleep 0.1
  done
  fail "esxsim did not start within 10 s"
}

# stop_esxsim: SIGTERM and require a graceful exit.
stop_esxsim ()
{
  kill "$ESXSIM_PID"
  wait "$ESXSIM_PID" || fail "esxsim did not exit cleanly"
}

# VM identity options of the two emulated VMs.
VM1="vm-name=vm1,vm-uuid=42000000-0000-0000-0000-000000000001,sysfs-root=$T/vm1/sys,dev-root=$T/vm1/dev"
VM2="vm-name=vm2,vm-uuid=42000000-0000-0000-0000-000000000002,sysfs-root=$T/vm2/sys,dev-root=$T/vm2/dev"

# by_path VM UNIT: the guest-visible disk name the attach published.
by_path ()
{
  local f
  for f in "$T/$1"/dev/disk/by-path/*-scsi-0:0:"$2":0; do
    [ -e "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}
