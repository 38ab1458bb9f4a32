#!/usr/bin/env bash
# Data-path benchmark (`make bench`; not a test).  fio on four targets, in
# one run:
#   (a) plain     a plain directory on the host filesystem
#   (b) kloop     ext4 on a kernel loop device (direct I/O) over a plain file
#   (c) vmdkfs    a volume created and mounted by vdvsd (mock backend): ext4
#                 on a direct-I/O loop over the -flat.vmdk seen through
#                 vmdkfs, io_uring engine -- the full data path
#   (d) vmdkfs-sync  the same with vmdkfs's pread/pwrite engine
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
set -euo pipefail

[[ $EUID -eq 0 ]] || { echo "bench/datapath.sh: needs root" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench/datapath.sh: needs fio" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VDVS_BUILD:-$ROOT/build}
VDVSD=$BUILD/src/vdvsd
W=${BENCH_DIR:-/var/tmp/vdvs-bench}
RUNTIME=${BENCH_RUNTIME:-10}
TARGETS=${BENCH_TARGETS:-plain kloop vmdkfs vmdkfs-sync}
SIZE=1G
IMG_SIZE=2G

rm -rf "$W"
mkdir -p "$W/results"
VDVSD_PID=
VOL_SOCK=
LOOPS=()
MOUNTS=()

api () {  # api SOCKET ENDPOINT JSON
  curl -sS --max-time 120 --unix-socket "$1" -d "$3" "http://plugin/$2"
}

cleanup () {
  set +e
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  MOUNTS=()
  for l in "${LOOPS[@]}"; do losetup -d "$l"; done
  LOOPS=()
  if [[ -n $VDVSD_PID ]]; then
    # Unmount and remove the volume through the plugin, then stop it (it
    # stops the vmdkfs it started).
    api "$VOL_SOCK" VolumeDriver.Unmount '{"Name":"bench","ID":"bench"}' >/dev/null
    api "$VOL_SOCK" VolumeDriver.Remove '{"Name":"bench"}' >/dev/null
    kill -TERM "$VDVSD_PID"
    wait "$VDVSD_PID"
    VDVSD_PID=
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

# setup_vmdkfs ENGINE: the full data path, built by vdvsd itself: a 2 GiB
# zeroedthick volume created (attach, mkfs, detach) and mounted through the
# plugin API, vmdkfs started by vdvsd with ENGINE.
setup_vmdkfs () {
  local d=$W/vdvs-$1 mp
  mkdir -p "$d"
  VOL_SOCK=$d/plugin.sock
  "$VDVSD" --socket "$VOL_SOCK" --mount-root "$d/mnt" --state-dir "$d/state" \
    --docker-socket none --log-level warn \
    -o root="$d/root" -o sysfs-root="$d/sys" -o dev-root="$d/dev" \
    -o vmdkfs-mount="$d/vmfs" -o vmdkfs-ctl="$d/vmdkfs.ctl" \
    -o "vmdkfs-opts=--engine=$1 ${BENCH_VMDKFS_OPTS:-}" >"$d/vdvsd.log" 2>&1 &
  VDVSD_PID=$!
  for _ in $(seq 100); do [[ -S $VOL_SOCK ]] && break; sleep 0.1; done
  [[ -S $VOL_SOCK ]] || { cat "$d/vdvsd.log" >&2; exit 1; }
  api "$VOL_SOCK" VolumeDriver.Create \
    '{"Name":"bench","Opts":{"size":"'"${IMG_SIZE}"'b","diskformat":"zeroedthick"}}' \
    | grep -q '"Err":""' || { cat "$d/vdvsd.log" >&2; exit 1; }
  mp=$(api "$VOL_SOCK" VolumeDriver.Mount '{"Name":"bench","ID":"bench"}' \
       | sed -n 's/.*"Mountpoint":"\([^"]*\)".*/\1/p')
  [[ -n $mp ]] || { cat "$d/vdvsd.log" >&2; exit 1; }
  # vmdkfs logs to vdvsd's stderr: make sure the engine asked for runs.
  grep -q "engine started engine=$1" "$d/vdvsd.log" \
    || { echo "bench: vmdkfs is not running the $1 engine" >&2; cat "$d/vdvsd.log" >&2; exit 1; }
  TARGET_DIR=$mp
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
          "vmdkfs": "(c) vdvs volume (vmdkfs uring)",
          "vmdkfs-sync": "(d) vdvs volume (vmdkfs sync)"}
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
