#!/usr/bin/env bash
# Two swarm services asking for one vsphere volume on two nodes
# (scripts/vdvs-cluster, 3 nodes; service a pinned to node2, b to node3):
# - exactly one runs; every task of the other is refused with the upstream
#   "Failed to add disk ... already attached to VM=node2" text (a running
#   VM holds the disk) until the first stops; then it runs with its data;
# - engine crash: node3's dockerd killed with SIGKILL, its vdvsd and VM
#   left running: the disk stays attached to node3, so b moved to node2 is
#   refused with "already attached to VM=node3", as upstream's ESX service
#   refuses a disk a powered-on VM holds; once node3's VM powers off (the
#   ESX host releases its disks), b runs on node2 with all the data.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm-lib.bash"

# refusals SERVICE VM: how many tasks of SERVICE were refused because the
# volume is attached to VM, in the upstream wording.
refusals () {
  # (swarm keeps the plugin's own text as the task's error)
  local re="Failed to add disk 'scsi[0-9]+:[0-9]+'\\. disk [^ ]*/shared\\.vmdk"
  re+=" already attached to VM=$2([^0-9]|\$)"
  nd node1 service ps --no-trunc "$1" --format '{{.Error}}' | grep -cE "$re" || true
}
# wait_refusals SERVICE VM N: until N refusals of SERVICE name VM.
wait_refusals () {
  for _ in $(seq 240); do
    [ "$(refusals "$1" "$2")" -ge "$3" ] && return 0
    sleep 0.5
  done
  nd node1 service ps --no-trunc "$1" >&2 || true
  fail "$1: fewer than $3 'already attached to VM=$2' refusals after 120 s"
}
running_of () { nd node1 service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true; }

cluster_up --nodes 3
S=$$
svc () { # NAME NODE: a service on NODE with the volume `shared`
  nd node1 service create --detach --quiet --name "$1" --replicas 1 --no-resolve-image \
    --constraint "node.labels.vm==$2" \
    --restart-condition any --restart-delay 1s --stop-grace-period 2s \
    --mount type=volume,source=shared,target=/data,volume-driver=vsphere,volume-opt=size=64mb \
    "$IMAGE" sh -c 'trap "exit 0" TERM; while true; do sleep 1; done' >/dev/null ||
    fail "service create $1"
}

# --- contention: a holds the volume on node2, b is refused on node3
svc a node2
[ "$(wait_task a)" = node2 ] || fail "a not on node2"
ca=$(task_container node2 a)
nd node2 exec "$ca" sh -c "echo a-$S > /data/f && sync" || fail "writing in a"
svc b node3
wait_refusals b node2 2
[ "$(running_of b)" = 0 ] || fail "b runs while a holds the volume: $(nd node1 service ps b)"
[ -z "$(task_container node3 b)" ] || fail "a b container runs on node3"
[ "$(esx_attached shared)" = node2 ] || fail "ESX: shared attached to '$(esx_attached shared)', expected node2"
[ "$(task_container node2 a)" = "$ca" ] || fail "a's container changed while b was refused"
! node_mounted node3 shared || fail "shared mounted in node3 although its attach was refused"
[ "$(nd node2 exec "$ca" cat /data/f)" = "a-$S" ] || fail "a's data changed while b was refused"
[ "$(nd node3 volume inspect shared | jq -r '.[0].Status."attached to VM"')" = node2 ] ||
  fail "node3 does not see shared attached to node2: $(nd node3 volume inspect shared)"
ok "a runs on node2; b refused on node3 $(refusals b node2) times with 'already attached to VM=node2'"

nd node1 service rm a >/dev/null
[ "$(wait_task b)" = node3 ] || fail "b not on node3"
n=$(refusals b node2)
cb=$(task_container node3 b)
[ "$(nd node3 exec "$cb" cat /data/f)" = "a-$S" ] || fail "b does not see a's data"
[ "$(esx_attached shared)" = node3 ] || fail "ESX: shared attached to '$(esx_attached shared)', expected node3"
! node_mounted node2 shared || fail "shared still mounted in node2 after a stopped"
nd node3 exec "$cb" sh -c "echo b-$S >> /data/f && sync" || fail "writing in b"
ok "a removed: b runs on node3 with a's data (after $n refusals)"

# --- engine crash: node3's dockerd killed, its vdvsd and VM stay up
p=$(cat "$CDIR/node3/dockerd.pid")
vp=$(cat "$CDIR/node3/vdvsd.pid")
kill -KILL "$p"
for _ in $(seq 60); do
  [ "$(nd node1 node inspect node3 --format '{{.Status.State}}')" = down ] && break
  sleep 0.5
done
[ "$(nd node1 node inspect node3 --format '{{.Status.State}}')" = down ] || fail "node3 not down 30 s after its engine died"
kill -0 "$vp" 2>/dev/null || fail "node3's vdvsd died with its engine"
nd node1 service update --detach --quiet --constraint-rm node.labels.vm==node3 \
  --constraint-add node.labels.vm==node2 b >/dev/null || fail "service update b"
wait_refusals b node3 2
[ "$(running_of b)" = 0 ] || fail "b runs elsewhere while node3's VM holds the volume: $(nd node1 service ps b)"
[ -z "$(task_container node2 b)" ] || fail "a b container runs on node2"
[ "$(esx_attached shared)" = node3 ] || fail "ESX: shared attached to '$(esx_attached shared)', expected node3"
node_mounted node3 shared || fail "shared no longer mounted in node3 after its engine died"
# The container outlives its engine (its shim keeps it), so vdvsd keeps
# its reference.
[ -e "$CDIR/node3/state/refs/shared@datastore1" ] || fail "node3's vdvsd dropped its reference to shared"
ok "node3's engine killed: b on node2 refused $(refusals b node3) times with 'already attached to VM=node3'"

"$CL" kill node3 >/dev/null 2>&1 || fail "kill node3"
[ "$(esx_attached shared)" = detached ] || fail "ESX: power-off of node3 left shared attached to $(esx_attached shared)"
[ "$(wait_task b node3)" = node2 ] || fail "b not on node2 after node3 powered off"
cb=$(task_container node2 b)
[ "$(nd node2 exec "$cb" cat /data/f)" = "a-$S"$'\n'"b-$S" ] || fail "data lost moving b to node2"
[ "$(esx_attached shared)" = node2 ] || fail "ESX: shared attached to '$(esx_attached shared)', expected node2"
ok "node3 powered off: the ESX host released the disk, b runs on node2 with all the data"

nd node1 service rm b >/dev/null
for _ in $(seq 120); do [ "$(esx_attached shared)" = detached ] && break; sleep 0.5; done
[ "$(esx_attached shared)" = detached ] || fail "shared still attached to $(esx_attached shared) after service rm"
ok "service removed: shared detached"

cluster_down_clean
