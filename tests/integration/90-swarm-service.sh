#!/usr/bin/env bash
# A vsphere volume follows a swarm service: a 3-node swarm of emulated VMs
# on one emulated ESX host (scripts/vdvs-cluster); a one-replica service
# with a vsphere volume; the data written is there after the node running
# the task is drained and the task moves.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm-lib.bash"

# Bad input: a clear error naming the value, nothing started.
out=$("$CL" up --nodes 0 2>&1) && fail "up --nodes 0 accepted"
[[ $out == *"--nodes '0': must be a number from 1 to 16"* ]] || fail "up --nodes 0: $out"
out=$("$CL" exec node1 true 2>&1) && fail "exec without a cluster succeeded"
[[ $out == *"no cluster is up in $CDIR"* ]] || fail "exec without a cluster: $out"
[ "$("$CL" status --json | jq -c .)" = '{"up":false,"nodes":[]}' ] || fail "status without a cluster"
[ ! -e "$CDIR" ] || fail "a refused command left $CDIR"
ok "bad input refused with the value named, nothing started"

cluster_up --nodes 3
out=$("$CL" exec node9 true 2>&1) && fail "exec on node9 succeeded"
[[ $out == *"unknown node 'node9' (nodes: node1 node2 node3)"* ]] || fail "exec node9: $out"
[ "$(nd node1 node ls -q | wc -l)" = 3 ] || fail "swarm has not 3 nodes: $(nd node1 node ls)"
st=$("$CL" status --json)
[ "$(jq -r '[.nodes[] | select(.dockerd and .vdvsd and .swarm == "active")] | length' <<<"$st")" = 3 ] ||
  fail "status: not every node up and in the swarm: $st"
[ "$(jq -r '[.nodes[].vm_uuid] | unique | length' <<<"$st")" = 3 ] || fail "status: VM UUIDs not distinct: $st"
ok "3 nodes up, each its own engine, vdvsd and VM, one swarm"

S=$$
nd node1 service create --detach --quiet --name db --replicas 1 --no-resolve-image \
  --restart-condition any --restart-delay 1s --stop-grace-period 2s \
  --mount type=volume,source=db,target=/data,volume-driver=vsphere,volume-opt=size=64mb \
  "$IMAGE" sh -c 'trap "exit 0" TERM; while true; do sleep 1; done' >/dev/null ||
  fail "service create"
from=$(wait_task db)
c=$(task_container "$from" db)
nd "$from" exec "$c" sh -c "echo data-$S > /data/f && sync" || fail "writing in the task on $from"
[ "$(esx_attached db)" = "$from" ] || fail "ESX: db attached to '$(esx_attached db)', expected $from"
[ "$(nd "$from" volume inspect db | jq -r '.[0].Status."attached to VM"')" = "$from" ] ||
  fail "docker volume inspect on $from: $(nd "$from" volume inspect db)"
[ "$(nd "$from" volume inspect db | jq -r '.[0].Scope')" = global ] || fail "scope not global"
node_mounted "$from" db || fail "db not mounted in $from"
ok "service task runs on $from with db attached to VM $from, data written"

for n in node1 node2 node3; do
  # The plugin lists every volume as NAME@DATASTORE (as upstream); an
  # engine that used db also keeps its own record under the name it used.
  [[ $(nd "$n" volume ls --format '{{.Driver}} {{.Name}}') == *"vsphere db@datastore1"* ]] ||
    fail "docker volume ls on $n does not list db: $(nd "$n" volume ls)"
  [ "$(nd "$n" volume inspect db | jq -r '.[0].Status."attached to VM"')" = "$from" ] ||
    fail "$n sees db not attached to $from: $(nd "$n" volume inspect db)"
done
[ "$(jq -r --arg n "$from" '.nodes[] | select(.node == $n) | .attached | join(",")' \
      <<<"$("$CL" status --json)")" = db@datastore1 ] || fail "status does not show db on $from"
ok "every node lists db and sees it attached to $from; status shows it"

t0=$(date +%s.%N)
nd node1 node update --availability drain "$from" >/dev/null
to=$(wait_task db "$from")
moved=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
c=$(task_container "$to" db)
[ "$(nd "$to" exec "$c" cat /data/f)" = "data-$S" ] || fail "data lost moving from $from to $to"
[ "$(esx_attached db)" = "$to" ] || fail "ESX: db attached to '$(esx_attached db)', expected $to"
! node_mounted "$from" db || fail "db still mounted in $from after the drain"
[ -z "$(task_container "$from" db)" ] || fail "a db container still runs on $from"
retries=$(nd node1 service ps --no-trunc db --format '{{.Error}}' | grep -c 'already attached' || true)
ok "drained $from: task moved to $to in $moved s (${retries} attach retries), data intact"

nd node1 service rm db >/dev/null
for _ in $(seq 120); do [ "$(esx_attached db)" = detached ] && break; sleep 0.5; done
[ "$(esx_attached db)" = detached ] || fail "db still attached to $(esx_attached db) after service rm"
! node_mounted "$to" db || fail "db still mounted in $to after service rm"
# Swarm removes the stopped task containers after the unmount; until then
# the engine holds db in use.
for _ in $(seq 120); do [ -z "$(nd node1 ps -aq --filter volume=db)" ] && break; sleep 0.5; done
nd node1 volume rm db >/dev/null || fail "volume rm db after the service went"
ok "service removed: db detached, unmounted and removed"

cluster_down_clean
