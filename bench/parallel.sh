#!/usr/bin/env bash
# Parallel starts (`bench/run.sh parallel`; not a test): BENCH_PARALLEL (50)
# volumes, then that many `docker run --rm -v volN:/d IMAGE true` started
# at once, one container per volume: total wall time and the slowest start
# (each run's own wall time), vdvsd (emulated datastore, vmdkfs, 1 GiB thin
# volumes) vs Docker's local driver, in the same run.  BENCH_REPS reps (3,
# at least 3); both drivers in every rep, the first alternating
# (bench_order); medians, and ratio = median of same-rep ratios.  Skipped
# without the engine or when /run/docker/plugins/vsphere.sock is served by
# someone else.  BENCH_DRY_RUN=1 prints the run order and exits.
source "$(dirname "$0")/lib.sh"
N=${BENCH_PARALLEL:-50}
REPS=$(bench_reps "${BENCH_REPS:-3}")
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do echo "rep $rep: $(bench_order "$rep" local vsphere)"; done
  exit 0
fi
engine_bench parallel par
start_vdvsd "$PLUGIN_SOCK" auto --docker-socket /var/run/docker.sock

# Results: one line per rep and driver: "drv rep create total slowest median".
R=$B/runs
: > "$R"
for rep in $(seq 1 "$REPS"); do
  for drv in $(bench_order "$rep" local vsphere); do
    p=par${drv:0:1}$rep
    opts=(); [ $drv = vsphere ] && opts=(-o size=1gb)
    t0=$(now_ms)
    seq 1 "$N" | xargs -P 8 -I{} "$DOCKER" volume create --driver "$drv" --name "$p{}-$S" "${opts[@]}" >/dev/null
    create=$(( $(now_ms) - t0 ))
    out=$B/$drv-$rep
    mkdir -p "$out"
    t0=$(now_ms)
    runs=()
    for i in $(seq 1 "$N"); do
      ( s=$(date +%s%N)
        "$DOCKER" run --rm --network none -v "$p$i-$S:/d" "$IMAGE" true >/dev/null 2>"$out/$i.err" \
          && echo $(( ($(date +%s%N) - s) / 1000000 )) > "$out/$i.ms" ) &
      runs+=($!)
    done
    wait "${runs[@]}"   # not a bare wait: vdvsd is a child of this shell too
    total=$(( $(now_ms) - t0 ))
    ok=$(ls "$out"/*.ms 2>/dev/null | wc -l)
    [ "$ok" -eq "$N" ] || { echo "$drv rep $rep: $((N - ok)) runs failed: $(cat "$out"/*.err | sort | uniq -c | head -3)" >&2; exit 1; }
    echo "$drv $rep $create $total $(cat "$out"/*.ms | sort -n | tail -1) $(cat "$out"/*.ms | median)" >> "$R"
    seq 1 "$N" | xargs -P 8 -I{} "$DOCKER" volume rm "$p{}-$S" >/dev/null
  done
done
read -r rss hwm <<<"$(rss "$VDVSD_PID")"
stop_vdvsd

# row LABEL COLUMN: medians of both drivers and of the same-rep ratios.
row () {
  awk -v label="$1" -v col="$2" '
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { t[$1, $2] = $col; reps[$2] = 1 }
    END { for (r in reps) { n++; l[n] = t["local", r]; v[n] = t["vsphere", r]; q[n] = t["vsphere", r] / t["local", r] }
          printf "| %-40s | %6.0f ms | %6.0f ms | %6.2fx |\n", label, med(l, n), med(v, n), med(q, n) }' "$R"
}
echo
echo "Parallel starts: $N containers on $N volumes at once; $(nproc) vCPU; vsphere = vdvsd (emulated datastore, vmdkfs, 1 GiB thin);"
echo "medians of $REPS reps, drivers alternating first; ratio = median of same-rep ratios"
echo
printf '| %-40s | %9s | %9s | %7s |\n' metric local vsphere ratio
echo "|------------------------------------------|-----------|-----------|---------|"
row "create $N volumes (8 at a time)" 3
row "all $N started and exited (wall)" 4
row "slowest docker run" 5
row "median docker run" 6
echo
echo "vdvsd VmRSS / VmHWM after the runs: $rss / $hwm MiB"
