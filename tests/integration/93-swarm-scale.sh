#!/usr/bin/env bash
# Scale (scripts/vdvs-cluster, 3 nodes): 30 one-replica services sN, each with
# its own vsphere volume sN, created at once; all run; each writes its data;
# node2 is drained; all run on node1 and node3 with their data.  At each
# step every attachment and reference is accounted for: the ESX host has
# each volume attached to exactly the VM whose node runs its task, each
# node's vdvsd holds one reference (and one mount) per task it runs and
# none else.  VDVS_SWARM_SERVICES changes the count (default 30).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/swarm-lib.bash"

N=${VDVS_SWARM_SERVICES:-30}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || fail "VDVS_SWARM_SERVICES '$N': must be a number >= 1"

# placement: "SERVICE NODE" per service whose task runs (container up).
placement () {
  local n s
  for n in node1 node2 node3; do
    nd "$n" ps --filter label=com.docker.swarm.service.name --format \
      '{{.Label "com.docker.swarm.service.name"}}' 2>/dev/null |
      while read -r s; do echo "$s $n"; done
  done | sort
}
# wait_all EXCLUDED: every service has a running container, none on
# EXCLUDED; prints the placement.
wait_all () {
  local p
  for _ in $(seq 360); do
    p=$(placement)
    if [ "$(grep -c . <<<"$p")" -eq "$N" ] && [ -z "$(awk -v x="${1:-}" '$2 == x' <<<"$p")" ] &&
       [ "$(cut -d' ' -f1 <<<"$p" | sort -u | wc -l)" -eq "$N" ]; then
      echo "$p"
      return 0
    fi
    sleep 0.5
  done
  nd node1 service ls >&2 || true
  echo "$p" >&2
  fail "not every one of $N services runs${1:+ off $1} after 180 s"
}
# account PLACEMENT: ESX attachments, vdvsd references and mounts of every
# node agree with where the tasks run.
account () {
  local want n got
  want=$(awk 'NF { print $1 "@datastore1 " $2 }' <<<"$1" | sort)
  got=$("$VDVS_BUILD/tools/vdvsctl" --root "$CDIR/esx/root" --datastores datastore1 --json ls |
          jq -r '.[] | select(."attached-to" != "detached") | .volume + " " + ."attached-to"' | sort)
  [ "$got" = "$want" ] || fail "ESX attachments differ from the placement:$(diff <(echo "$want") <(echo "$got"))"
  for n in node1 node2 node3; do
    want=$(awk -v n="$n" '$2 == n { print $1 "@datastore1" }' <<<"$1" | sort)
    got=$(ls "$CDIR/$n/state/refs" 2>/dev/null | sort)
    [ "$got" = "$want" ] || fail "$n: vdvsd references differ from its tasks:$(diff <(echo "$want") <(echo "$got"))"
    for f in $got; do
      [ "$(jq '([.mounts[]] | add) + .recovered' "$CDIR/$n/state/refs/$f")" = 1 ] ||
        fail "$n: refcount of $f is not 1: $(cat "$CDIR/$n/state/refs/$f")"
    done
    got=$("$CL" exec "$n" cat /proc/self/mounts |
            awk -v m="$CDIR/$n/mnt/" 'index($2, m) == 1 { print substr($2, length(m) + 1) }' | sort)
    [ "$got" = "$want" ] || fail "$n: mounts differ from its tasks:$(diff <(echo "$want") <(echo "$got"))"
  done
}

t0=$(date +%s)
cluster_up --nodes 3
S=$$
for i in $(seq "$N"); do
  nd node1 service create --detach --quiet --name "s$i" --replicas 1 --no-resolve-image \
    --restart-condition any --restart-delay 1s --stop-grace-period 2s \
    --mount "type=volume,source=s$i,target=/data,volume-driver=vsphere,volume-opt=size=16mb" \
    "$IMAGE" sh -c 'trap "exit 0" TERM; while true; do sleep 1; done' >/dev/null &
done
wait
[ "$(nd node1 service ls -q | wc -l)" -eq "$N" ] || fail "not $N services: $(nd node1 service ls)"
p=$(wait_all)
for i in $(seq "$N"); do
  n=$(awk -v s="s$i" '$1 == s { print $2 }' <<<"$p")
  nd "$n" exec "$(task_container "$n" "s$i")" sh -c "echo s$i-$S > /data/f && sync" ||
    fail "writing in s$i on $n"
done
account "$p"
on2=$(awk '$2 == "node2"' <<<"$p" | wc -l)
ok "$N services created at once: all run ($(cut -d' ' -f2 <<<"$p" | sort | uniq -c | xargs)), data written, attachments and references agree"

nd node1 node update --availability drain node2 >/dev/null
p=$(wait_all node2)
for i in $(seq "$N"); do
  n=$(awk -v s="s$i" '$1 == s { print $2 }' <<<"$p")
  [ "$(nd "$n" exec "$(task_container "$n" "s$i")" cat /data/f)" = "s$i-$S" ] ||
    fail "s$i on $n: data lost"
done
# Swarm keeps the stopped task containers a while; their volumes are
# unmounted and detached once the containers stop.
for _ in $(seq 60); do [ -z "$(ls "$CDIR/node2/state/refs")" ] && break; sleep 0.5; done
account "$p"
ok "node2 drained: its $on2 tasks run on node1/node3 with their data; attachments and references agree"

for i in $(seq "$N"); do nd node1 service rm "s$i" >/dev/null & done
wait
for _ in $(seq 240); do
  [ -z "$(placement)" ] && [ -z "$(find "$CDIR"/node*/state/refs -type f)" ] && break
  sleep 0.5
done
account ""
ok "services removed: no attachment, reference or mount left"

cluster_down_clean
ok "done in $(( $(date +%s) - t0 )) s"
