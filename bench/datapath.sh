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
# All targets are set up first and stay up; then each rep runs every job on
# every target round-robin (the target order rotates per rep), so a burst
# of noise on this shared VM hits all targets of a rep alike.  The table
# shows medians over reps; each ratio is the median of the ratios taken
# within the same rep (as in perf-baselines.md).
#
# Environment: VDVS_BUILD (build dir), BENCH_DIR (work dir on the host
# filesystem, default /var/tmp/vdvs-bench), BENCH_REPS (default 3),
# BENCH_RUNTIME (seconds per job, default 5), BENCH_VMDKFS_OPTS (extra
# vmdkfs options, to compare settings), BENCH_TARGETS (default
# "plain kloop vmdkfs vmdkfs-sync"), BENCH_JOBS (default "seqwrite seqread
# randread randwrite"; e.g. only the sequential ones while iterating).
set -euo pipefail

DRY=${BENCH_DRY_RUN:-0}   # 1: print the run order and exit
[[ $DRY == 1 || $EUID -eq 0 ]] || { echo "bench/datapath.sh: needs root" >&2; exit 1; }
[[ $DRY == 1 ]] || command -v fio >/dev/null || { echo "bench/datapath.sh: needs fio" >&2; exit 1; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VDVS_BUILD:-$ROOT/build}
VDVSD=$BUILD/src/vdvsd
W=${BENCH_DIR:-/var/tmp/vdvs-bench}
RUNTIME=${BENCH_RUNTIME:-5}
REPS=${BENCH_REPS:-3}
[[ $REPS =~ ^[0-9]+$ ]] && (( REPS >= 3 )) || { echo "bench/datapath.sh: BENCH_REPS=$REPS: at least 3 reps" >&2; exit 2; }
TARGETS=${BENCH_TARGETS:-plain kloop vmdkfs vmdkfs-sync}
SIZE=1G
IMG_SIZE=2G
if [[ $DRY == 1 ]]; then
  read -r -a order <<<"$TARGETS"
  for rep in $(seq 1 "$REPS"); do
    echo "rep $rep: each job on ${order[*]}"
    order=("${order[@]:1}" "${order[0]}")
  done
  exit 0
fi

rm -rf "$W"
mkdir -p "$W/results"
VDVSDS=()      # "pid socket" of each vdvsd started
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
  local v pid sock
  for v in "${VDVSDS[@]}"; do
    read -r pid sock <<<"$v"
    # Unmount and remove the volume through the plugin, then stop it (it
    # stops the vmdkfs it started).
    api "$sock" VolumeDriver.Unmount '{"Name":"bench","ID":"bench"}' >/dev/null
    api "$sock" VolumeDriver.Remove '{"Name":"bench"}' >/dev/null
    kill -TERM "$pid"
    wait "$pid"
  done
  VDVSDS=()
}
trap 'cleanup; rm -rf "$W"' EXIT

# The baseline's ext4 is made and mounted as vdvsd makes and mounts a
# volume's (common/mkfs.c, src/mounts.c), so the comparison is of the data
# path, not of file system settings; checked against the real mount below.
MKFS_EXT4_OPTS=(-F -q -E nodiscard,lazy_itable_init=1,lazy_journal_init=1)
MOUNT_EXT4_OPTS=nosuid,nodev,noinit_itable

# ext4_on_loop FILE DIR: direct-I/O loop on FILE, ext4 on it, mounted at DIR.
ext4_on_loop () {
  local loop
  loop=$(losetup --direct-io=on --show -f "$1")
  LOOPS+=("$loop")
  mkfs.ext4 "${MKFS_EXT4_OPTS[@]}" "$loop" >/dev/null
  mkdir -p "$2"
  mount -o "$MOUNT_EXT4_OPTS" "$loop" "$2"
  MOUNTS+=("$2")
}

# mount_opts DIR: the options /proc/self/mounts shows for the mount at DIR.
mount_opts () { awk -v d="$1" '$2 == d { o = $4 } END { print o }' /proc/self/mounts; }

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
  local d=$W/vdvs-$1 mp pid
  local VOL_SOCK=$d/plugin.sock
  mkdir -p "$d"
  "$VDVSD" --socket "$VOL_SOCK" --mount-root "$d/mnt" --state-dir "$d/state" \
    --docker-socket none --log-level warn \
    -o root="$d/root" -o sysfs-root="$d/sys" -o dev-root="$d/dev" \
    -o vmdkfs-mount="$d/vmfs" -o vmdkfs-ctl="$d/vmdkfs.ctl" \
    -o "vmdkfs-opts=--engine=$1 ${BENCH_VMDKFS_OPTS:-}" >"$d/vdvsd.log" 2>&1 &
  pid=$!
  VDVSDS+=("$pid $VOL_SOCK")
  for _ in $(seq 100); do [[ -S $VOL_SOCK ]] && break; sleep 0.1; done
  [[ -S $VOL_SOCK ]] || { cat "$d/vdvsd.log" >&2; exit 1; }
  api "$VOL_SOCK" VolumeDriver.Create \
    '{"Name":"bench","Opts":{"size":"'"${IMG_SIZE}"'b","diskformat":"zeroedthick"}}' \
    | grep '"Err":""' >/dev/null || { cat "$d/vdvsd.log" >&2; exit 1; }
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
    *) echo "bench/datapath.sh: unknown target '$1' (plain kloop vmdkfs vmdkfs-sync)" >&2; exit 2 ;;
  esac
}

JOBS=${BENCH_JOBS:-seqwrite seqread randread randwrite}
for job in $JOBS; do
  case $job in
    seqwrite|seqread|randread|randwrite) ;;
    *) echo "bench/datapath.sh: unknown job '$job' (seqwrite seqread randread randwrite)" >&2; exit 2 ;;
  esac
done

run_job () {  # run_job TARGET DIR JOB REP
  local args=(--name="$3" --directory="$2" --filename=fio.dat --size="$SIZE"
              --ioengine=io_uring --direct=1 --runtime="$RUNTIME" --time_based
              --group_reporting --output-format=json
              --output="$W/results/$1.$3.$4.json")
  case $3 in
    seqwrite) args+=(--rw=write --bs=1M --iodepth=8 --end_fsync=1) ;;
    seqread) args+=(--rw=read --bs=1M --iodepth=8) ;;
    randread) args+=(--rw=randread --bs=4k --iodepth=32) ;;
    randwrite) args+=(--rw=randwrite --bs=4k --iodepth=32) ;;
  esac
  fio "${args[@]}" >/dev/null
}

declare -A DIR
for target in $TARGETS; do
  echo "bench: setting up $target" >&2
  setup_target "$target"
  DIR[$target]=$TARGET_DIR
done
# Same ext4 mount options on the baseline as on the vdvs volume.
for t in vmdkfs vmdkfs-sync; do
  [[ -n ${DIR[kloop]:-} && -n ${DIR[$t]:-} ]] || continue
  ko=$(mount_opts "${DIR[kloop]}"); vo=$(mount_opts "${DIR[$t]}")
  [[ $ko == "$vo" ]] || { echo "bench: kloop mounted with '$ko' but $t with '$vo'" >&2; exit 1; }
done
read -r -a order <<<"$TARGETS"
for rep in $(seq 1 "$REPS"); do
  echo "bench: rep $rep of $REPS (${order[*]})" >&2
  for job in $JOBS; do
    for target in "${order[@]}"; do
      run_job "$target" "${DIR[$target]}" "$job" "$rep"
    done
  done
  order=("${order[@]:1}" "${order[0]}")
done

echo "Data path, $(nproc) vCPU; fio io_uring direct=1, 1 GiB file, ${RUNTIME} s per job;"
echo "medians of $REPS round-robin reps; ratio = median of same-rep ratios"
echo
python3 - "$W/results" "$REPS" "$JOBS" $TARGETS <<'EOF'
import json, os, statistics, sys

rdir, reps, want, targets = (sys.argv[1], int(sys.argv[2]), sys.argv[3].split(),
                             sys.argv[4:])
jobs = [("seqwrite", "write", "MiB/s"), ("seqread", "read", "MiB/s"),
        ("randread", "read", "IOPS"), ("randwrite", "write", "IOPS")]
jobs = [j for j in jobs if j[0] in want]
labels = {"plain": "(a) plain file", "kloop": "(b) ext4/kernel loop",
          "vmdkfs": "(c) vdvs volume (vmdkfs uring)",
          "vmdkfs-sync": "(d) vdvs volume (vmdkfs sync)"}
val = {}     # (target, job, rep) -> MiB/s or IOPS
for t in targets:
    for job, side, unit in jobs:
        for r in range(1, reps + 1):
            with open(os.path.join(rdir, "%s.%s.%d.json" % (t, job, r))) as f:
                j = json.load(f)["jobs"][0][side]
            val[t, job, r] = j["bw_bytes"] / 2**20 if unit == "MiB/s" else j["iops"]
med = lambda t, j: statistics.median(val[t, j, r] for r in range(1, reps + 1))
ratio = lambda a, b, j: statistics.median(val[a, j, r] / val[b, j, r]
                                          for r in range(1, reps + 1))

head = "| target | " + " | ".join("%s %s" % (j, u) for j, _, u in jobs) + " |"
print(head)
print("|---" * (len(jobs) + 1) + "|")
for t in targets:
    print("| %s | " % labels.get(t, t)
          + " | ".join("%.0f" % med(t, j) for j, _, _ in jobs) + " |")
for num, den in (("vmdkfs", "kloop"), ("vmdkfs", "plain"),
                 ("vmdkfs", "vmdkfs-sync")):
    if num in targets and den in targets:
        print("| ratio %s / %s | " % (labels[num][:3], labels[den][:3])
              + " | ".join("%.2f" % ratio(num, den, j) for j, _, _ in jobs)
              + " |")
# Each rep's own ratio, to show how far the median can be trusted here.
if "vmdkfs" in targets and "vmdkfs-sync" in targets:
    print("| (c) / (d) per rep | "
          + " | ".join(" ".join("%.2f" % (val["vmdkfs", j, r]
                                          / val["vmdkfs-sync", j, r])
                                for r in range(1, reps + 1))
                       for j, _, _ in jobs) + " |")
# The issue's targets: (c)/(b) >= 0.7 sequential, >= 0.5 random; uring
# ahead of sync.
goal = {"seqwrite": 0.7, "seqread": 0.7, "randread": 0.5, "randwrite": 0.5}
for num, den, g in (("vmdkfs", "kloop", goal), ("vmdkfs", "vmdkfs-sync", None)):
    if num in targets and den in targets:
        cells = []
        for j, _, _ in jobs:
            want = g[j] if g else 1.0
            r = ratio(num, den, j)
            cells.append("%s %.2f: %s" % (">=" if g else ">", want,
                         "met" if (r >= want if g else r > want) else "missed"))
        print("| target %s / %s | " % (labels[num][:3], labels[den][:3])
              + " | ".join(cells) + " |")
EOF
