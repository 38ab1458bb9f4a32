#!/usr/bin/env bash
# vmgroup rm (issue 17) as upstream's _tenant_rm: a group with VMs needs
# --force, one with volumes needs --remove-volumes, which removes them on
# every datastore, the dockvols/<name> alias and the folders; a volume a
# VM has attached is never removed (the group stays, the mount keeps its
# data) while the others go.  vmA (vdvsd, plugin API) is in g1, vmB (an
# esxsim listener) in g2, whose volume of the same name is left alone.
# Then policy update on the vSAN datastore ds2, with a volume using it.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DATASTORES=datastore1,ds2
VM_NAME=vmA
UUID_A=42000000-0000-0000-0000-00000000002a
UUID_B=42000000-0000-0000-0000-00000000002b
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
# The output and exit code of a vdvsctl command, as "rc:text".
rm_out () { local out rc=0; out=$(ctl vmgroup rm --name "$@") || rc=$?; echo "$rc:$out"; }

ctl config init --local >/dev/null || fail "config init"
ctl vmgroup create --name g1 --default-datastore _VM_DS --vm-list vmA >/dev/null || fail "g1"
ctl vmgroup access add --name g1 --datastore ds2 --allow-create >/dev/null || fail "access add"
ctl vmgroup create --name g2 --default-datastore _VM_DS --vm-list vmB >/dev/null || fail "g2"
api_ok VolumeDriver.Create '{"Name":"v1","Opts":{"size":"10mb"}}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"v2@ds2","Opts":{"size":"10mb"}}' >/dev/null
[ "$(b create v1 size=10mb)" = null ] || fail "vmB's v1"
g1=$(readlink "$ROOT/datastore1/dockvols/g1") || fail "no dockvols/g1 alias"
g2=$(readlink "$ROOT/datastore1/dockvols/g2") || fail "no dockvols/g2 alias"
[ -L "$ROOT/ds2/dockvols/g1" ] && [ -f "$ROOT/ds2/dockvols/$g1/v2.vmdk" ] || fail "v2 not in g1's ds2 folder"

# --- refusals: VMs without --force, volumes without --remove-volumes
[ "$(rm_out g1)" = "2:ERROR:Cannot delete non-empty vmgroup g1. Remove VMs from the vmgroup before deleting it." ] \
  || fail "rm with VMs: $(rm_out g1)"
[ "$(rm_out g1 --force)" = "2:ERROR:Internal Error(The vmgroup has volumes in it, these must be removed/migrated before deleting the vmgroup.)" ] \
  || fail "rm with volumes: $(rm_out g1 --force)"
[ "$(a_list)" = "v1@datastore1 v2@ds2" ] || fail "vmA's list after refused rm: $(a_list)"
ok "vmgroup rm refused with VMs (no --force) and with volumes (no --remove-volumes)"

# --- an attached volume is never removed; the others are
mp=$(api_ok VolumeDriver.Mount '{"Name":"v1","ID":"m1"}' | jq -r .Mountpoint)
echo precious > "$mp/f" || fail "write on the mounted v1"
out=$(rm_out g1 --remove-volumes --force)
[ "$out" = "2:ERROR:Internal Error(Failed to remove volume v1, in use by VM = vmA.)" ] \
  || fail "rm --remove-volumes with v1 attached: $out"
[ -f "$ROOT/datastore1/dockvols/$g1/v1.vmdk" ] && [ -f "$ROOT/datastore1/dockvols/$g1/v1-flat.vmdk" ] \
  || fail "attached v1 removed"
[ ! -e "$ROOT/ds2/dockvols/$g1/v2.vmdk" ] || fail "v2 not removed"
[ "$(cat "$mp/f")" = precious ] || fail "data of the mounted v1 lost"
[ "$(a_list)" = "v1@datastore1" ] || fail "vmA's list: $(a_list)"
ctl --json vmgroup ls | jq -e 'any(.[]; .Name == "g1")' >/dev/null || fail "g1 gone with v1 attached"
ok "vmgroup rm --remove-volumes: attached v1 kept (and its data), v2@ds2 removed, g1 kept"

# --- detached: everything of g1 goes; g2's v1 stays
api_ok VolumeDriver.Unmount '{"Name":"v1","ID":"m1"}' >/dev/null
[ "$(rm_out g1 --remove-volumes --force)" = "0:All Volumes will be removed. vmgroup rm succeeded" ] \
  || fail "rm --remove-volumes: $(rm_out g1 --remove-volumes --force)"
for ds in datastore1 ds2; do
  [ ! -e "$ROOT/$ds/dockvols/$g1" ] && [ ! -L "$ROOT/$ds/dockvols/g1" ] \
    || fail "g1's folder or alias left on $ds: $(ls -la "$ROOT/$ds/dockvols")"
done
ctl --json vmgroup ls | jq -e 'all(.[]; .Name != "g1")' >/dev/null || fail "g1 still listed"
[ -f "$ROOT/datastore1/dockvols/$g2/v1.vmdk" ] || fail "g2's v1 removed"
[ "$(b get v1 | jq -r '."created by VM"')" = vmB ] || fail "vmB's get of its v1: $(b get v1)"
# vmA is back in _DEFAULT: its folder only.
[ "$(a_list)" = "" ] || fail "vmA's list after rm: $(a_list)"
[ "$(ctl --json ls | jq -r '[.[].volume] | join(" ")')" = "v1@datastore1" ] || fail "vdvsctl ls: $(ctl ls)"
ok "vmgroup rm --remove-volumes: volumes, alias and folders on every datastore gone; g2 untouched"

# --- policy update (vsan_policy.py update): texts; the volume keeps it
V=(--vsan-datastores ds2)
pol_out () { local out rc=0; out=$(ctl "$@") || rc=$?; echo "$rc:$out"; }
[ "$(pol_out policy update --name gold --content x)" = "2:ERROR:Error: VSAN datastore does not exist" ] \
  || fail "policy update without vSAN: $(pol_out policy update --name gold --content x)"
[ "$(pol_out "${V[@]}" policy update --name gold --content x)" = "2:ERROR:Error: Policy gold does not exist" ] \
  || fail "policy update of a missing policy: $(pol_out "${V[@]}" policy update --name gold --content x)"
ctl "${V[@]}" policy create --name gold --content '(("proportionalCapacity" i50))' >/dev/null || fail "policy create"
api_ok VolumeDriver.Create '{"Name":"pv@ds2","Opts":{"vsan-policy-name":"gold","size":"10mb"}}' >/dev/null
[ "$(pol_out "${V[@]}" policy update --name gold --content ' (("proportionalCapacity" i50)) ')" \
  = "2:ERROR:Error: New policy is identical to old policy. Ignoring." ] || fail "policy update, same content"
[ "$(pol_out "${V[@]}" policy update --name gold --content '(("proportionalCapacity" i30))')" \
  = "0:Successfully updated policy gold" ] || fail "policy update"
[ "$(ctl "${V[@]}" --json policy ls | jq -r '.[] | [."Policy Name", ."Policy Content", .Active] | join(":")')" \
  = 'gold:(("proportionalCapacity" i30)):In use by 1 volumes' ] || fail "policy ls: $(ctl "${V[@]}" policy ls)"
[ "$(api_ok VolumeDriver.Get '{"Name":"pv@ds2"}' | jq -r '.Volume.Status."vsan-policy-name"')" = gold ] \
  || fail "Get after update: $(api VolumeDriver.Get '{"Name":"pv@ds2"}')"
api_ok VolumeDriver.Remove '{"Name":"pv@ds2"}' >/dev/null
ok "policy update: upstream texts, content replaced, the volume using it keeps it"

# --- config init --datastore: the Config DB shared through a link
ctl config rm --local --confirm >/dev/null || fail "config rm --local"
out=$(ctl config init --datastore ds2) || fail "config init --datastore: $out"
[[ "$out" == *"Creating new DB at "*"/ds2/dockvols/vmdkops_config.db"*"Creating a symlink to "* ]] \
  || fail "config init --datastore: $out"
st=$(ctl config status)
[[ "$st" == *"DB_Mode: MultiNode (local symlink pointing to shared DB)"*"DB_SharedLocation: "*"/ds2/dockvols/vmdkops_config.db"* ]] \
  || fail "config status: $st"
ctl vmgroup create --name s1 --default-datastore _VM_DS --vm-list vmA >/dev/null || fail "s1"
ctl vmgroup access set --name s1 --datastore _VM_DS --volume-maxsize 10MB >/dev/null || fail "access set s1"
api_err VolumeDriver.Create '{"Name":"big","Opts":{"size":"20mb"}}' "Volume size exceeds the max volume size limit"
H2=(--auth-db "$T/host2/auth-db")
out=$(ctl "${H2[@]}" config init --datastore ds2) || fail "second host's config init: $out"
[[ "$out" != *"Creating new DB"* ]] || fail "second host made a new DB: $out"
ctl "${H2[@]}" --json vmgroup ls | jq -e 'any(.[]; .Name == "s1")' >/dev/null || fail "second host does not see s1"
ok "config init --datastore: MultiNode, vdvsd enforces the shared DB, a second host joins it"
