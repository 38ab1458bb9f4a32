#!/usr/bin/env bash
# vmdkfs dies under load, for both engines: kill -9 while a writer runs
# (on the mount directly, and in ext4 on a direct-I/O loop device over a
# -flat.vmdk); the writers get an error within seconds instead of hanging,
# a restart on the same mountpoint detaches the dead mount and serves the
# same data, and every block fsync'd before the kill is intact (ext4 is
# fsck-clean after journal replay).  Exit 0 pass, 77 skip.
set -euo pipefail

source "$(dirname "$0")/vmdkfs-lib.bash"

command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null \
  || { echo "SKIP: needs losetup and mkfs.ext4"; exit 77; }

# wait_synced FILE N: until the writer's log shows N fsync'd blocks.
wait_synced () {
  for _ in $(seq 200); do
    (( $(grep -c '^synced' "$1" || true) >= $2 )) && return 0
    sleep 0.05
  done
  fail "writer made no progress: $(tail -2 "$1")"
}

# wait_exit PID SECONDS: the writer must end (with an error) in time.
wait_exit () {
  for _ in $(seq $(( $2 * 10 ))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  fail "writer still running $2 s after vmdkfs was killed"
}

make_datastore
M=$MNT/$DS S=$SRC/$DS

for engine in uring sync; do
  echo "== engine $engine"
  start_vmdkfs "$engine"

  # Writer A on the mount itself; writer B in ext4 on loop on the extent.
  loop=$(losetup --direct-io=on --show -f "$M/vol1-flat.vmdk")
  LOOPS+=("$loop")
  mkfs.ext4 -q -F -E nodiscard "$loop" >/dev/null
  mkdir -p "$T/ext4"
  mount "$loop" "$T/ext4"; MOUNTS+=("$T/ext4")
  "$PROBE" writeloop "$M/w-$engine" 100000 > "$T/a.out" 2>&1 &
  writer_a=$!
  "$PROBE" writeloop "$T/ext4/w" 200 > "$T/b.out" 2>&1 &
  writer_b=$!
  wait_synced "$T/a.out" 10
  wait_synced "$T/b.out" 10

  kill -9 "$VMDKFS_PID"
  wait "$VMDKFS_PID" 2>/dev/null || true
  VMDKFS_PID=
  wait_exit "$writer_a" 10
  wait_exit "$writer_b" 20
  wait "$writer_a" && fail "writer A succeeded after the kill"
  tail -1 "$T/a.out" | grep -E '^err (ENOTCONN|ECONNABORTED|EIO)$' >/dev/null \
    || fail "writer A ended with: $(tail -1 "$T/a.out")"
  # Writer B: ext4 reports the dead device as EIO (or EROFS once the
  # journal aborts); unless it finished its 200 blocks first.
  if ! wait "$writer_b"; then
    tail -1 "$T/b.out" | grep -E '^err (EIO|EROFS)$' >/dev/null \
      || fail "writer B ended with: $(tail -1 "$T/b.out")"
  fi
  synced_a=$(grep -c '^synced' "$T/a.out")
  synced_b=$(grep -c '^synced' "$T/b.out")
  echo "   fsync'd before the kill: $synced_a MiB on the mount, $synced_b MiB in ext4"

  # statfs always reaches the daemon; stat may be served from cached attrs.
  stat -f "$MNT" > "$T/stat" 2>&1 && fail "mount still answers after kill: $(cat "$T/stat")"
  umount -l "$T/ext4"; MOUNTS=()
  losetup -d "$loop"; LOOPS=()

  # Restart on the same mountpoint.
  start_vmdkfs "$engine"
  grep -q "Detaching dead FUSE mount" "$LOG" || fail "stale mount not detached"
  [[ $(grep -c " $MNT " /proc/mounts) == 1 ]] || fail "mounts stacked: $(grep " $MNT " /proc/mounts)"
  "$PROBE" verify "$M/w-$engine" "$synced_a" | grep '^ok' >/dev/null || fail "fsync'd data lost on the mount"
  "$PROBE" verify "$S/w-$engine" "$synced_a" | grep '^ok' >/dev/null || fail "fsync'd data lost in backing file"

  loop=$(losetup --direct-io=on --show -f "$M/vol1-flat.vmdk")
  LOOPS+=("$loop")
  # Journal replay, then a forced check must find nothing to fix.
  e2fsck -fy "$loop" >"$T/fsck1" 2>&1 || (( $? <= 1 )) || fail "fsck: $(cat "$T/fsck1")"
  e2fsck -fn "$loop" >"$T/fsck2" 2>&1 || fail "fsck not clean: $(cat "$T/fsck2")"
  mount "$loop" "$T/ext4"; MOUNTS+=("$T/ext4")
  "$PROBE" verify "$T/ext4/w" "$synced_b" | grep '^ok' >/dev/null || fail "fsync'd ext4 data lost"
  umount "$T/ext4"; MOUNTS=()
  losetup -d "$loop"; LOOPS=()
  stop_vmdkfs
  rm -f "$S/w-$engine"
done
echo "PASS"
