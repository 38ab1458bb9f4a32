#!/usr/bin/env bash
# vmgroups, privileges and quotas (issue 17) on one datastore root seen by
# two VMs: vmA is vdvsd on the mock (plugin API, and `docker volume
# create` when an engine is there), vmB an esxsim listener.  vdvsctl sets
# up the Config DB as vmdkops_admin does; creates are refused, capped and
# counted against a quota shared by the group's VMs, a remove frees it,
# and creates racing from both VMs never exceed it.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DATASTORES=datastore1,ds2,ds3
VM_NAME=vmA
UUID_A=42000000-0000-0000-0000-00000000000a
UUID_B=42000000-0000-0000-0000-00000000000b
CTL=("$VDVS_BUILD/tools/vdvsctl" --root "$ROOT" --datastores "$DATASTORES")
ctl () { "${CTL[@]}" "$@"; }
ESXCLI=$VDVS_BUILD/tests/tools/esxcli
[ -x "$ESXCLI" ] || { echo "SKIP: esxcli not built (no esx backend)"; exit 77; }
B=unix://$T/run/vmb.sock

start_vdvsd -o "vm-uuid=$UUID_A"
"$ESXSIM" --root "$ROOT" --datastores "$DATASTORES" --backend-opt vmdkfs=off \
  --listen "$B,vm-name=vmB,vm-uuid=$UUID_B,sysfs-root=$T/vmb/sys,dev-root=$T/vmb/dev" \
  >>"$T/esxsim-b.log" 2>&1 &
ESXSIM_B=$!
on_exit 'kill -TERM $ESXSIM_B 2>/dev/null; wait $ESXSIM_B 2>/dev/null || true'
for _ in $(seq 1 100); do [ -S "$T/run/vmb.sock" ] && break; sleep 0.1; done
[ -S "$T/run/vmb.sock" ] || fail "esxsim for vmB did not come up: $(tail -5 "$T/esxsim-b.log")"

# vmB's create: "null" or "Error: <text>".
b_create () { "$ESXCLI" "$B" create "$@" 2>/dev/null || true; }
b_remove () { "$ESXCLI" "$B" remove "$1" 2>/dev/null || true; }
a_create () { api_req VolumeDriver.Create "{\"Name\":\"$1\",\"Opts\":{\"size\":\"$2\"}}"; }
a_remove () { api_ok VolumeDriver.Remove "{\"Name\":\"$1\"}" >/dev/null; }

# --- no Config DB: everything allowed, nothing counted
[ "$(ctl config status | sed -n 1p)" = "DB_Mode: NotConfigured (no local DB, no symlink to shared DB)" ] \
  || fail "config status without a DB: $(ctl config status)"
[ "$(b_create free@ds2 size=1gb)" = null ] || fail "create without a DB refused"
out=$(ctl vmgroup create --name g1 --default-datastore _VM_DS) && fail "vmgroup create without a DB succeeded"
[ "$out" = "ERROR:Configuration not found. Please init configuration with 'esxcli storage guestvol config init'." ] \
  || fail "vmgroup create without a DB: $out"
ok "NotConfigured: creates allowed, vmgroup commands ask for config init (exit 2)"

# --- the Config DB and a group of both VMs
ctl config init --local | grep -x "Creating new DB at $ROOT/.vmdkops/auth-db" >/dev/null || fail "config init"
[ "$(ctl config status | sed -n 1p)" = "DB_Mode: SingleNode (local DB exists)" ] || fail "mode after init"
ctl vmgroup create --name g1 --default-datastore _VM_DS --vm-list vmA,vmB --description "both VMs" \
  | grep -x "vmgroup 'g1' is created. Do not forget to run 'vmgroup vm add' to add vm to vmgroup." >/dev/null \
  || fail "vmgroup create"
ctl vmgroup access add --name g1 --datastore ds2 --allow-create --volume-maxsize 100MB \
  --volume-totalsize 150MB | grep -x "vmgroup access add succeeded" >/dev/null || fail "access add ds2"
ctl vmgroup access add --name g1 --datastore ds3 >/dev/null || fail "access add ds3"
[ "$(ctl vmgroup ls | awk '$2 == "g1" { print $NF }')" = vmA,vmB ] || fail "vmgroup ls: $(ctl vmgroup ls)"
acc=$(ctl --json vmgroup access ls --name g1)
[ "$(jq -r '.[] | select(.Datastore == "ds2") | [.Allow_create, .Max_volume_size, .Total_size] | join(" ")' <<<"$acc")" \
  = "True 100.00MB 150.00MB" ] || fail "access ls: $acc"
ok "config init --local, vmgroup create with two VMs, access add, ls (table and --json)"

# --- refused, capped, counted
a_create r@ds3 10mb; reply_err "mount-only datastore" "$API_CODE" "$API_BODY" "No create privilege"
a_create big@ds2 101mb
reply_err "over the max size" "$API_CODE" "$API_BODY" "Volume size exceeds the max volume size limit"
a_create a@ds2 100mb; reply_ok "create within the limits" "$API_CODE" "$API_BODY"
[ "$(b_create b@ds2 size=100mb)" = "Error: The total volume size exceeds the usage quota" ] \
  || fail "vmB's create over the group's quota: $(b_create b@ds2 size=100mb)"
[ "$(b_create b@ds2 size=50mb)" = null ] || fail "vmB's create up to the quota refused"
a_remove b@ds2
a_remove a@ds2
[ "$(b_create b@ds2 size=100mb)" = null ] || fail "quota not freed by remove"
[ "$(b_remove b@ds2)" = null ] || fail "vmB's remove"
ok "No create privilege, max size, quota shared by the group's VMs and freed by a remove"

# --- creates racing from both VMs for one quota
for i in 1 2 3 4 5; do
  api_save "$T/race$i" VolumeDriver.Create "{\"Name\":\"ra$i@ds2\",\"Opts\":{\"size\":\"100mb\"}}" &
  pid=$!
  rb=$(b_create "rb$i@ds2" size=100mb)
  wait $pid
  ra=$(jq -r .Err "$T/race$i")
  wins=0
  [ -z "$ra" ] && wins=$((wins + 1)) && a_remove "ra$i@ds2"
  [ "$rb" = null ] && wins=$((wins + 1)) && b_remove "rb$i@ds2" >/dev/null
  [ "$wins" = 1 ] || fail "round $i: $wins creates won (vmA: '$ra', vmB: '$rb')"
  for e in "$ra" "${rb#Error: }"; do
    [ -z "$e" ] || [ "$e" = null ] || [ "$e" = "The total volume size exceeds the usage quota" ] \
      || fail "round $i: unexpected error '$e'"
  done
done
ok "two VMs creating at once against one quota: one wins each time"

# --- a VM in no vmgroup once _DEFAULT is gone; config rm
ctl vmgroup vm rm --name g1 --vm-list vmB | grep -x "vmgroup vm rm succeeded" >/dev/null || fail "vm rm"
# _DEFAULT's folder holds free@ds2 (made without a DB): it goes with it.
ctl vmgroup rm --name _DEFAULT --remove-volumes | grep -x "All Volumes will be removed. vmgroup rm succeeded" >/dev/null \
  || fail "rm _DEFAULT"
[ "$(b_create lone size=10mb)" = "Error: VM vmB does not belong to any vmgroup" ] \
  || fail "VM in no vmgroup: $(b_create lone size=10mb)"
ctl config rm --local --confirm | grep "^Moved $ROOT/.vmdkops/auth-db to backup file " >/dev/null || fail "config rm"
[ "$(b_create lone size=10mb)" = null ] || fail "create after config rm refused"
ok "no vmgroup without _DEFAULT; config rm --local returns to NotConfigured"

# --- the text reaching `docker volume create`
if [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; then
  DSOCK=/run/docker/plugins/vsphere.sock
  if [ -S "$DSOCK" ] && curl -s --max-time 2 --unix-socket "$DSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
    echo "# docker part skipped: another plugin serves $DSOCK"
  else
    stop_vdvsd
    SOCK=$DSOCK
    on_exit '"$DOCKER" volume rm -f "cap$$@ds2" >/dev/null 2>&1 || true'
    start_vdvsd -o "vm-uuid=$UUID_A" --socket "$DSOCK" --docker-socket /var/run/docker.sock
    ctl config init --local >/dev/null
    ctl vmgroup create --name gd --default-datastore _VM_DS --vm-list vmA >/dev/null
    ctl vmgroup access add --name gd --datastore ds2 --allow-create --volume-maxsize 10MB >/dev/null
    out=$("$DOCKER" volume create --driver vsphere --name "cap$$@ds2" -o size=20mb 2>&1) \
      && fail "docker volume create over the max size succeeded"
    [[ "$out" == *"create cap$$@ds2: "*"Volume size exceeds the max volume size limit" ]] \
      || fail "docker volume create: $out"
    ok "docker volume create shows upstream's text"
  fi
else
  echo "# docker part skipped: no Docker engine"
fi
