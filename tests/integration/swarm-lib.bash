# Shared helpers of tests/integration/9x-swarm-*.sh (sourced after lib.sh).
#
# Each test brings up its own cluster (scripts/vdvs-cluster) under $T with
# its own name prefix and network, so it cannot meet a cluster a user
# started; the EXIT trap takes it down, and cluster_down_clean checks that
# nothing of it is left.

CL=$TOP/scripts/vdvs-cluster
export VDVS_CLUSTER_DIR=$T/cluster
export VDVS_CLUSTER_PREFIX=vdvst
export VDVS_CLUSTER_NET=10.231.1
export VDVS_BUILD
CDIR=$VDVS_CLUSTER_DIR

require_root
require_loop
for b in dockerd docker nsenter unshare ip jq busybox; do
  command -v "$b" >/dev/null || { echo "SKIP: $b not installed (make deps)"; exit 77; }
done
unshare --net --mount --uts true 2>/dev/null ||
  { echo "SKIP: cannot create network/mount/UTS namespaces here"; exit 77; }
for b in src/vdvsd tools/esxsim tools/vdvsctl tests/tools/esxcli; do
  [ -x "$VDVS_BUILD/$b" ] || fail "$VDVS_BUILD/$b not built"
done
if ip link show "$VDVS_CLUSTER_PREFIX-br" >/dev/null 2>&1; then
  echo "SKIP: bridge $VDVS_CLUSTER_PREFIX-br exists (a test cluster left behind? ip link del it)"
  exit 77
fi

on_exit '"$CL" down >>"$T/down.log" 2>&1 || true'

# nd NODE ARGS...: the docker CLI of NODE's engine.
nd () { local n=$1; shift; DOCKER_HOST="unix://$CDIR/$n/docker.sock" "$DOCKER" "$@"; }

cluster_up () {
  "$CL" up "$@" 2>&1 | tee "$T/up.log" >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] || fail "vdvs-cluster up failed"
  grep -E '^vdvs-cluster: node[0-9]+ up' "$T/up.log" | sed 's/^vdvs-cluster: /  /'
}

# wait_task SERVICE [NOT_NODE] [SECONDS]: prints the node of the running
# task of SERVICE (not on NOT_NODE) once its container runs.
wait_task () {
  local s=$1 not=${2:-} secs=${3:-120} line node
  for _ in $(seq $((secs * 2))); do
    line=$(nd node1 service ps "$s" --filter desired-state=running \
             --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | sed -n 1p)
    node=${line%% *}
    if [[ $line == *" Running "* ]] && [ "$node" != "$not" ] &&
       [ -n "$(task_container "$node" "$s")" ]; then
      echo "$node"
      return 0
    fi
    sleep 0.5
  done
  nd node1 service ps --no-trunc "$s" >&2 || true
  fail "no running task of $s${not:+ off $not} after $secs s"
}

# db_service_on_worker: service db (one task, on a worker, restarted on
# any exit) with a 64mb vsphere volume db at /data; prints its node.
db_service_on_worker () {
  local node
  nd node1 service create --detach --quiet --name db --replicas 1 --no-resolve-image \
    --constraint node.role==worker \
    --restart-condition any --restart-delay 1s --stop-grace-period 2s \
    --mount type=volume,source=db,target=/data,volume-driver=vsphere,volume-opt=size=64mb \
    "$IMAGE" sh -c 'trap "exit 0" TERM; while true; do sleep 1; done' >/dev/null ||
    fail "service create"
  node=$(wait_task db)
  [ "$node" != node1 ] || fail "the task runs on the manager despite the constraint"
  echo "$node"
}

# task_container NODE SERVICE: id of SERVICE's running container on NODE.
task_container () {
  nd "$1" ps -q --filter "label=com.docker.swarm.service.name=$2" 2>/dev/null | sed -n 1p
}

# esx_attached VOLUME: the VM the ESX host has VOLUME attached to.
esx_attached () {
  "$VDVS_BUILD/tools/vdvsctl" --root "$CDIR/esx/root" --datastores datastore1 --json ls |
    jq -r --arg v "$1@datastore1" '.[] | select(.volume == $v) | ."attached-to"'
}

# node_mounted NODE VOLUME: is VOLUME mounted in NODE's mount namespace?
node_mounted () {
  "$CL" exec "$1" cat /proc/self/mounts | grep -F " $CDIR/$1/mnt/$2@datastore1 " >/dev/null
}

# cluster_down_clean: down, then nothing of the cluster may be left.
cluster_down_clean () {
  "$CL" down >>"$T/down.log" 2>&1 || fail "vdvs-cluster down failed: $(tail -5 "$T/down.log")"
  ! grep -q 'leftover' "$T/down.log" || fail "down had to clean up: $(grep leftover "$T/down.log")"
  [ ! -e "$CDIR" ] || fail "$CDIR left behind"
  [ -z "$(ip netns list | grep "^$VDVS_CLUSTER_PREFIX-")" ] || fail "namespaces left: $(ip netns list)"
  ! ip link show "$VDVS_CLUSTER_PREFIX-br" >/dev/null 2>&1 || fail "bridge left behind"
  [ -z "$(ip -o link show | grep "$VDVS_CLUSTER_PREFIX-v")" ] || fail "veth left behind"
  local p
  # (the pattern must not match this grep's own command line)
  p=$(grep -l "${CDIR%r}[r]/" /proc/[0-9]*/cmdline 2>/dev/null | sed -n 1,3p || true)
  [ -z "$p" ] || fail "processes left: $(for f in $p; do tr '\0' ' ' <"$f"; echo; done)"
  [ -z "$(grep -F "$CDIR" /proc/self/mounts)" ] || fail "mounts left: $(grep -F "$CDIR" /proc/self/mounts)"
  [ -z "$(losetup -n -O BACK-FILE 2>/dev/null | grep -F "$CDIR")" ] || fail "loop devices left"
  [ -z "$(find /sys/fs/cgroup -maxdepth 2 -name "$VDVS_CLUSTER_PREFIX-cluster-*")" ] || fail "cgroups left"
  ok "cluster down: no namespace, bridge, process, mount, loop device, cgroup or file left"
}
