#!/usr/bin/env bash
# Volumes per vmgroup (issue 17): with a Config DB each vmgroup's volumes
# live in dockvols/<uuid> with the dockvols/<name> alias.  vmA (vdvsd on
# the mock, plugin API) in g1 and vmB (an esxsim listener) in g2 each make
# a volume `db`, each lists and sees only its own, a mount works from the
# group's folder, a remove frees only its own group's quota, vdvsctl ls
# shows both with their vmgroup, and a VM in no vmgroup lists nothing.
# ds2 is declared vSAN: vdvsctl's policy commands and -o vsan-policy-name.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DATASTORES=datastore1,ds2
VM_NAME=vmA
UUID_A=42000000-0000-0000-0000-00000000001a
UUID_B=42000000-0000-0000-0000-00000000001b
CTL=("$VDVS_BUILD/tools/vdvsctl" --root "$ROOT" --datastores "$DATASTORES")
ctl () { "${CTL[@]}" "$@"; }
ESXCLI=$VDVS_BUILD/tests/tools/esxcli
[ -x "$ESXCLI" ] || { echo "SKIP: esxcli not built (no esx backend)"; exit 77; }
B=unix://$T/run/vmb.sock

start_vdvsd -o "vm-uuid=$UUID_A" -o vsan-datastores=ds2
"$ESXSIM" --root "$ROOT" --datastores "$DATASTORES" --backend-opt vmdkfs=off \
  --listen "$B,vm-name=vmB,vm-uuid=$UUID_B,sysfs-root=$T/vmb/sys,dev-root=$T/vmb/dev" \
  >>"$T/esxsim-b.log" 2>&1 &
ESXSIM_B=$!
on_exit 'kill -TERM $ESXSIM_B 2>/dev/null; wait $ESXSIM_B 2>/dev/null || true'
for _ in $(seq 1 100); do [ -S "$T/run/vmb.sock" ] && break; sleep 0.1; done
[ -S "$T/run/vmb.sock" ] || fail "esxsim for vmB did not come up: $(tail -5 "$T/esxsim-b.log")"

b () { "$ESXCLI" "$B" "$@" 2>/dev/null || true; }
a_list () { api_ok VolumeDriver.List '{}' | jq -r '[.Volumes[].Name] | sort | join(" ")'; }
b_list () { b list | jq -r '[.[].Name] | sort | join(" ")'; }

# --- before the DB: _DEFAULT's folder, as always
api_ok VolumeDriver.Create '{"Name":"old","Opts":{"size":"10mb"}}' >/dev/null
[ -f "$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111/old.vmdk" ] \
  || fail "no-DB volume not in _DEFAULT's folder"

# --- two vmgroups, 150MB of quota each on the VM's datastore
ctl config init --local >/dev/null || fail "config init"
ctl vmgroup create --name g1 --default-datastore _VM_DS --vm-list vmA >/dev/null || fail "g1"
ctl vmgroup create --name g2 --default-datastore _VM_DS --vm-list vmB >/dev/null || fail "g2"
for g in g1 g2; do
  ctl vmgroup access set --name $g --datastore _VM_DS --volume-totalsize 150MB >/dev/null \
    || fail "access set $g"
done
api_ok VolumeDriver.Create '{"Name":"db","Opts":{"size":"100mb"}}' >/dev/null
[ "$(b create db size=100mb)" = null ] || fail "vmB's db: $(b create db size=100mb)"
api_ok VolumeDriver.Create '{"Name":"only_a","Opts":{"size":"10mb"}}' >/dev/null
g1=$(readlink "$ROOT/datastore1/dockvols/g1") || fail "no dockvols/g1 alias"
g2=$(readlink "$ROOT/datastore1/dockvols/g2") || fail "no dockvols/g2 alias"
[ "$g1" != "$g2" ] && [ -f "$ROOT/datastore1/dockvols/$g1/db.vmdk" ] && [ -f "$ROOT/datastore1/dockvols/$g2/db.vmdk" ] \
  || fail "db not in both groups' folders: $(ls -R "$ROOT/datastore1/dockvols")"
ok "two vmgroups each create db, in dockvols/<uuid> with the name alias"

[ "$(a_list)" = "db@datastore1 only_a@datastore1" ] || fail "vmA's list: $(a_list)"
[ "$(b_list)" = "db@datastore1" ] || fail "vmB's list: $(b_list)"
[ "$(b get only_a)" = "Error: Volume only_a not found (file: /vmfs/volumes/datastore1/dockvols/g2/only_a.vmdk)" ] \
  || fail "vmB's get of vmA's volume: $(b get only_a)"
[ "$(b get db | jq -r '."created by VM"')" = vmB ] || fail "vmB's get of its db: $(b get db)"
api_err VolumeDriver.Get '{"Name":"old"}' "not found"
ok "each VM lists and gets only its vmgroup's volumes"

# --- a mount from the group's folder
mp=$(api_ok VolumeDriver.Mount '{"Name":"db","ID":"m1"}' | jq -r .Mountpoint)
echo hello > "$mp/f" || fail "write on the mounted db"
api_ok VolumeDriver.Unmount '{"Name":"db","ID":"m1"}' >/dev/null
[ "$(b get db | jq -r .status)" = detached ] || fail "vmB's db touched by vmA's mount"
ok "mount and unmount of vmA's db"

# --- quotas per group; a remove frees its own group's
api_err VolumeDriver.Create '{"Name":"x","Opts":{"size":"100mb"}}' "The total volume size exceeds the usage quota"
[ "$(b create y size=50mb)" = null ] || fail "vmB's quota taken by vmA's volumes"
api_ok VolumeDriver.Remove '{"Name":"db"}' >/dev/null
[ "$(b_list)" = "db@datastore1 y@datastore1" ] || fail "vmA's remove touched vmB's: $(b_list)"
[ "$(b create z size=1mb)" = "Error: The total volume size exceeds the usage quota" ] \
  || fail "vmB's quota freed by vmA's remove: $(b create z size=1mb)"
api_ok VolumeDriver.Create '{"Name":"x","Opts":{"size":"100mb"}}' >/dev/null
ok "quota per vmgroup, freed by a remove in that group only"

# --- vdvsctl: every group's volumes, with the vmgroup
rows=$(ctl ls | awk 'NR > 1 { print $1 ":" $NF }' | tr '\n' ' ')
[ "$rows" = "db@datastore1:g2 old@datastore1:_DEFAULT only_a@datastore1:g1 x@datastore1:g1 y@datastore1:g2 " ] \
  || fail "vdvsctl ls: $(ctl ls)"
[ "$(ctl --json ls --vmgroup g2 | jq -r '[.[].volume] | join(" ")')" = "db@datastore1 y@datastore1" ] \
  || fail "vdvsctl ls --vmgroup g2: $(ctl --json ls --vmgroup g2)"
[ "$(ctl --json inspect db | jq -r '."created-by"')" = vmB ] || fail "vdvsctl inspect db"
ok "vdvsctl ls shows every vmgroup's volumes with its name; --vmgroup; inspect"

# --- a VM in no vmgroup once _DEFAULT is gone
ctl vmgroup vm rm --name g2 --vm-list vmB >/dev/null || fail "vm rm"
# _DEFAULT's folder holds `old` (made before the DB): as upstream, the
# group goes only with its volumes.
out=$(ctl vmgroup rm --name _DEFAULT) && fail "rm of _DEFAULT with a volume succeeded"
[ "$out" = "ERROR:Internal Error(The vmgroup has volumes in it, these must be removed/migrated before deleting the vmgroup.)" ] \
  || fail "rm _DEFAULT with a volume: $out"
ctl vmgroup rm --name _DEFAULT --remove-volumes >/dev/null || fail "rm _DEFAULT"
[ ! -e "$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111/old.vmdk" ] || fail "old not removed"
[ "$(b list)" = "[]" ] || fail "list of a VM in no vmgroup: $(b list)"
[ "$(b get db)" = "Error: VM vmB does not belong to any vmgroup" ] || fail "get: $(b get db)"
[ "$(b attach db)" = "Error: VM vmB does not belong to any vmgroup" ] || fail "attach: $(b attach db)"
[ "$(b detach db)" = null ] || fail "detach: $(b detach db)"
ok "_DEFAULT removed with its volume; no vmgroup: list [], get and attach refused, detach goes ahead"

ctl config rm --local --confirm >/dev/null || fail "config rm"
api_ok VolumeDriver.Create '{"Name":"back","Opts":{"size":"10mb"}}' >/dev/null
[ "$(a_list)" = "back@datastore1" ] || fail "vmA's list after config rm: $(a_list)"
[ -f "$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111/back.vmdk" ] || fail "back not in _DEFAULT's folder"
ok "config rm: back to _DEFAULT's folder"

# --- vSAN policies on ds2
V=(--vsan-datastores ds2)
[ "$(ctl policy create --name gold --content x)" = "ERROR:Error: VSAN datastore does not exist" ] \
  || fail "policy create without a vSAN datastore"
[ "$(ctl "${V[@]}" policy create --name gold --content '(("proportionalCapacity" i50))')" \
  = "Successfully created policy: gold" ] || fail "policy create"
api_err VolumeDriver.Create '{"Name":"pv@datastore1","Opts":{"vsan-policy-name":"gold"}}' \
  "Cannot use a VSAN policy on a non-VSAN datastore"
api_err VolumeDriver.Create '{"Name":"pv@ds2","Opts":{"vsan-policy-name":"bronze"}}' \
  "Policy bronze does not exist. Available policies are: ['gold']"
api_ok VolumeDriver.Create '{"Name":"pv@ds2","Opts":{"vsan-policy-name":"gold","size":"10mb"}}' >/dev/null
[ "$(api_ok VolumeDriver.Get '{"Name":"pv@ds2"}' | jq -r '.Volume.Status."vsan-policy-name"')" = gold ] \
  || fail "Get does not show the policy: $(api VolumeDriver.Get '{"Name":"pv@ds2"}')"
[ "$(ctl ls | awk '$1 == "pv@ds2" { print $10 }')" = gold ] || fail "vdvsctl ls policy: $(ctl ls)"
[ "$(ctl "${V[@]}" --json policy ls | jq -r '.[0] | [."Policy Name", .Active] | join(":")')" = "gold:In use by 1 volumes" ] \
  || fail "policy ls: $(ctl "${V[@]}" policy ls)"
out=$(ctl "${V[@]}" policy rm --name gold) && fail "policy rm of a policy in use succeeded"
[[ "$out" == "ERROR:Cannot remove. Policy is in use by {'volume': 'pv.vmdk', 'policy': 'gold', "* ]] \
  || fail "policy rm in use: $out"
api_ok VolumeDriver.Remove '{"Name":"pv@ds2"}' >/dev/null
[ "$(ctl "${V[@]}" policy rm --name gold)" = "Successfully removed policy: gold" ] || fail "policy rm"
ok "vSAN: policy create/ls/rm, -o vsan-policy-name only on vSAN, shown by Get and vdvsctl ls"

# --- what Docker shows: only the plugin VM's vmgroup, and the policy
if [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1; then
  DSOCK=/run/docker/plugins/vsphere.sock
  if [ -S "$DSOCK" ] && curl -s --max-time 2 --unix-socket "$DSOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
    echo "# docker part skipped: another plugin serves $DSOCK"
  else
    stop_vdvsd
    SOCK=$DSOCK
    on_exit '"$DOCKER" volume rm -f "dk$$@datastore1" "pk$$@ds2" >/dev/null 2>&1 || true'
    start_vdvsd -o "vm-uuid=$UUID_A" -o vsan-datastores=ds2 --socket "$DSOCK" --docker-socket /var/run/docker.sock
    ctl config init --local >/dev/null
    ctl vmgroup create --name d1 --default-datastore _VM_DS --vm-list vmA >/dev/null
    ctl vmgroup create --name d2 --default-datastore _VM_DS --vm-list vmB >/dev/null
    ctl vmgroup access add --name d1 --datastore ds2 --allow-create >/dev/null
    "$DOCKER" volume create --driver vsphere --name "dk$$@datastore1" -o size=10mb >/dev/null || fail "docker volume create"
    [ "$(b create "dkb$$" size=10mb)" = null ] || fail "vmB's create"
    vols=$("$DOCKER" volume ls --filter driver=vsphere --format '{{.Name}}')
    grep -x "dk$$@datastore1" <<<"$vols" >/dev/null || fail "docker volume ls lacks vmA's volume: $vols"
    ! grep "dkb$$" <<<"$vols" >/dev/null || fail "docker volume ls shows vmB's volume: $vols"
    ctl "${V[@]}" policy create --name gold --content x >/dev/null || fail "policy create"
    "$DOCKER" volume create --driver vsphere --name "pk$$@ds2" -o size=10mb -o vsan-policy-name=gold >/dev/null \
      || fail "docker volume create with a policy"
    [ "$("$DOCKER" volume inspect --format '{{index .Status "vsan-policy-name"}}' "pk$$@ds2")" = gold ] \
      || fail "docker volume inspect: $("$DOCKER" volume inspect "pk$$@ds2")"
    "$DOCKER" volume rm "dk$$@datastore1" "pk$$@ds2" >/dev/null || fail "docker volume rm"
    ok "docker volume ls shows only the VM's vmgroup; inspect shows the vSAN policy"
  fi
else
  echo "# docker part skipped: no Docker engine"
fi
