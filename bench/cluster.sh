#!/usr/bin/env bash
# Failover through a swarm of emulated VMs (`bench/run.sh cluster`; not a
# test).  Per rep, a fresh 3-node cluster (scripts/vdvs-cluster, heartbeat
# 1 s) and two one-replica services pinned to the workers, both placed on
# node2: `vol` with a 64 MB vsphere volume holding a file, and `novol`
# without a volume (the engine's own reschedule time).  Then:
#   drain  node2 drained: time until each task's container runs on node3
#          (vol: and reads back its file);
#   kill   node3 (now running both) killed hard, its VM powered off at the
#          ESX host (vdvs-cluster kill): time until each runs on node2.
# Both services move in the same event, so their times are of one run;
# ratio = vol / novol per rep, then the median.  Also the start-up time
# per node (`up` prints it: namespaces, dockerd, vdvsd, image, plugin) and
# of the whole swarm.  Stop grace 2 s, restart delay 1 s; the tasks trap
# SIGTERM, so they stop at once.
#
# Environment: BENCH_REPS (3, at least 3), BENCH_DRY_RUN=1.
source "$(dirname "$0")/lib.sh"
REPS=$(bench_reps "${BENCH_REPS:-3}")
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  for rep in $(seq 1 "$REPS"); do echo "rep $rep: up, drain node2, kill node3, down (vol and novol together)"; done
  exit 0
fi
CL=$TOP/scripts/vdvs-cluster
for b in dockerd docker nsenter unshare ip jq busybox; do
  command -v "$b" >/dev/null || { echo "cluster: $b not installed: skipped (make deps)"; exit 0; }
done
export VDVS_CLUSTER_DIR=$B/cluster VDVS_CLUSTER_PREFIX=vdvsb VDVS_CLUSTER_NET=10.231.2 VDVS_BUILD=$BUILD
if ip link show vdvsb-br >/dev/null 2>&1; then
  echo "cluster: bridge vdvsb-br exists (a bench cluster left behind?): skipped"; exit 0
fi
CD=$VDVS_CLUSTER_DIR
bench_on_exit '"$CL" down >>"$B/down.log" 2>&1'
nd () { local n=$1; shift; DOCKER_HOST="unix://$CD/$n/docker.sock" "$DOCKER" "$@"; }
ctr () { nd "$1" ps -q --filter "label=com.docker.swarm.service.name=$2" 2>/dev/null | sed -n 1p; }
now () { date +%s%N; }

# wait_on NODE SERVICE T0 [DATA]: ms from T0 until SERVICE's container runs
# on NODE (and, with DATA, /data/f reads DATA).
wait_on () {
  local c
  for _ in $(seq 3000); do
    c=$(ctr "$1" "$2")
    if [ -n "$c" ] && { [ -z "${4:-}" ] || [ "$(nd "$1" exec "$c" cat /data/f 2>/dev/null)" = "$4" ]; }; then
      echo $(( ($(now) - $3) / 1000000 ))
      return 0
    fi
    sleep 0.05
  done
  nd node1 service ps --no-trunc "$2" >&2
  echo "cluster: $2 not running on $1 after 150 s" >&2
  return 1
}

R=$B/runs
: >"$R"
for rep in $(seq 1 "$REPS"); do
  t0=$(now)
  "$CL" up --nodes 3 >"$B/up.log" 2>&1 || { cat "$B/up.log" >&2; exit 1; }
  echo "up total $rep $(( ($(now) - t0) / 1000000 ))" >>"$R"
  while read -r n s; do echo "up node $rep $(awk -v s="$s" 'BEGIN { print s * 1000 }')" >>"$R"; done <"$CD/startup"
  # Both tasks on node2: node3 drained while they are placed.
  nd node1 node update --availability drain node3 >/dev/null
  for s in vol novol; do
    m=(); [ $s = vol ] && m=(--mount "type=volume,source=vol,target=/data,volume-driver=vsphere,volume-opt=size=64mb")
    nd node1 service create --detach --quiet --name $s --replicas 1 --no-resolve-image \
      --constraint node.role==worker --restart-condition any --restart-delay 1s \
      --stop-grace-period 2s "${m[@]}" \
      "$IMAGE" sh -c 'trap "exit 0" TERM; while true; do sleep 1; done' >/dev/null
  done
  wait_on node2 vol "$(now)" >/dev/null && wait_on node2 novol "$(now)" >/dev/null
  nd node2 exec "$(ctr node2 vol)" sh -c "echo $rep-$$ > /data/f && sync"
  nd node1 node update --availability active node3 >/dev/null
  sleep 1
  t0=$(now)
  nd node1 node update --availability drain node2 >/dev/null
  wait_on node3 novol "$t0" >"$B/novol" & wn=$!
  wait_on node3 vol "$t0" "$rep-$$" >"$B/vol"
  wait $wn
  echo "drain vol $rep $(cat "$B/vol")" >>"$R"
  echo "drain novol $rep $(cat "$B/novol")" >>"$R"
  nd node1 node update --availability active node2 >/dev/null
  sleep 1
  t0=$(now)
  "$CL" kill node3 >/dev/null 2>&1
  wait_on node2 novol "$t0" >"$B/novol" & wn=$!
  wait_on node2 vol "$t0" "$rep-$$" >"$B/vol"
  wait $wn
  echo "kill vol $rep $(cat "$B/vol")" >>"$R"
  echo "kill novol $rep $(cat "$B/novol")" >>"$R"
  t0=$(now)
  "$CL" down >>"$B/down.log" 2>&1
  echo "down total $rep $(( ($(now) - t0) / 1000000 ))" >>"$R"
  echo "rep $rep: $(grep " $rep [0-9]*\$" "$R" | grep -E '^(drain|kill)' | awk '{ printf "%s %s %d ms; ", $1, $2, $4 }')" >&2
done

med () { awk -v a="$1" -v b="$2" '$1 == a && $2 == b { print $4 }' "$R" | median; }
ratio () { # median over reps of vol/novol of event $1
  for rep in $(seq 1 "$REPS"); do
    awk -v e="$1" -v r="$rep" '$1 == e && $3 == r { v[$2] = $4 } END { printf "%.2f\n", v["vol"] / v["novol"] }' "$R"
  done | median
}
echo
echo "Swarm failover, 3 nodes, heartbeat 1 s, medians of $REPS reps (ms):"
echo
echo "| event | task with a vsphere volume (moves, data read back) | task without a volume | ratio |"
echo "|---|---|---|---|"
echo "| drain of its node | $(med drain vol) | $(med drain novol) | $(ratio drain) |"
echo "| node killed, VM powered off | $(med kill vol) | $(med kill novol) | $(ratio kill) |"
echo
echo "| cluster | median (ms) | min | max |"
echo "|---|---|---|---|"
for k in "up node" "up total" "down total"; do
  set -- $k
  vals=$(awk -v a="$1" -v b="$2" '$1 == a && $2 == b { print $4 }' "$R" | sort -g)
  echo "| $k$([ "$k" = "up node" ] && echo " (one node: namespaces, dockerd, vdvsd, image, plugin)")$([ "$k" = "up total" ] && echo " (3 nodes + swarm formed, every node ready)") | $(median <<<"$vals") | $(sed -n 1p <<<"$vals") | $(sed -n '$p' <<<"$vals") |"
done
