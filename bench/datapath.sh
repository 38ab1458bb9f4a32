#!/usr/bin/env bash
# Data-path benchmark (`make bench`; not a test).  fio on four targets, in
# one run:
#   (a) plain     a plain directory on the host filesystem
#   (b) kloop     ext4 on a kernel loop device (direct I/O) over a plain file
#   (c) vmdkfs    ext4 on loop (direct I/O) over a -flat.vmdk seen through
#                 vmdkfs, io_uring engine
#   (d) vmdkfs-sync  the same with the pread/pwrite engine
# Jobs (ioengine=io_uring, direct=1, 1 GiB file, runtime per job):
#   seqwrite  1 MiB sequential write, end_fsync      -> MiB/s
#   seqread   1 MiB sequential read                  -> MiB/s
#   randread  4 KiB random read, iodepth 32          -> IOPS
#   randwrite 4 KiB random write, iodepth 32         -> IOPS
# Prints a table and the ratios (c)/(b), (c)/(a), (c)/(d).
#
# Environment: VDVS_BUILD (build dir), BENCH_DIR (work dir on the host
# filesystem, default /var/tmp/vdvs-bench), BENCH_RUNTIME (seconds per
# job, default 10), BENCH_VMDKFS_OPTS (extra vmdkfs options, to compare
# settings), BENCH_TARGETS (default "plain kloop vmdkfs vmdkfs-sync").
# To measure a volume mounted by vdvsd instead of (c), replace the body of
# setup_vmdkfs (it only has to set TARGET_DIR to a mounted directory).
set -euo pipefail

[[ $EUID -eq 0 ]] || { echo "bench/datapath.sh: needs root" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench/datapath.sh: needs fio" >&2; exit 1; }
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BUILD=${VDVS_BUILD:-$ROOT/build}
VMDKFS=$BUILD/fuse/vmdkfs
W=${BENCH_DIR:-/var/tmp/vdvs-bench}
RUNTIME=${BENCH_RUNTIME:-10}
TARGETS=${BENCH_TARGETS:-plain kloop vmdkfs vmdkfs-sync}
SIZE=1G
IMG_SIZE=2G

rm -rf "$W"
mkdir -p "$W/results"
VMDKFS_PID=
LOOPS=()
MOUNTS=()

cleanup () {
  set +e
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  MOUNTS=()
  for l in "${LOOPS[@]}"; do losetup -d "$l"; done
  LOOPS=()
  if [[ -n $VMDKFS_PID ]]; then
    kill -TERM "$VMDKFS_PID"
    wait "$VMDKFS_PID"
    VMDKFS_PID=
  fi
}
trap 'cleanup; rm -rf "$W"' EXIT

# ext4_on_loop FILE DIR: direct-I/O loop on FILE, ext4 on it, mounted at DIR.
ext4_on_loop () {
  local loop
  loop=$(losetup --direct-io=on --show -f "$1")
  LOOPS+=("$loop")
  mkfs.ext4 -q -F -E nodiscard "$loop" >/dev/null
  mkdir -p "$2"
  mount "$loop" "$2"
  MOUNTS+=("$2")
}

# Each setup_* leaves the directory to test in TARGET_DIR.  They run in
# this shell (not in $(...)) so that the daemons, loops and mounts they
# start are recorded for cleanup.
setup_plain () {
  mkdir -p "$W/plain"
  TARGET_DIR=$W/plain
}

setup_kloop () {
  fallocate -l "$IMG_SIZE" "$W/kloop.img"
  ext4_on_loop "$W/kloop.img" "$W/kloop.mnt"
  TARGET_DIR=$W/kloop.mnt
}

# setup_vmdkfs ENGINE: the full data path as the mock backend builds it.
setup_vmdkfs () {
  local src=$W/ds-$1 mnt=$W/vmfs-$1 dir=datastore1/dockvols/bench
  mkdir -p "$src/$dir" "$mnt"
  fallocate -l "$IMG_SIZE" "$src/$dir/bench-flat.vmdk"
  # shellcheck disable=SC2086  # BENCH_VMDKFS_OPTS is a word list
  "$VMDKFS" --engine="$1" ${BENCH_VMDKFS_OPTS:-} --control="$W/ctl-$1" --pidfile="$W/pid-$1" \
    --log-level=warn "$src" "$mnt" >"$W/vmdkfs-$1.log" 2>&1 &
  VMDKFS_PID=$!
  for _ in $(seq 100); do [[ -s $W/pid-$1 ]] && break; sleep 0.1; done
  [[ -s $W/pid-$1 ]] || { cat "$W/vmdkfs-$1.log" >&2; exit 1; }
  ext4_on_loop "$mnt/$dir/bench-flat.vmdk" "$W/vol-$1"
  TARGET_DIR=$W/vol-$1
}

setup_target () {
  case $1 in
    plain) setup_plain ;;
    kloop) setup_kloop ;;
    vmdkfs) setup_vmdkfs uring ;;
    vmdkfs-sync) setup_vmdkfs sync ;;
  esac
}

JOBS="seqwrite seqread randread randwrite"

run_job () {  # run_job TARGET DIR JOB
  local args=(--name="$3" --directory="$2" --filename=fio.dat --size="$SIZE"
              --ioengine=io_uring --direct=1 --runtime="$RUNTIME" --time_based
              --group_reporting --output-format=json
              --output="$W/results/$1.$3.json")
  case $3 in
    seqwrite) args+=(--rw=write --bs=1M --iodepth=8 --end_fsync=1) ;;
    seqread) args+=(--rw=read --bs=1M --iodepth=8) ;;
    randread) args+=(--rw=randread --bs=4k --iodepth=32) ;;
    randwrite) args+=(--rw=randwrite --bs=4k --iodepth=32) ;;
  esac
  fio "${args[@]}" >/dev/null
}

for target in $TARGETS; do
  echo "bench: $target ..." >&2
  setup_target "$target"
  for job in $JOBS; do
    run_job "$target" "$TARGET_DIR" "$job"
  done
  cleanup
done

python3 - "$W/results" $TARGETS <<'EOF'
import json, os, sys

rdir, targets = sys.argv[1], sys.argv[2:]
jobs = [("seqwrite", "write", "MiB/s"), ("seqread", "read", "MiB/s"),
        ("randread", "read", "IOPS"), ("randwrite", "write", "IOPS")]
labels = {"plain": "(a) plain file", "kloop": "(b) ext4/kernel loop",
          "vmdkfs": "(c) ext4/loop/vmdkfs uring",
          "vmdkfs-sync": "(d) ext4/loop/vmdkfs sync"}
val = {}
for t in targets:
    for job, side, unit in jobs:
        with open(os.path.join(rdir, "%s.%s.json" % (t, job))) as f:
            j = json.load(f)["jobs"][0][side]
        val[t, job] = j["bw_bytes"] / 2**20 if unit == "MiB/s" else j["iops"]

head = "| target | " + " | ".join("%s %s" % (j, u) for j, _, u in jobs) + " |"
print(head)
print("|---" * (len(jobs) + 1) + "|")
for t in targets:
    print("| %s | " % labels.get(t, t)
          + " | ".join("%.0f" % val[t, j] for j, _, _ in jobs) + " |")
for num, den in (("vmdkfs", "kloop"), ("vmdkfs", "plain"),
                 ("vmdkfs", "vmdkfs-sync")):
    if num in targets and den in targets:
        print("| ratio %s / %s | " % (labels[num][:3], labels[den][:3])
              + " | ".join("%.2f" % (val[num, j] / val[den, j])
                           for j, _, _ in jobs) + " |")
EOF
