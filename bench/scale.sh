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
# Environment: BENCH_VOLUMES (10000), BENCH_SECONDS per latency run (2).
source "$(dirname "$0")/lib.sh"
BIG=${BENCH_VOLUMES:-10000}
SECS=${BENCH_SECONDS:-2}
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

phase () { # N
  local n=$1 t0 out
  t0=$(date +%s%N)
  start_vdvsd "$SOCK" off --docker-socket none
  "$LOADGEN" -1 -s "$SOCK" /VolumeDriver.List '{}' >/dev/null
  M[start,$n]=$(( ($(date +%s%N) - t0) / 1000000 ))
  [ "$(api "$SOCK" VolumeDriver.List '{}' | jq '.Volumes | length')" -eq "$n" ] || { echo "List != $n" >&2; exit 1; }
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 /VolumeDriver.List '{}')
  M[list50,$n]=$(kv p50_us "$out"); M[list99,$n]=$(kv p99_us "$out")
  M[listbytes,$n]=$("$LOADGEN" -1 -s "$SOCK" /VolumeDriver.List '{}' | sed 's/.*bytes=\([0-9]*\).*/\1/')
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 -n "$n" /VolumeDriver.Get '{"Name":"scale%d"}')
  M[get50,$n]=$(kv p50_us "$out"); M[get99,$n]=$(kv p99_us "$out")
  out=$("$LOADGEN" -s "$SOCK" -c 1 -d "$SECS" -w 0.3 -n "$n" /VolumeDriver.Path '{"Name":"scale%d"}')
  M[path50,$n]=$(kv p50_us "$out")
  if [ $DOCKER_ROW = 1 ]; then
    local runs=()
    for _ in 1 2 3; do runs+=("$(ms_of "$DOCKER" volume ls -q)"); done
    M[dls,$n]=$(printf '%s\n' "${runs[@]}" | median)
    M[dlsn,$n]=$("$DOCKER" volume ls -q --filter driver=vsphere | grep -c '^scale' || true)
  fi
  read -r M[rss,$n] M[hwm,$n] <<<"$(rss "$VDVSD_PID")"
  stop_vdvsd
}

out=$("$MKVOLS" "$B/root" datastore1 scale 0 100)
phase 100
out=$("$MKVOLS" "$B/root" datastore1 scale 100 $((BIG - 100)))
mk_rate=$(kv per_s "$out")
phase "$BIG"

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
ms () { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
echo
echo "Scale: vdvsd (mock, vmdkfs off) with 100 and $BIG volumes; $(nproc) vCPU; latencies: 1 connection, ${SECS} s, p50 / p99"
echo
printf '| %-34s | %14s | %14s | %12s | %-24s |\n' metric "100 volumes" "$BIG volumes" "ratio" target
echo "|------------------------------------|----------------|----------------|--------------|--------------------------|"
row () { printf '| %-34s | %14s | %14s | %12s | %-24s |\n' "$@"; }
row "vdvsd start-up (exec to 1st List)" "${M[start,100]} ms" "${M[start,$BIG]} ms" "$(ratio "${M[start,$BIG]}" "${M[start,100]}")" ""
row "List p50" "$(ms "${M[list50,100]}")" "$(ms "${M[list50,$BIG]}")" "$(ratio "${M[list50,$BIG]}" "${M[list50,100]}")" \
  "< 50 ms: $(awk -v u="${M[list50,$BIG]}" 'BEGIN { print (u < 50000) ? "met" : "missed" }')"
row "List p99" "$(ms "${M[list99,100]}")" "$(ms "${M[list99,$BIG]}")" "$(ratio "${M[list99,$BIG]}" "${M[list99,100]}")" \
  "< 50 ms: $(awk -v u="${M[list99,$BIG]}" 'BEGIN { print (u < 50000) ? "met" : "missed" }')"
row "List reply size" "${M[listbytes,100]} B" "${M[listbytes,$BIG]} B" "" ""
row "Get p50 (cycling over all)" "$(ms "${M[get50,100]}")" "$(ms "${M[get50,$BIG]}")" "$(ratio "${M[get50,$BIG]}" "${M[get50,100]}")" \
  "O(1): $(awk -v a="${M[get50,$BIG]}" -v b="${M[get50,100]}" 'BEGIN { print (a < 2 * b) ? "met" : "missed" }')"
row "Get p99" "$(ms "${M[get99,100]}")" "$(ms "${M[get99,$BIG]}")" "$(ratio "${M[get99,$BIG]}" "${M[get99,100]}")" ""
row "Path p50" "$(ms "${M[path50,100]}")" "$(ms "${M[path50,$BIG]}")" "$(ratio "${M[path50,$BIG]}" "${M[path50,100]}")" ""
row "VmRSS / VmHWM (MiB)" "${M[rss,100]} / ${M[hwm,100]}" "${M[rss,$BIG]} / ${M[hwm,$BIG]}" "$(ratio "${M[hwm,$BIG]}" "${M[hwm,100]}")" \
  "< 64 MiB: $(awk -v h="${M[hwm,$BIG]}" 'BEGIN { print (h < 64) ? "met" : "missed" }')"
if [ $DOCKER_ROW = 1 ]; then
  row "docker volume ls (wall, median 3)" "${M[dls,100]} ms" "${M[dls,$BIG]} ms" "$(ratio "${M[dls,$BIG]}" "${M[dls,100]}")" \
    "lists ${M[dlsn,$BIG]}"
else
  row "docker volume ls" "skipped" "skipped" "" ""
fi
echo
echo "create rate: backend only (mkvols, 8 threads): ${mk_rate} volumes/s;" \
     "API Create of 10 GiB thin (attach + mkfs + detach, 4 parallel): ${api_rate} volumes/s"
