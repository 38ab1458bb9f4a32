# Shared set-up of the vmdkfs tests (sourced): private dirs, start/stop
# of vmdkfs with a control socket, a small datastore tree, cleanup.
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }
[[ -c /dev/fuse ]] || { echo "SKIP: no /dev/fuse"; exit 77; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${VDVS_BUILD:-$ROOT/build}
VMDKFS=$BUILD/fuse/vmdkfs
PROBE=$BUILD/tests/tools/vmdkfs-ioprobe
[[ -x $VMDKFS && -x $PROBE ]] || { echo "FAIL: $VMDKFS or $PROBE not built"; exit 1; }
T=$(mktemp -d /tmp/vmdkfs-test.XXXXXX)
SRC=$T/src MNT=$T/mnt CTL=$T/vmdkfs.ctl LOG=$T/vmdkfs.log
DS=datastore1/dockvols/11111111-2222-3333-4444-555555555555
VMDKFS_PID=
LOOPS=() MOUNTS=()

cleanup () {
  set +e
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  if [[ -n $VMDKFS_PID ]] && kill -0 "$VMDKFS_PID" 2>/dev/null; then
    kill -TERM "$VMDKFS_PID"
    for _ in $(seq 50); do kill -0 "$VMDKFS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$VMDKFS_PID" 2>/dev/null
  fi
  grep -q " $MNT " /proc/mounts && umount -l "$MNT"
  rm -rf "$T"
}
trap cleanup EXIT

fail () { echo "FAIL: $*"; echo "--- vmdkfs log:"; tail -30 "$LOG" 2>/dev/null; exit 1; }
ctl () { "$PROBE" ctl "$CTL" "$@"; }

# start_vmdkfs ENGINE: mount SRC at MNT and wait for the pidfile.
start_vmdkfs () {
  rm -f "$T/pid"
  "$VMDKFS" --engine="$1" --control="$CTL" --pidfile="$T/pid" \
    --log-level=debug "$SRC" "$MNT" 2>>"$LOG" &
  VMDKFS_PID=$!
  for _ in $(seq 100); do
    [[ -s $T/pid ]] && return 0
    kill -0 "$VMDKFS_PID" 2>/dev/null || fail "vmdkfs exited at start"
    sleep 0.1
  done
  fail "vmdkfs did not come up"
}

# stop_vmdkfs: SIGTERM must unmount and exit 0.
stop_vmdkfs () {
  kill -TERM "$VMDKFS_PID"
  wait "$VMDKFS_PID" || fail "vmdkfs exit status $? on SIGTERM"
  VMDKFS_PID=
  ! grep -q " $MNT " /proc/mounts || fail "still mounted after SIGTERM"
}

make_datastore () {
  mkdir -p "$SRC/$DS" "$MNT"
  printf '# Disk DescriptorFile\nversion=1\nRW 524288 VMFS "vol1-flat.vmdk"\n' \
    > "$SRC/$DS/vol1.vmdk"
  echo '{"status":"detached","volOpts":{"size":"256mb"}}' > "$SRC/$DS/vol1.vmfd"
  fallocate -l 256M "$SRC/$DS/vol1-flat.vmdk"
  truncate -s 1G "$SRC/$DS/vol2-flat.vmdk"
}
