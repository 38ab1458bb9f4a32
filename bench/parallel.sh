#!/usr/bin/env bash
# Parallel starts (`bench/run.sh parallel`; not a test): BENCH_PARALLEL (50)
# volumes, then that many `docker run --rm -v volN:/d IMAGE true` started
# at once, one container per volume: total wall time and the slowest start
# (each run's own wall time), vdvsd (emulated datastore, vmdkfs, 1 GiB thin
# volumes) vs Docker's local driver, in the same run.  Skipped without the
# engine or when /run/docker/plugins/vsphere.sock is served by someone else.
source "$(dirname "$0")/lib.sh"
N=${BENCH_PARALLEL:-50}
engine_bench parallel par
start_vdvsd "$PLUGIN_SOCK" auto --docker-socket /var/run/docker.sock

declare -A TOTAL SLOW MED CREATE
for drv in local vsphere; do
  p=par${drv:0:1}
  opts=(); [ $drv = vsphere ] && opts=(-o size=1gb)
  t0=$(now_ms)
  seq 1 "$N" | xargs -P 8 -I{} "$DOCKER" volume create --driver "$drv" --name "$p{}-$S" "${opts[@]}" >/dev/null
  CREATE[$drv]=$(( $(now_ms) - t0 ))
  mkdir -p "$B/$drv"
  t0=$(now_ms)
  runs=()
  for i in $(seq 1 "$N"); do
    ( s=$(date +%s%N)
      "$DOCKER" run --rm --network none -v "$p$i-$S:/d" "$IMAGE" true >/dev/null 2>"$B/$drv/$i.err" \
        && echo $(( ($(date +%s%N) - s) / 1000000 )) > "$B/$drv/$i.ms" ) &
    runs+=($!)
  done
  wait "${runs[@]}"   # not a bare wait: vdvsd is a child of this shell too
  TOTAL[$drv]=$(( $(now_ms) - t0 ))
  ok=$(ls "$B/$drv"/*.ms 2>/dev/null | wc -l)
  [ "$ok" -eq "$N" ] || { echo "$drv: $((N - ok)) runs failed: $(cat "$B/$drv"/*.err | sort | uniq -c | head -3)" >&2; exit 1; }
  SLOW[$drv]=$(cat "$B/$drv"/*.ms | sort -n | tail -1)
  MED[$drv]=$(cat "$B/$drv"/*.ms | median)
  seq 1 "$N" | xargs -P 8 -I{} "$DOCKER" volume rm "$p{}-$S" >/dev/null
done
read -r rss hwm <<<"$(rss "$VDVSD_PID")"
stop_vdvsd

ratio () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo
echo "Parallel starts: $N containers on $N volumes at once; $(nproc) vCPU; vsphere = vdvsd (emulated datastore, vmdkfs, 1 GiB thin)"
echo
printf '| %-40s | %9s | %9s | %7s |\n' metric local vsphere ratio
echo "|------------------------------------------|-----------|-----------|---------|"
printf '| %-40s | %6s ms | %6s ms | %7s |\n' "create $N volumes (8 at a time)" "${CREATE[local]}" "${CREATE[vsphere]}" "$(ratio "${CREATE[vsphere]}" "${CREATE[local]}")"
printf '| %-40s | %6s ms | %6s ms | %7s |\n' "all $N started and exited (wall)" "${TOTAL[local]}" "${TOTAL[vsphere]}" "$(ratio "${TOTAL[vsphere]}" "${TOTAL[local]}")"
printf '| %-40s | %6s ms | %6s ms | %7s |\n' "slowest docker run" "${SLOW[local]}" "${SLOW[vsphere]}" "$(ratio "${SLOW[vsphere]}" "${SLOW[local]}")"
printf '| %-40s | %6s ms | %6s ms | %7s |\n' "median docker run" "${MED[local]}" "${MED[vsphere]}" "$(ratio "${MED[vsphere]}" "${MED[local]}")"
echo
echo "vdvsd VmRSS / VmHWM after the runs: $rss / $hwm MiB"
