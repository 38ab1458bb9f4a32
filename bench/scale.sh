#!/usr/bin/env bash
# Scale (`bench/run.sh scale`; not a test): 100 and then 10,000 volumes on
# the emulated datastore.  Volumes are made directly on disk by
# bench/mkvols (the mock backend's create: descriptor, thin extent,
# sidecar; no mkfs), then for each size: vdvsd start-up time (exec to the
# first answered request), List and Get latency (bench/loadgen, one
# connection; Get cycles over every volume), RSS, and `docker volume ls`
# wall time when the Docker engine is up and /run/docker/plugins/vsphere.sock
# is free.  Create rates: mkvols (backend only) and the full API Create
# (create, attach, mkfs, detach), 4 in parallel.
# Targets at 10,000: List < 50 ms, Get O(1) (same latency as at 100),
# RSS < 64 MiB.
#
# Both sizes are measured in every rep (BENCH_REPS, 3, at least 3), the
# one going first alternating (bench_order); the table shows medians and
# each ratio is the median of same-rep ratios.
#
# Environment: BENCH_VOLUMES (10000), BENCH_SECONDS per latency run (2),
# BENCH_REPS (3), BENCH_DRY_RUN=1 (print the run order and exit).
source "$(dirname "$0")/lib.sh"
BIG=${BENCH_VOLUMES:-10000}
SECS=${BENCH_SECONDS:-2}
REPS=$(bench_reps "${BENCH_REPS:-3}")
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do echo "rep $rep: $(bench_order "$rep" 100 "$BIG") volumes"; done
  exit 0
fi
[ -x "$MKVOLS" ] || { echo "bench: $MKVOLS not built" >&2; exit 1; }

DOCKER_ROW=0
if docker_up; then
  if plugin_sock_free; then DOCKER_ROW=1
  else echo "note: $PLUGIN_SOCK is served by someone else: docker volume ls row skipped" >&2; fi
else
  echo "note: no Docker engine: docker volume ls row skipped" >&2
fi
SOCK=$B/plugins/vsphere.sock
[ $DOCKER_ROW = 1 ] && SOCK=$PLUGIN_SOCK

declare -A M
kv () { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# phase N REP: vdvsd on the datastore of N volumes ($B/root points there).
phase () {
  local n=$1 rep=$2 t0 out
  ln -sfn "root-$n" "$B/root"
  t0=$(date +%s%N)
  start_vdvsd "$SOCK" off --docker-socket none
  "$LOADGEN" -1 -s "$SOCK" /VolumeDriver.List '{}' >/dev/null
  M[start,$n,$rep]=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$(api "$SOCK" VolumeDriver.List '{}' | jq '.Volumes | length')" -eq "$n" ] || { echo "List != $n" >&2; exit 1; }
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 /VolumeDriver.List '{}')
  M[list50,$n,$rep]=$(kv p50_us "$out"); M[list99,$n,$rep]=$(kv p99_us "$out")
  M[listbytes,$n,$rep]=$("$LOADGEN" -1 -s "$SOCK" /VolumeDriver.List '{}' | sed 's/.*bytes=\([0-9]*\).*/\1/')
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 -n "$n" /VolumeDriver.Get '{"Name":"scale%d"}')
  M[get50,$n,$rep]=$(kv p50_us "$out"); M[get99,$n,$rep]=$(kv p99_us "$out")
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 -n "$n" /VolumeDriver.Path '{"Name":"scale%d"}')
  M[path50,$n,$rep]=$(kv p50_us "$out")
  if [ $DOCKER_ROW = 1 ]; then
    local runs=()
    for _ in 1 2 3; do runs+=("$(ms_of "$DOCKER" volume ls -q)"); done
    M[dls,$n,$rep]=$(printf '%s\n' "${runs[@]}" | median)
    M[dlsn,$n,$rep]=$("$DOCKER" volume ls -q --filter driver=vsphere | grep -c '^scale' || true)
  fi
  read -r M[rss,$n,$rep] M[hwm,$n,$rep] <<<"$(rss "$VDVSD_PID")"
  stop_vdvsd
}

out=$("$MKVOLS" "$B/root-100" datastore1 scale 0 100)
out=$("$MKVOLS" "$B/root-$BIG" datastore1 scale 0 "$BIG")
mk_rate=$(kv per_s "$out")
KEYS="start list50 list99 listbytes get50 get99 path50 rss hwm"
[ $DOCKER_ROW = 1 ] && KEYS="$KEYS dls dlsn"
for rep in $(seq 1 "$REPS"); do
  for n in $(bench_order "$rep" 100 "$BIG"); do phase "$n" "$rep"; done
done
# Medians over reps; R[key] = median of the same-rep ratios BIG/100.
declare -A R
for k in $KEYS; do
  for n in 100 "$BIG"; do
    M[$k,$n]=$(for rep in $(seq 1 "$REPS"); do echo "${M[$k,$n,$rep]}"; done | median)
  done
  R[$k]=$(for rep in $(seq 1 "$REPS"); do
            awk -v a="${M[$k,$BIG,$rep]}" -v b="${M[$k,100,$rep]}" 'BEGIN { if (b > 0) print a / b; else print 0 }'
          done | median)
done
ln -sfn root-100 "$B/root"

# API create rate: the full Create (attach + mkfs + detach), 4 at a time.
start_vdvsd "$SOCK" off --docker-socket none
t0=$(date +%s%N)
seq 0 19 | xargs -P 4 -I{} curl -sS --max-time 120 --unix-socket "$SOCK" \
  -d '{"Name":"apic{}","Opts":{"size":"10gb"}}' http://plugin/VolumeDriver.Create > "$B/create.out"
api_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(grep -o '"Err":""' "$B/create.out" | wc -l)" -eq 20 ] || { echo "API create failed: $(head -c 300 "$B/create.out")" >&2; exit 1; }
api_rate=$(awk -v ms=$api_ms 'BEGIN { printf "%.1f", 20 * 1000 / ms }')
stop_vdvsd

ratio () { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
rr () { awk -v r="${R[$1]}" 'BEGIN { if (r > 0) printf "%.2fx", r; else print "-" }'; }
ms () { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
echo
echo "Scale: vdvsd (mock, vmdkfs off) with 100 and $BIG volumes; $(nproc) vCPU; latencies: 1 connection, ${SECS} s, p50 / p99;"
echo "medians of $REPS reps, sizes alternating first; ratio = median of same-rep ratios"
echo
printf '| %-34s | %14s | %14s | %12s | %-24s |\n' metric "100 volumes" "$BIG volumes" "ratio" target
echo "|------------------------------------|----------------|----------------|--------------|--------------------------|"
row () { printf '| %-34s | %14s | %14s | %12s | %-24s |\n' "$@"; }
row "vdvsd start-up (exec to 1st List)" "${M[start,100]} ms" "${M[start,$BIG]} ms" "$(rr start)" ""
row "List p50" "$(ms "${M[list50,100]}")" "$(ms "${M[list50,$BIG]}")" "$(rr list50)" \
  "< 50 ms: $(awk -v u="${M[list50,$BIG]}" 'BEGIN { print (u < 50000) ? "met" : "missed" }')"
row "List p99" "$(ms "${M[list99,100]}")" "$(ms "${M[list99,$BIG]}")" "$(rr list99)" \
  "< 50 ms: $(awk -v u="${M[list99,$BIG]}" 'BEGIN { print (u < 50000) ? "met" : "missed" }')"
row "List reply size" "${M[listbytes,100]} B" "${M[listbytes,$BIG]} B" "" ""
row "Get p50 (cycling over all)" "$(ms "${M[get50,100]}")" "$(ms "${M[get50,$BIG]}")" "$(rr get50)" \
  "O(1): $(awk -v a="${M[get50,$BIG]}" -v b="${M[get50,100]}" 'BEGIN { print (a < 2 * b) ? "met" : "missed" }')"
row "Get p99" "$(ms "${M[get99,100]}")" "$(ms "${M[get99,$BIG]}")" "$(rr get99)" ""
row "Path p50" "$(ms "${M[path50,100]}")" "$(ms "${M[path50,$BIG]}")" "$(rr path50)" ""
row "VmRSS / VmHWM (MiB)" "${M[rss,100]} / ${M[hwm,100]}" "${M[rss,$BIG]} / ${M[hwm,$BIG]}" "$(rr hwm)" \
  "< 64 MiB: $(awk -v h="${M[hwm,$BIG]}" 'BEGIN { print (h < 64) ? "met" : "missed" }')"
if [ $DOCKER_ROW = 1 ]; then
  row "docker volume ls (wall, median 3)" "${M[dls,100]} ms" "${M[dls,$BIG]} ms" "$(rr dls)" \
    "lists ${M[dlsn,$BIG]}"
else
  row "docker volume ls" "skipped" "skipped" "" ""
fi
echo
echo "create rate: backend only (mkvols, 8 threads): ${mk_rate} volumes/s;" \
     "API Create of 10 GiB thin (attach + mkfs + detach, 4 parallel): ${api_rate} volumes/s"
