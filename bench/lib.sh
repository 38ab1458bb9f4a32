# Shared helpers of the control-path benchmarks (sourced, bash).  Each
# benchmark gets private roots under $B (datastore, mounts, state, emulated
# /dev and /sys) and leaves no daemon, mount or loop device behind.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${VDVS_BUILD:-$TOP/build}
VDVSD=$BUILD/src/vdvsd
LOADGEN=$BUILD/bench/loadgen
MKVOLS=$BUILD/bench/mkvols
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}
IMAGE=${VDVS_TEST_IMAGE:-vdvs-busybox:latest}
PLUGIN_SOCK=/run/docker/plugins/vsphere.sock

# bench_reps N: N, refused below 3 (a median of fewer says little).
bench_reps () {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 3 ] || { echo "bench: BENCH_REPS=$1: at least 3 reps" >&2; exit 2; }
  echo "$1"
}
# bench_order REP A B: the compared targets in the order rep REP runs them;
# the first alternates from rep to rep, so a drift of the shared machine
# (or a warm cache) does not always favour the same one.
bench_order () { if [ $(( $1 % 2 )) -eq 1 ]; then echo "$2 $3"; else echo "$3 $2"; fi; }

# BENCH_DRY_RUN=1: the scripts print their run order and exit before
# touching the machine (root and a build are not needed for that).
if [ "${BENCH_DRY_RUN:-0}" != 1 ]; then
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (loop devices, mounts)" >&2; exit 1; }
[ -x "$VDVSD" ] && [ -x "$LOADGEN" ] || { echo "bench: build first (make build)" >&2; exit 1; }
fi

B=$(mktemp -d /tmp/vdvs-bench.XXXXXX)
LOOPS_BEFORE=$(losetup -n -O NAME 2>/dev/null | sort | tr '\n' ' ')
VDVSD_PID=
bench_cleanup_fns=()
bench_on_exit () { bench_cleanup_fns+=("$1"); }

_bench_cleanup () {
  local rc=$?
  set +e
  for ((i=${#bench_cleanup_fns[@]}-1; i>=0; i--)); do eval "${bench_cleanup_fns[$i]}"; done
  stop_vdvsd
  while read -r mp; do umount -l "$mp"; done < <(awk -v t="$B" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
  for l in $(losetup -n -O NAME 2>/dev/null | sort); do
    case " $LOOPS_BEFORE " in *" $l "*) continue ;; esac
    # Ours only: a loop over a file under $B (one over vmdkfs shows the
    # path inside the FUSE mount, so it is reported, not touched).
    case "$(losetup -n -O BACK-FILE "$l")" in *"$B"*) losetup -d "$l" ;; esac
  done
  rm -rf "$B"
  exit $rc
}
trap _bench_cleanup EXIT

now_ms () { date +%s%3N; }

# start_vdvsd SOCKET VMDKFS(off|auto) [extra args]: private roots under $B.
start_vdvsd () {
  local sock=$1 vmdkfs=$2; shift 2
  mkdir -p "$B/run" "$(dirname "$sock")"
  "$VDVSD" --socket "$sock" --mount-root "$B/mnt" --state-dir "$B/state" \
    --log-level "${BENCH_LOG_LEVEL:-info}" \
    -o "root=$B/root" -o "sysfs-root=$B/sys" -o "dev-root=$B/dev" -o "vmdkfs=$vmdkfs" \
    -o "vmdkfs-mount=$B/vmfs" -o "vmdkfs-ctl=$B/run/vmdkfs.ctl" \
    -o vm-name=benchvm -o datastores=datastore1 "$@" >>"$B/vdvsd.log" 2>&1 &
  VDVSD_PID=$!
  VDVSD_SOCK=$sock
  for _ in $(seq 1 600); do
    "$LOADGEN" -1 -s "$sock" /VolumeDriver.Capabilities >/dev/null 2>&1 && return 0
    kill -0 "$VDVSD_PID" 2>/dev/null || { tail -5 "$B/vdvsd.log" >&2; echo "vdvsd exited" >&2; exit 1; }
    sleep 0.01
  done
  echo "vdvsd did not answer on $sock" >&2; exit 1
}

stop_vdvsd () {
  [ -n "${VDVSD_PID:-}" ] || return 0
  kill -TERM "$VDVSD_PID" 2>/dev/null || true
  wait "$VDVSD_PID" 2>/dev/null || true
  VDVSD_PID=
}

# api SOCK ENDPOINT JSON
api () { curl -sS --max-time 120 --unix-socket "$1" -d "$3" "http://plugin/$2"; }

# rss PID: "VmRSS VmHWM" in MiB
rss () {
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f %.1f", r / 1024, h / 1024 }' "/proc/$1/status"
}

# The plugin socket Docker looks at is free: no file, or nobody answers.
plugin_sock_free () {
  [ -e "$PLUGIN_SOCK" ] || return 0
  ! curl -s --max-time 2 --unix-socket "$PLUGIN_SOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1
}

docker_up () {
  [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1
}

d () { "$DOCKER" "$@"; }

# engine_bench NAME PREFIX: set-up of a benchmark through the Docker engine.
# Skips (exit 0) without an engine and image, or when the plugin socket is
# served by someone else; S is this run's suffix, and volumes named
# PREFIX{l,v}N-$S are removed on exit.
engine_bench () {
  docker_up || { echo "$1: no Docker engine or image $IMAGE: skipped (scripts/dockerd.sh)"; exit 0; }
  plugin_sock_free || { echo "$1: $PLUGIN_SOCK is served by someone else: skipped"; exit 0; }
  S=$$
  bench_on_exit "for v in \$(d volume ls -q | grep -E \"^$2(l|v)[0-9]+-\$S\\\$\"); do d volume rm -f \$v >/dev/null 2>&1; done"
}

# median of the numbers on stdin
median () { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ms_of CMD...: wall time of CMD in ms (its output discarded)
ms_of () {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; return 1; }
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
