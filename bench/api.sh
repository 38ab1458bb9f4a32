#!/usr/bin/env bash
# API stack vs a Go peer (`bench/run.sh api`; not a test).
#
# vdvsd (mock backend, vmdkfs off, 100 volumes created through its API) and
# the Go peer (../shared/peers/go-volume-plugin: net/http + encoding/json,
# 100 volumes created through its API) run side by side; bench/loadgen
# drives each over keep-alive connections on its unix socket, closed loop,
# with 1 and 8 connections, for Get, List (100 volumes), Path and
# Capabilities, plus one connection with loadgen and the server pinned to
# the same vCPU (taskset; "1c").  Servers and endpoints are interleaved
# round-robin, REPS times; the table shows medians, and each ratio is the
# median of the ratios taken within the same rep (the machine is shared
# and noisy).  Each run also reports the server's CPU time per request.
# Target: vdvsd >= 2x the peer's requests/s and <= 0.5x its p99.
#
# Nothing changes between two Gets of the loadgen runs.  A second table,
# "Get after a change", times Gets each of which follows an atomic rewrite
# of that volume's sidecar (same bytes, a new inode and mtime: vdvsd's
# mock must read the files again); the same file operation precedes each
# of the peer's Gets, and only the Get itself is timed.  Same interleaving and reps.
#
# Environment: BENCH_REPS (3, at least 3), BENCH_SECONDS per run (1),
# BENCH_CHANGES (Gets after a change per run, 500), VDVS_PEER_DIR,
# BENCH_DRY_RUN=1 (print the run order and exit).
source "$(dirname "$0")/lib.sh"
REPS=$(bench_reps "${BENCH_REPS:-3}")
CHANGES=${BENCH_CHANGES:-500}
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do
    for ep in Get List Path Capabilities; do
      for c in 1 8 1c; do echo "rep $rep $ep c=$c: $(bench_order "$rep" vdvsd peer)"; done
    done
    echo "rep $rep Get-after-change: $(bench_order "$rep" vdvsd peer)"
  done
  exit 0
fi
SECS=${BENCH_SECONDS:-1}
PEER_DIR=${VDVS_PEER_DIR:-$TOP/../shared/peers/go-volume-plugin}
N=100

# --- the Go peer, built with Debian's golang-go (never copied here)
PEER=
if [ -f "$PEER_DIR/main.go" ]; then
  if ! command -v go >/dev/null && command -v apt-get >/dev/null; then
    echo "installing golang-go for the peer" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null 2>&1 || true
  fi
  if command -v go >/dev/null \
     && (cd "$PEER_DIR" && GO111MODULE=off GOCACHE="$B/gocache" GOPATH="$B/gopath" \
           go build -o "$B/peer" main.go) >"$B/peer-build.log" 2>&1; then
    PEER=$B/peer
  else
    echo "peer: not built ($(tail -1 "$B/peer-build.log" 2>/dev/null || echo 'no go'))" >&2
  fi
else
  echo "peer: $PEER_DIR/main.go not found" >&2
fi

# --- vdvsd with 100 volumes
VS=$B/plugins/vsphere.sock
start_vdvsd "$VS" off
t0=$(now_ms)
seq 0 $((N - 1)) | xargs -P 4 -I{} curl -sS --max-time 120 --unix-socket "$VS" \
  -d '{"Name":"vol{}","Opts":{"size":"100mb"}}' http://plugin/VolumeDriver.Create > "$B/create.out"
[ "$(grep -o '"Err":""' "$B/create.out" | wc -l)" -eq $N ] || { echo "create failed: $(head -c 300 "$B/create.out")" >&2; exit 1; }
[ "$(api "$VS" VolumeDriver.List '{}' | jq '.Volumes | length')" -eq $N ] || { echo "List != $N" >&2; exit 1; }
create_ms=$(( $(now_ms) - t0 ))

PEER_PID=
PS=$B/peer.sock
if [ -n "$PEER" ]; then
  "$PEER" "$PS" >"$B/peer.log" 2>&1 &
  PEER_PID=$!
  bench_on_exit 'kill $PEER_PID 2>/dev/null; wait $PEER_PID 2>/dev/null'
  for _ in $(seq 100); do [ -S "$PS" ] && break; sleep 0.05; done
  for i in $(seq 0 $((N - 1))); do api "$PS" VolumeDriver.Create "{\"Name\":\"vol$i\"}" >/dev/null; done
  [ "$(api "$PS" VolumeDriver.List '{}' | jq '.Volumes | length')" -eq $N ] || { echo "peer List != $N" >&2; exit 1; }
fi

# --- runs: who ep mode rep rps p50 p99 cpu_us_per_request
# Modes: 1 and 8 connections as the scheduler places things, and 1c: one
# connection with loadgen and the server on one vCPU (taskset), the round
# trip without the wake-up of an idle vCPU (40 us of the 50 here).
R=$B/runs
: > "$R"
ALL_CPUS=0-$(( $(nproc) - 1 ))
pid_of () { if [ "$1" = vdvsd ]; then echo "$VDVSD_PID"; else echo "$PEER_PID"; fi; }
# CPU time of every thread of a process so far, in ns.
cpu_ns () { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
run_one () { # who sock ep mode rep
  local out pid c0 c1 conns=$4 pin=
  pid=$(pid_of "$1")
  [ "$4" = 1c ] && { conns=1; pin="taskset -c 0"; taskset -a -p -c 0 "$pid" >/dev/null; }
  c0=$(cpu_ns "$pid")
  out=$($pin "$LOADGEN" -s "$2" -c "$conns" -d "$SECS" -w 0.2 -n $N "/VolumeDriver.$3" '{"Name":"vol%d"}') \
    || { echo "loadgen $1 $3 c=$4 failed: $out" >&2; exit 1; }
  c1=$(cpu_ns "$pid")
  [ -n "$pin" ] && taskset -a -p -c "$ALL_CPUS" "$pid" >/dev/null
  awk -v who="$1" -v ep="$3" -v c="$4" -v rep="$5" -v cpu=$(( c1 - c0 )) '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      print who, ep, c, rep, v["rps"], v["p50_us"], v["p99_us"], cpu / 1000 / v["total"] }' <<<"$out" >> "$R"
}
# changed_get who sock rep: CHANGES Gets on one keep-alive connection,
# each after an atomic same-bytes rewrite of that volume's sidecar; prints "who GetChanged 1 rep rps p50 p99 -" (rps =
# Gets per second of Get time alone).
changed_get () {
  local dir=$B/root/datastore1/dockvols
  # The peer's Gets follow the same file operation on a copy, so vdvsd does
  # not react to it while the peer is timed.
  if [ "$1" = peer ]; then
    [ -d "$B/peer-dockvols" ] || cp -a "$dir" "$B/peer-dockvols"
    dir=$B/peer-dockvols
  fi
  python3 - "$2" "$dir" "$N" "$CHANGES" <<'PY' | awk -v who="$1" -v rep="$3" '{ print who, "GetChanged", 1, rep, $0, "-" }' >> "$R"
import glob, json, os, socket, sys, time
sock, dockvols, n, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sidecar = {}
for i in range(n):
    found = [p for p in glob.glob(os.path.join(dockvols, "*", "vol%d-*.vmfd" % i))
             if not os.path.islink(os.path.dirname(p))]  # not via _DEFAULT
    if len(found) != 1:
        sys.exit("bench api: sidecar of vol%d: %r" % (i, found))
    sidecar[i] = found[0]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
f = s.makefile("rb")
lat = []
for k in range(count):
    i = k % n
    path = sidecar[i]
    data = open(path, "rb").read()
    tmp = path + ".bench"
    with open(tmp, "wb") as w:
        w.write(data)
    os.replace(tmp, path)
    body = json.dumps({"Name": "vol%d" % i}).encode()
    t0 = time.perf_counter_ns()
    s.sendall(b"POST /VolumeDriver.Get HTTP/1.1\r\nHost: plugin\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    status = f.readline()
    clen = None
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            clen = int(line.split(b":")[1])
        if line.lower().startswith(b"transfer-encoding:"):
            sys.exit("bench api: chunked reply not handled")
    reply = json.loads(f.read(clen))
    lat.append(time.perf_counter_ns() - t0)
    if b" 200 " not in status or reply.get("Err"):
        sys.exit("bench api: Get vol%d after a change: %r %r" % (i, status, reply))
lat.sort()
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] / 1000
print("%.0f %.0f %.0f" % (len(lat) / (sum(lat) / 1e9), pct(0.5), pct(0.99)))
PY
}
# Every rep runs both servers for every case; who goes first alternates
# per rep (bench_order), so drift on the shared machine hits both alike.
for rep in $(seq 1 "$REPS"); do
  for ep in Get List Path Capabilities; do
    for c in 1 8 1c; do
      for who in $(bench_order "$rep" vdvsd peer); do
        if [ $who = vdvsd ]; then run_one vdvsd "$VS" $ep $c $rep
        elif [ -n "$PEER" ]; then run_one peer "$PS" $ep $c $rep; fi
      done
    done
  done
  for who in $(bench_order "$rep" vdvsd peer); do
    if [ $who = vdvsd ]; then changed_get vdvsd "$VS" $rep
    elif [ -n "$PEER" ]; then changed_get peer "$PS" $rep; fi
  done
done
read -r v_rss v_hwm <<<"$(rss "$VDVSD_PID")"
p_rss=-; p_hwm=-
[ -n "$PEER_PID" ] && read -r p_rss p_hwm <<<"$(rss "$PEER_PID")"

# --- table
echo
echo "API stack: vdvsd (mock, 100 volumes) vs Go peer (net/http, 100 volumes); $(nproc) vCPU;"
echo "closed loop, keep-alive, unix socket; medians of $REPS reps x ${SECS} s; ratio = median of same-rep ratios"
echo
printf '| %-12s | %5s | %11s | %11s | %6s | %9s | %9s | %9s | %9s | %9s | %9s | %9s | %-6s |\n' \
  endpoint conns "vdvsd req/s" "peer req/s" "x peer" "vdvsd p50" "peer p50" "vdvsd p99" "peer p99" "p99 ratio" "vdvsd CPU" "peer CPU" target
echo "|--------------|-------|-------------|-------------|--------|-----------|-----------|-----------|-----------|-----------|-----------|-----------|--------|"
for ep in Get List Path Capabilities GetChanged; do
  for c in 1 1c 8; do
    [ $ep = GetChanged ] && [ $c != 1 ] && continue
    awk -v ep=$ep -v c=$c '
      function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                      return n == 0 ? -1 : (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) }
      $2 == ep && $3 == c { k = $1; r[k, $4] = $5; p50[k, $4] = $6; p99[k, $4] = $7; cpu[k, $4] = $8; reps[$4] = 1 }
      END {
        for (rep in reps) {
          nv++; vr[nv] = r["vdvsd", rep]; v50[nv] = p50["vdvsd", rep]; v99[nv] = p99["vdvsd", rep]; vc[nv] = cpu["vdvsd", rep]
          if (("peer", rep) in r) { np++; pr[np] = r["peer", rep]; q50[np] = p50["peer", rep]; q99[np] = p99["peer", rep]; qc[np] = cpu["peer", rep]
                                    rr[np] = r["vdvsd", rep] / r["peer", rep]; lr[np] = p99["vdvsd", rep] / p99["peer", rep] } }
        mvr = med(vr, nv); mv50 = med(v50, nv); mv99 = med(v99, nv); mvc = med(vc, nv)
        if (np > 0) {
          mpr = med(pr, np); mp50 = med(q50, np); mp99 = med(q99, np); mrr = med(rr, np); mlr = med(lr, np); mpc = med(qc, np)
          ok = (mrr >= 2 && mlr <= 0.5) ? "met" : "missed"
          printf "| %-12s | %5s | %11.0f | %11.0f | %5.2fx | %6.0f us | %6.0f us | %6.0f us | %6.0f us | %8.2fx | %6.1f us | %6.1f us | %-6s |\n", ep, c, mvr, mpr, mrr, mv50, mp50, mv99, mp99, mlr, mvc, mpc, ok
        } else
          printf "| %-12s | %5s | %11.0f | %11s | %6s | %6.0f us | %9s | %6.0f us | %9s | %9s | %6.1f us | %9s | %-6s |\n", ep, c, mvr, "-", "-", mv50, "-", mv99, "-", "-", mvc, "-", "-"
      }' "$R"
  done
done
echo
echo "GetChanged: Get after an atomic rewrite of that volume's sidecar (one connection,"
echo "$CHANGES Gets per run; req/s = Gets per second of Get time alone; no CPU column)."
echo "In the other rows nothing changes between Gets."
echo "1c: one connection with loadgen and the server pinned to one vCPU (taskset), so the"
echo "round trip has no wake-up of an idle vCPU.  CPU: the server's CPU time (all threads,"
echo "/proc/PID/task/*/schedstat) per request, median over reps."
echo
printf '| %-6s | %11s | %11s |\n' memory "VmRSS MiB" "VmHWM MiB"
echo "|--------|-------------|-------------|"
printf '| %-6s | %11s | %11s |\n' vdvsd "$v_rss" "$v_hwm"
printf '| %-6s | %11s | %11s |\n' peer "$p_rss" "$p_hwm"
echo
echo "100 volumes created through vdvsd's API (4 at a time, incl. mkfs) in ${create_ms} ms"
