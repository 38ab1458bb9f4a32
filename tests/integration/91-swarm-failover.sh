#!/usr/bin/env bash
# Failover of a swarm service with a vsphere volume (scripts/vdvs-cluster,
# 3 nodes, the service pinned to the two workers as upstream's
# TestFailoverAcrossSwarmNodes):
# - the vdvsd of the task's node restarted under the running task: the task
#   stays where it is, the volume stays mounted, the data is there;
# - the task's node killed hard (every process gone) and its VM powered off
#   at the ESX host: the power-off detaches the disk, swarm sees the node
#   down, the task runs on the other worker with the data.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm-lib.bash"

cluster_up --nodes 3
S=$$
from=$(db_service_on_worker)
c=$(task_container "$from" db)
task=$(nd node1 service ps -q --filter desired-state=running db)
nd "$from" exec "$c" sh -c "echo before-$S > /data/f && sync" || fail "writing in the task"
ok "task on $from, data written"

# --- vdvsd restarted under the running task
"$CL" restart-vdvsd "$from" >/dev/null 2>&1 || fail "restart-vdvsd $from"
sleep 2  # let recovery ask the engine
node_mounted "$from" db || fail "vdvsd restart unmounted db under the running task"
[ "$(esx_attached db)" = "$from" ] || fail "ESX: db attached to '$(esx_attached db)' after the restart"
[ "$(nd node1 service ps -q --filter desired-state=running db)" = "$task" ] ||
  fail "the task changed across the vdvsd restart: $(nd node1 service ps db)"
[ "$(task_container "$from" db)" = "$c" ] || fail "the container changed across the vdvsd restart"
nd "$from" exec "$c" sh -c "echo after-$S >> /data/f && sync" || fail "volume unusable after the vdvsd restart"
[ "$(nd "$from" exec "$c" cat /data/f)" = "before-$S"$'\n'"after-$S" ] || fail "data after the restart"
# The plugin still serves the engine: a new volume on that node works.
nd "$from" volume create --driver vsphere --name probe -o size=16mb >/dev/null ||
  fail "the engine cannot use the restarted vdvsd"
nd "$from" volume rm probe >/dev/null || fail "volume rm probe"
ok "vdvsd restarted on $from under the task: nothing moved, nothing lost"

# --- the task's node killed hard, its VM powered off
t0=$(date +%s.%N)
"$CL" kill "$from" >/dev/null 2>&1 || fail "kill $from"
[ "$(esx_attached db)" = detached ] || fail "ESX: power-off of $from left db attached to $(esx_attached db)"
to=$(wait_task db "$from" 180)
moved=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$to" != node1 ] || fail "the task moved to the manager despite the constraint"
c=$(task_container "$to" db)
[ "$(nd "$to" exec "$c" cat /data/f)" = "before-$S"$'\n'"after-$S" ] || fail "data lost moving to $to"
[ "$(esx_attached db)" = "$to" ] || fail "ESX: db attached to '$(esx_attached db)', expected $to"
[ "$(nd node1 node inspect "$from" --format '{{.Status.State}}')" = down ] || fail "$from not down in the swarm"
st=$("$CL" status --json)
[ "$(jq -r --arg n "$from" '.nodes[] | select(.node == $n) | .dockerd' <<<"$st")" = false ] ||
  fail "status shows $from's engine still up: $st"
ok "$from killed and powered off: task on $to after $moved s, data intact"

nd node1 service rm db >/dev/null
for _ in $(seq 120); do [ "$(esx_attached db)" = detached ] && break; sleep 0.5; done
[ "$(esx_attached db)" = detached ] || fail "db still attached to $(esx_attached db) after service rm"
ok "service removed: db detached"

cluster_down_clean
