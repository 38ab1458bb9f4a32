#!/usr/bin/env bash
# vmdkfs data path, for both engines: a real FUSE mount of a datastore
# tree; sizes and blocks, data equal to the backing file, fsync, fallocate
# (punch hole, zero range), namespace ops, and ext4 on a direct-I/O loop
# device over a -flat.vmdk seen through the mount, checksummed across a
# remount.  Exit 0 pass, 77 skip (no root, no /dev/fuse, no loop).
set -euo pipefail

source "$(dirname "$0")/vmdkfs-lib.bash"

command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null \
  || { echo "SKIP: needs losetup and mkfs.ext4"; exit 77; }
make_datastore

# Bad option values: refused before mounting, naming the option, the value
# and what is valid.
for bad in "--lanes=5|--lanes (valid: an integer from 1 to 4)" \
           "--threads=0|--threads (valid: an integer from 1 to 1024)" \
           "--engine=fast|--engine (valid: auto, uring or sync)" \
           "--cache=x|--cache (valid: auto, writeback or direct)" \
           "--timeout=-1|--timeout (valid: seconds, 0 or more)" \
           "--log-level=loud|--log-level (valid: error, warn, info or debug)"; do
  opt=${bad%%|*} want=${bad#*|}
  if out=$("$VMDKFS" "$opt" "$SRC" "$MNT" 2>&1); then fail "$opt accepted"; fi
  [[ $out == *"bad value \`${opt#*=}' for $want"* ]] || fail "$opt: $out"
  ! grep -q " $MNT fuse" /proc/mounts || fail "$opt: mounted anyway"
done

for engine in uring sync; do
  echo "== engine $engine"
  start_vmdkfs "$engine"
  grep -q "engine=$engine" "$LOG" || fail "engine $engine not running"
  ctl ping | grep -x pong >/dev/null || fail "control ping"
  [[ $(stat -c %a "$CTL") == 600 ]] || fail "control socket mode"
  M=$MNT/$DS S=$SRC/$DS

  # Descriptors and sidecars pass through; sizes and blocks are truthful.
  cmp "$M/vol1.vmdk" "$S/vol1.vmdk" || fail "descriptor differs"
  cmp "$M/vol1.vmfd" "$S/vol1.vmfd" || fail "sidecar differs"
  for f in vol1-flat.vmdk vol2-flat.vmdk; do
    [[ $(stat -c '%s %b' "$M/$f") == $(stat -c '%s %b' "$S/$f") ]] \
      || fail "$f size/blocks: $(stat -c '%s %b' "$M/$f") vs $(stat -c '%s %b' "$S/$f")"
  done
  [[ $(stat -c %b "$M/vol2-flat.vmdk") == 0 ]] || fail "sparse file shows blocks"
  [[ $(ls "$M" | sort | tr '\n' ' ') == "vol1-flat.vmdk vol1.vmdk vol1.vmfd vol2-flat.vmdk " ]] \
    || fail "readdir: $(ls "$M")"
  df "$MNT" >/dev/null || fail "statfs"

  # Data written through FUSE equals the backing file.
  head -c 24M /dev/urandom > "$T/data"
  dd if="$T/data" of="$M/data-$engine" bs=1M conv=fsync status=none
  cmp "$T/data" "$S/data-$engine" || fail "buffered write differs in backing file"
  dd if="$T/data" of="$M/direct-$engine" bs=1M oflag=direct conv=fsync status=none
  cmp "$T/data" "$S/direct-$engine" || fail "O_DIRECT write differs in backing file"
  [[ $(sha256sum < "$M/direct-$engine") == $(sha256sum < "$T/data") ]] \
    || fail "read back through FUSE differs"
  # Unaligned write in the middle, read back direct and buffered.
  "$PROBE" write "$M/data-$engine" 12345 7000 66 | grep "^ok 7000" >/dev/null || fail "pwrite"
  cmp <(dd if="$S/data-$engine" bs=1 skip=12345 count=7000 status=none) \
      <(head -c 7000 /dev/zero | tr '\0' 'B') || fail "pwrite content"
  cmp "$M/data-$engine" "$S/data-$engine" || fail "FUSE view differs after pwrite"

  # fsync reaches the backing file (the daemon issues a real fsync).
  before=$(ctl stats | sed 's/.*fsyncs=\([0-9]*\).*/\1/')
  "$PROBE" fsync "$M/data-$engine" | grep "^ok" >/dev/null || fail "fsync"
  after=$(ctl stats | sed 's/.*fsyncs=\([0-9]*\).*/\1/')
  (( after > before )) || fail "fsync not passed to the engine ($before -> $after)"

  # fallocate: punch hole, zero range, extend.
  blocks0=$(stat -c %b "$S/direct-$engine")
  fallocate -p -o 1M -l 2M "$M/direct-$engine" || fail "punch hole"
  blocks1=$(stat -c %b "$S/direct-$engine")
  (( blocks0 - blocks1 == 4096 )) || fail "punch freed $((blocks0 - blocks1)) blocks, want 4096"
  [[ $(stat -c %s "$M/direct-$engine") == $((24 << 20)) ]] || fail "punch changed size"
  cmp <(dd if="$M/direct-$engine" bs=1M skip=1 count=2 status=none) \
      <(head -c 2M /dev/zero) || fail "punched range not zero"
  cmp <(dd if="$M/direct-$engine" bs=1M skip=3 status=none) \
      <(dd if="$T/data" bs=1M skip=3 status=none) || fail "data after hole changed"
  fallocate -z -o 8M -l 1M "$M/direct-$engine" || fail "zero range"
  cmp <(dd if="$S/direct-$engine" bs=1M skip=8 count=1 status=none) \
      <(head -c 1M /dev/zero) || fail "zeroed range not zero"
  fallocate -l 64M "$M/direct-$engine" || fail "fallocate extend"
  [[ $(stat -c '%s %b' "$M/direct-$engine") == $(stat -c '%s %b' "$S/direct-$engine") ]] \
    || fail "size/blocks after fallocate"
  [[ $(stat -c %s "$S/direct-$engine") == $((64 << 20)) ]] || fail "extend size"

  # Namespace and attribute ops.
  mkdir "$M/dir-$engine" && [[ -d $S/dir-$engine ]] || fail mkdir
  echo x > "$M/dir-$engine/a" && mv "$M/dir-$engine/a" "$M/dir-$engine/b" \
    && [[ -f $S/dir-$engine/b ]] || fail rename
  ln -s b "$M/dir-$engine/l" && [[ $(readlink "$M/dir-$engine/l") == b ]] || fail symlink
  ln "$M/dir-$engine/b" "$M/dir-$engine/h" && [[ $(stat -c %h "$S/dir-$engine/b") == 2 ]] || fail link
  chmod 640 "$M/dir-$engine/b" && [[ $(stat -c %a "$S/dir-$engine/b") == 640 ]] || fail chmod
  truncate -s 5000 "$M/dir-$engine/b" && [[ $(stat -c %s "$S/dir-$engine/b") == 5000 ]] || fail truncate
  touch -d '2020-01-02 03:04:05' "$M/dir-$engine/b" \
    && [[ $(stat -c %Y "$S/dir-$engine/b") == $(date -d '2020-01-02 03:04:05' +%s) ]] || fail utimens
  rm "$M/dir-$engine/b" "$M/dir-$engine/h" "$M/dir-$engine/l" && rmdir "$M/dir-$engine" \
    && [[ ! -e $S/dir-$engine ]] || fail "unlink/rmdir"

  # ext4 on a direct-I/O loop device over the extent seen through vmdkfs.
  loop=$(losetup --direct-io=on --show -f "$M/vol1-flat.vmdk")
  LOOPS+=("$loop")
  [[ $(cat "/sys/block/${loop#/dev/}/loop/dio") == 1 ]] || fail "loop direct I/O is off"
  mkfs.ext4 -q -F -E nodiscard "$loop" >/dev/null
  mkdir -p "$T/ext4"
  # noinit_itable, as vdvsd mounts: ext4lazyinit would otherwise zero the
  # inode tables in the background with write-zeroes, which the loop device
  # punches as holes, and the block check below would race it.
  mount -o noinit_itable "$loop" "$T/ext4"; MOUNTS+=("$T/ext4")
  head -c 40M /dev/urandom > "$T/ext4/big"
  for i in $(seq 50); do echo "file $i $engine" > "$T/ext4/small$i"; done
  (cd "$T/ext4" && sha256sum big small* > "$T/sums")
  umount "$T/ext4"; MOUNTS=()
  losetup -d "$loop"; LOOPS=()
  e2fsck -fn "$S/vol1-flat.vmdk" >/dev/null 2>&1 || fail "fsck of the backing extent"
  [[ $(stat -c %b "$S/vol1-flat.vmdk") -ge $((256 * 2048)) ]] || fail "nodiscard extent lost blocks"
  loop=$(losetup --direct-io=on --show -f "$M/vol1-flat.vmdk")
  LOOPS+=("$loop")
  mount -o noinit_itable "$loop" "$T/ext4"; MOUNTS+=("$T/ext4")
  (cd "$T/ext4" && sha256sum -c --quiet "$T/sums") || fail "checksums after remount"
  umount "$T/ext4"; MOUNTS=()
  losetup -d "$loop"; LOOPS=()

  stop_vmdkfs
  rm -f "$SRC/$DS/data-$engine" "$SRC/$DS/direct-$engine"
done
[[ ! -e $CTL ]] || fail "control socket left behind"
echo "PASS"
