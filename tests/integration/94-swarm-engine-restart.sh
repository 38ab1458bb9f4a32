#!/usr/bin/env bash
# The engine of the node running a swarm task with a vsphere volume killed
# with SIGKILL and started again on the same node, its VM left running
# (scripts/vdvs-cluster, 3 nodes, the service pinned to the two workers):
# - dockerd alone killed and started again at once;
# - dockerd and vdvsd killed, left down until swarm has moved the task (its
#   Mounts on the other worker refused: the disk is still attached to the
#   crashed VM), then both started again.
# After each, once things settle: exactly one task runs, with the data, on
# the crashed node or elsewhere; the ESX host has the volume attached to
# that node's VM only; that node's vdvsd has it mounted once with one
# reference; every other node has no mount, no reference and no loop
# device of it.  A stale reference or mount on the crashed node would keep
# the disk attached there forever and the moved task refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm-lib.bash"

cluster_up --nodes 3
S=$$
from=$(db_service_on_worker)
c=$(task_container "$from" db)
nd "$from" exec "$c" sh -c "echo before-$S > /data/f && sync" || fail "writing in the task"
data="before-$S"
ok "task on $from, data written"

# refs NODE: NODE's vdvsd references to db (its persisted refcount).
refs () {
  local f=$CDIR/$1/state/refs/db@datastore1
  [ -e "$f" ] || { echo 0; return 0; }
  jq '([.mounts[]] | add // 0) + (.recovered // 0)' "$f"
}
# mounts NODE: how often db is mounted in NODE's mount namespace.
mounts () {
  "$CL" exec "$1" cat /proc/self/mounts | grep -cF " $CDIR/$1/mnt/db@datastore1 " || true
}
# loops: loop devices of db's disk in this cluster (one per attachment).
loops () {
  losetup -n -O BACK-FILE | awk -v d="$CDIR/" 'index($0, d) == 1 && /\/db[^\/]*\.vmdk$/' | wc -l
}
# state: one line of what every node and the ESX host say about db.
state () {
  local n out="esx=$(esx_attached db) loops=$(loops)"
  for n in node2 node3; do
    out+=" $n:mounts=$(mounts "$n"),refs=$(refs "$n"),task=$(task_container "$n" db | cut -c1-12)"
  done
  echo "$out"
}
# crash NODE DAEMON...: SIGKILL to those daemons of NODE (dockerd,
# vdvsd), back when they are gone.
crash () {
  local n=$1 d p pids=()
  shift
  for d in "$@"; do
    p=$(cat "$CDIR/$n/$d.pid") || fail "no $d.pid of $n"
    kill -KILL "$p" || fail "$n's $d ($p) was not running"
    pids+=("$p")
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 100); do [ -e "/proc/$p" ] || break; sleep 0.1; done
    [ ! -e "/proc/$p" ] || fail "$n: pid $p still there 10 s after SIGKILL"
  done
}
# settled: exactly one task runs, and the node running it holds db once,
# the other worker not at all.
settled () {
  local on c2 other
  on=$(nd node1 service ps db --filter desired-state=running \
         --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | sed -n 1p)
  [[ $on == *" Running "* ]] || return 1
  on=${on%% *}
  c2=$(task_container "$on" db)
  [ -n "$c2" ] || return 1
  [ "$on" = node2 ] && other=node3 || other=node2
  [ -z "$(task_container "$other" db)" ] && [ "$(esx_attached db)" = "$on" ] &&
    [ "$(mounts "$on")" = 1 ] && [ "$(refs "$on")" = 1 ] &&
    [ "$(mounts "$other")" = 0 ] && [ "$(refs "$other")" = 0 ] && [ "$(loops)" = 1 ]
}
# wait_settled WHAT SECONDS: until settled, then check the data and add a
# line; ON is the node of the task.  A reference recovery cannot yet tell
# from the new task's (the engine activated the plugin only at the new
# task's Mount) is dropped once vdvsd's recovery grace (60 s) is over, at
# the next pass: the waits allow for that.
SETTLE_S=100
wait_settled () {
  local t0 on
  t0=$(date +%s)
  while ! settled; do
    [ $(($(date +%s) - t0)) -lt "$2" ] ||
      fail "$1: not settled after $2 s: $(state); tasks: $(nd node1 service ps --no-trunc db)"
    sleep 1
  done
  on=$(wait_task db "" 5)
  c=$(task_container "$on" db)
  [ "$(nd "$on" exec "$c" cat /data/f)" = "$data" ] || fail "$1: data on $on: $(nd "$on" exec "$c" cat /data/f)"
  nd "$on" exec "$c" sh -c "echo $1-$S >> /data/f && sync" || fail "$1: volume unusable on $on"
  data+=$'\n'"$1-$S"
  ON=$on
}
# refused_by NODE: tasks of db refused because NODE's VM holds the disk.
refused_by () {
  nd node1 service ps --no-trunc db --format '{{.Error}}' | grep -c "already attached to VM=$1" || true
}

# --- dockerd killed and started again at once
t0=$(date +%s.%N)
crash "$from" dockerd
"$CL" start "$from" >/dev/null 2>&1 || fail "start $from: $(tail -5 "$CDIR/$from/dockerd.log")"
wait_settled engine-restart "$SETTLE_S"
ok "$from's dockerd killed and started again: task on $ON after" \
   "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; $(state)"

# --- dockerd and vdvsd killed, down until the task has moved
from=$ON
t0=$(date +%s.%N)
crash "$from" dockerd vdvsd
for _ in $(seq 60); do
  [ "$(nd node1 node inspect "$from" --format '{{.Status.State}}')" = down ] && break
  sleep 0.5
done
[ "$(nd node1 node inspect "$from" --format '{{.Status.State}}')" = down ] ||
  fail "$from not down 30 s after its engine died"
# The moved task is refused while the crashed VM holds the disk.
for _ in $(seq 60); do
  [ "$(refused_by "$from")" -gt 0 ] && break
  sleep 0.5
done
[ "$(refused_by "$from")" -gt 0 ] ||
  fail "no task refused with 'already attached to VM=$from' while it was down: $(nd node1 service ps --no-trunc db)"
[ "$(esx_attached db)" = "$from" ] || fail "ESX: db attached to '$(esx_attached db)' while $from's engine is down"
"$CL" start "$from" >/dev/null 2>&1 || fail "start $from: $(tail -5 "$CDIR/$from/dockerd.log")"
wait_settled engine-and-plugin-restart "$SETTLE_S"
ok "$from's dockerd and vdvsd killed, task moved meanwhile; after the restart the task runs on $ON" \
   "after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; $(state)"

# --- dockerd and vdvsd killed; dockerd back first (its restore finds no
# plugin), vdvsd 3 s later
from=$ON
t0=$(date +%s.%N)
crash "$from" dockerd vdvsd
"$CL" start "$from" dockerd >"$T/start-dockerd.log" 2>&1 &
sp=$!
sleep 3
"$CL" start "$from" vdvsd >/dev/null 2>&1 || fail "start $from vdvsd: $(tail -5 "$CDIR/$from/vdvsd.log")"
wait "$sp" || fail "start $from dockerd: $(cat "$T/start-dockerd.log"; tail -5 "$CDIR/$from/dockerd.log")"
wait_settled engine-before-plugin "$SETTLE_S"
ok "$from's dockerd and vdvsd killed, dockerd started before vdvsd: the task runs on $ON" \
   "after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s; $(state)"

nd node1 service rm db >/dev/null
for _ in $(seq 120); do [ "$(esx_attached db)" = detached ] && break; sleep 0.5; done
[ "$(esx_attached db)" = detached ] || fail "db still attached to $(esx_attached db) after service rm: $(state)"
[ "$(mounts node2)$(mounts node3)$(refs node2)$(refs node3)$(loops)" = 00000 ] ||
  fail "db still held after service rm: $(state)"
ok "service removed: db detached, nothing held"

cluster_down_clean
