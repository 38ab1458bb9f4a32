#!/usr/bin/env bash
# The plugin API over its real socket, on the emulated datastore with real
# loop devices and real mounts: every endpoint, error texts, hostile input,
# refcounting, parallel mounts, restart recovery.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DATASTORES=datastore1,ds2

start_vdvsd
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode is not 0600"

# --- activation, capabilities
[ "$(api Plugin.Activate '')" = '{"Implements":["VolumeDriver"]}' ] || fail "Activate"
[ "$(api VolumeDriver.Capabilities '{}' | jq -r .Capabilities.Scope)" = global ] || fail "Capabilities"
ok "activate, capabilities"

# --- create, get, list
api_ok VolumeDriver.Create '{"Name":"MyVolume","Opts":{"size":"10gb"}}' >/dev/null
api_err VolumeDriver.Create '{"Name":"MyVolume","Opts":{"size":"10gb"}}' \
  "File /vmfs/volumes/datastore1/dockvols/_DEFAULT/MyVolume.vmdk already exists"
api_ok VolumeDriver.Create '{"Name":"nullopts","Opts":null}' >/dev/null
g=$(api_ok VolumeDriver.Get '{"Name":"MyVolume"}')
for k in '"created by VM"' created status datastore fstype diskformat '"attach-as"' access '"clone-from"'; do
  [ "$(jq -r ".Volume.Status.$k" <<<"$g")" != null ] || fail "Get Status lacks $k: $g"
done
[ "$(jq -r '.Volume.Status.capacity.size' <<<"$g")" = 10GB ] || fail "capacity: $g"
[ "$(jq -r '.Volume.Status.status' <<<"$g")" = detached ] || fail "status: $g"
[ "$(jq -r '.Volume.Status."created by VM"' <<<"$g")" = testvm ] || fail "created by: $g"
[ "$(jq -r '.Volume.Status.datastore' <<<"$g")" = datastore1 ] || fail "datastore: $g"
[[ "$(jq -r .Volume.CreatedAt <<<"$g")" =~ ^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}Z$ ]] || fail "CreatedAt: $g"
[ "$(jq -r .Volume.Mountpoint <<<"$g")" = "$MNT/MyVolume@datastore1" ] || fail "Mountpoint: $g"
l=$(api_ok VolumeDriver.List '{}')
jq -e '.Volumes[] | select(.Name == "MyVolume@datastore1")' <<<"$l" >/dev/null || fail "List: $l"
ok "create (again: already exists), Opts null, get, list"

# --- datastore layout: descriptor, flat extent, sidecar
d=$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111
grep -q '^RW 20971520 VMFS "MyVolume-flat.vmdk"' "$d/MyVolume.vmdk" || fail "descriptor"
[ "$(stat -c %s "$d/MyVolume-flat.vmdk")" = $((10 << 30)) ] || fail "flat size"
sc=$(ls "$d"/MyVolume-*.vmfd); [ $(( $(stat -c %s "$sc") % 4096 )) = 0 ] || fail "sidecar padding"
jq -e '.status == "detached" and .volOpts.size == "10gb" and .volOpts.fstype == "ext4" and .["created-by"] == "testvm"' "$sc" >/dev/null || fail "sidecar keys"
[ -L "$ROOT/datastore1/dockvols/_DEFAULT" ] || fail "_DEFAULT alias"
ok "datastore layout"

# --- upstream option and name errors
api_err VolumeDriver.Create '{"Name":"x","Opts":{"size":"100mbb"}}' "Invalid format for size."
api_err VolumeDriver.Create '{"Name":"x","Opts":{"sizes":"100mb"}}' "Invalid options: ['sizes']"
api_err VolumeDriver.Create '{"Name":"x","Opts":{"diskformat":"zeroedthickk"}}' "Disk Allocation Format 'zeroedthickk' is not supported."
api_err VolumeDriver.Create '{"Name":"x","Opts":{"access":"write-only"}}' "Access type 'write-only' is not supported."
api_err VolumeDriver.Create '{"Name":"x","Opts":{"attach-as":"foo"}}' "Attach type 'foo' is not supported."
api_err VolumeDriver.Create '{"Name":"x","Opts":{"fstype":"xfs_ext"}}' "Not found mkfs for xfs_ext"
api_err VolumeDriver.Create '{"Name":"x","Opts":{"vsan-policy-name":"p"}}' "Cannot use a VSAN policy on a non-VSAN datastore"
api_err VolumeDriver.Create '{"Name":"x","Opts":{"clone-from":"IDontExist"}}' "Could not find volume for cloning IDontExist"
api_err VolumeDriver.Create '{"Name":"x","Opts":{"clone-from":"MyVolume","size":"1gb"}}' "Cannot define the size for a clone"
api_err VolumeDriver.Create '{"Name":"x@nosuchds"}' "Invalid datastore 'nosuchds'."
api_err VolumeDriver.Create '{"Name":"../x"}' "illegal characters"
api_err VolumeDriver.Create '{"Name":"a/b"}' "illegal characters"
api_err VolumeDriver.Create "{\"Name\":\"$(printf 'a%.0s' $(seq 101))\"}" "Volume name is too long (max len is 100)"
api_err VolumeDriver.Create '{"Name":"v-000001"}' "Volume names ending with '-NNNNNN'"
api_err VolumeDriver.Create '{"Name":"bad\u0001name"}' "control characters"
api_err VolumeDriver.Create '{"Name":""}' "empty"
api_err VolumeDriver.Create '{"Opts":{}}' "Name"
api_err VolumeDriver.Create '{"Name":"x","Opts":{"size":5}}' "must have a string value"
api_err VolumeDriver.Get '{"Name":"nosuch"}' "Volume nosuch not found (file: /vmfs/volumes/datastore1/dockvols/_DEFAULT/nosuch.vmdk)"
api_ok VolumeDriver.Create "{\"Name\":\"$(printf 'b%.0s' $(seq 100))\",\"Opts\":{\"size\":\"10mb\"}}" >/dev/null
api_ok VolumeDriver.Create '{"Name":"Volume-00000","Opts":{"size":"10mb"}}' >/dev/null
[ -z "$(ls "$ROOT"/datastore1/dockvols/*/ | grep -E '^x[@.-]|^\.\.|^a$')" ] || fail "failed creates left files"
ok "upstream option and name errors, hostile names"

# --- protocol-level errors
api_err VolumeDriver.Create 'not json' "not valid JSON"
api_err VolumeDriver.Get '' "empty"
api_err VolumeDriver.Get '[1,2]' "JSON object"
api_err VolumeDriver.Frobnicate '{}' "unknown endpoint"
big=$(head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' 'a')
out=$(curl -sS --unix-socket "$SOCK" --data-binary @- -w '\n%{http_code}' http://p/VolumeDriver.Create <<<"{\"Name\":\"$big\"}")
reply_err "oversize body" "${out##*$'\n'}" "${out%$'\n'*}" "too large"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://p/VolumeDriver.List)
[ "$code" = 405 ] || fail "GET should be 405, got $code"
api_ok VolumeDriver.List '{}' >/dev/null   # still serving
ok "bad JSON, empty body, oversize body, unknown endpoint, wrong method"

# --- mount, refcount per mount ID, docker cp reusing an ID, remove refused
ID1=$(printf '1%.0s' $(seq 64)); ID2=$(printf '2%.0s' $(seq 64))
mp=$(api_ok VolumeDriver.Mount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" | jq -r .Mountpoint)
[ "$mp" = "$MNT/MyVolume@datastore1" ] || fail "mountpoint $mp"
mountpoint -q "$mp" || fail "not mounted"
echo hello > "$mp/file"; sync
[ "$(api_ok VolumeDriver.Path '{"Name":"MyVolume"}' | jq -r .Mountpoint)" = "$mp" ] || fail "Path"
g=$(api_ok VolumeDriver.Get '{"Name":"MyVolume"}')
[ "$(jq -r .Volume.Status.status <<<"$g")" = attached ] || fail "attached status"
[ "$(jq -r '.Volume.Status."attached to VM"' <<<"$g")" = testvm ] || fail "attached to VM"
jq -e '.Volume.Status.attachedVMDevice | .Unit == "0" and .ControllerPciBusNumber == "15.0"' <<<"$g" >/dev/null || fail "device: $g"
api_ok VolumeDriver.Mount "{\"Name\":\"MyVolume@datastore1\",\"ID\":\"$ID2\"}" >/dev/null
api_ok VolumeDriver.Mount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" >/dev/null   # docker cp
grep -q 'refcount=3' "$T/vdvsd.log" || fail "refcount=3 not logged"
api_ok VolumeDriver.Unmount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" >/dev/null # end of cp
mountpoint -q "$mp" || fail "docker cp's Unmount unmounted a volume in use"
api_err VolumeDriver.Remove '{"Name":"MyVolume"}' "Remove failure - volume is still mounted.  volume=MyVolume, refcount=2"
api_ok VolumeDriver.Unmount "{\"Name\":\"MyVolume\",\"ID\":\"unknown\"}" >/dev/null
mountpoint -q "$mp" || fail "Unmount with an unknown ID unmounted the volume"
api_ok VolumeDriver.Unmount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" >/dev/null
mountpoint -q "$mp" || fail "unmounted too early"
api_ok VolumeDriver.Unmount "{\"Name\":\"MyVolume\",\"ID\":\"$ID2\"}" >/dev/null
! mountpoint -q "$mp" 2>/dev/null || fail "still mounted after last Unmount"
[ "$(api_ok VolumeDriver.Get '{"Name":"MyVolume"}' | jq -r .Volume.Status.status)" = detached ] || fail "not detached"
[ -z "$(ls "$T/dev/disk/by-path/" 2>/dev/null)" ] || fail "by-path link left"
[ -z "$(api_ok VolumeDriver.Path '{"Name":"MyVolume"}' | jq -r .Mountpoint)" ] || fail "Path of unmounted volume"
ok "mount/unmount refcounts per ID, docker cp, remove refused while mounted"

# --- data survives a detach/attach cycle
mp=$(api_ok VolumeDriver.Mount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" | jq -r .Mountpoint)
[ "$(cat "$mp/file")" = hello ] || fail "data lost across detach/attach"
api_ok VolumeDriver.Unmount "{\"Name\":\"MyVolume\",\"ID\":\"$ID1\"}" >/dev/null
ok "data kept across detach/attach"

# --- read-only access, thick formats, clone, second datastore
api_ok VolumeDriver.Create '{"Name":"ro","Opts":{"size":"20mb","access":"read-only"}}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"ro","ID":"r1"}' | jq -r .Mountpoint)
grep -q " $mp ext4 ro," /proc/self/mounts || fail "read-only volume not mounted ro"
! touch "$mp/x" 2>/dev/null || fail "write to read-only volume succeeded"
api_ok VolumeDriver.Unmount '{"Name":"ro","ID":"r1"}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"thick","Opts":{"size":"64mb","diskformat":"zeroedthick"}}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"eager","Opts":{"size":"64mb","diskformat":"eagerzeroedthick"}}' >/dev/null
for v in thick eager; do
  a=$(( $(stat -c %b "$d/$v-flat.vmdk") * 512 ))
  [ $a -ge $((64 << 20)) ] || fail "$v extent not fully allocated ($a bytes): mkfs discarded it?"
done
[ "$(api_ok VolumeDriver.Get '{"Name":"eager"}' | jq -r .Volume.Status.diskformat)" = eagerzeroedthick ] || fail "diskformat"
api_ok VolumeDriver.Create '{"Name":"copy","Opts":{"clone-from":"MyVolume"}}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"copy","ID":"c1"}' | jq -r .Mountpoint)
[ "$(cat "$mp/file")" = hello ] || fail "clone lacks data"
api_ok VolumeDriver.Unmount '{"Name":"copy","ID":"c1"}' >/dev/null
[ "$(api_ok VolumeDriver.Get '{"Name":"copy"}' | jq -r '.Volume.Status."clone-from"')" = MyVolume ] || fail "clone-from"
api_ok VolumeDriver.Create '{"Name":"other@DS2","Opts":{"size":"20mb"}}' >/dev/null
[ -f "$ROOT/ds2/dockvols/_DEFAULT/other.vmdk" ] || fail "second datastore"
api_ok VolumeDriver.List '{}' | jq -e '.Volumes[] | select(.Name == "other@ds2")' >/dev/null || fail "list other@ds2"
ok "read-only, zeroedthick, eagerzeroedthick, clone-from, second datastore"

# --- 20 parallel mounts of one volume, then of 20 volumes
api_ok VolumeDriver.Create '{"Name":"shared","Opts":{"size":"20mb"}}' >/dev/null
pids=(); for i in $(seq 20); do api_save "$T/m$i" VolumeDriver.Mount "{\"Name\":\"shared\",\"ID\":\"id$i\"}" & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 20); do reply_file_ok "$T/m$i" "parallel mount $i"; done
[ "$(grep -c " $MNT/shared@datastore1 " /proc/self/mounts)" = 1 ] || fail "shared mounted more than once"
grep -q 'name=shared@datastore1 id=id[0-9]* refcount=20' "$T/vdvsd.log" || fail "refcount=20 not reached"
pids=(); for i in $(seq 20); do api_save "$T/u$i" VolumeDriver.Unmount "{\"Name\":\"shared\",\"ID\":\"id$i\"}" & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 20); do reply_file_ok "$T/u$i" "parallel unmount $i"; done
! mountpoint -q "$MNT/shared@datastore1" 2>/dev/null || fail "shared still mounted"
pids=(); for i in $(seq 20); do api_save "$T/c$i" VolumeDriver.Create "{\"Name\":\"p$i\",\"Opts\":{\"size\":\"16mb\"}}" & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 20); do reply_file_ok "$T/c$i" "parallel create $i"; done
pids=(); for i in $(seq 20); do api_save "$T/m$i" VolumeDriver.Mount "{\"Name\":\"p$i\",\"ID\":\"x\"}" & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 20); do reply_file_ok "$T/m$i" "parallel mount p$i"; done
[ "$(grep -c " $MNT/p[0-9]*@datastore1 " /proc/self/mounts)" = 20 ] || fail "20 volumes not mounted"
units=$(for i in $(seq 20); do api_ok VolumeDriver.Get "{\"Name\":\"p$i\"}" | jq -r '.Volume.Status.attachedVMDevice | .ControllerPciBusNumber + ":" + .Unit'; done | sort | uniq | wc -l)
[ "$units" = 20 ] || fail "PVSCSI units not distinct"
grep -q ':7$' <(for i in $(seq 20); do api_ok VolumeDriver.Get "{\"Name\":\"p$i\"}" | jq -r '.Volume.Status.attachedVMDevice | .ControllerPciBusNumber + ":" + .Unit'; done) && fail "unit 7 used"
pids=(); for i in $(seq 20); do api_save "$T/u$i" VolumeDriver.Unmount "{\"Name\":\"p$i\",\"ID\":\"x\"}" & pids+=($!); done; wait "${pids[@]}"
for i in $(seq 20); do reply_file_ok "$T/u$i" "parallel unmount p$i"; done
[ "$(grep -c " $MNT/p[0-9]*@datastore1 " /proc/self/mounts)" = 0 ] || fail "20 volumes still mounted"
ok "20 parallel mounts of one volume and of 20 volumes"

# --- restart: kill -9 with a mounted volume, references come back
mp=$(api_ok VolumeDriver.Mount '{"Name":"MyVolume","ID":"keep"}' | jq -r .Mountpoint)
kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
mountpoint -q "$mp" || fail "kernel mount lost with the daemon"
start_vdvsd       # stale socket replaced
sleep 1
mountpoint -q "$mp" || fail "recovery unmounted a volume with a persisted reference"
api_err VolumeDriver.Remove '{"Name":"MyVolume"}' "still mounted"
api_ok VolumeDriver.Unmount '{"Name":"MyVolume","ID":"keep"}' >/dev/null
! mountpoint -q "$mp" 2>/dev/null || fail "not unmounted after restart"
# a leftover mount that no reference claims is cleaned at start
api_ok VolumeDriver.Mount '{"Name":"ro","ID":"gone"}' >/dev/null
kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
rm -f "$T/state/refs/ro@datastore1"
start_vdvsd
for _ in $(seq 50); do mountpoint -q "$MNT/ro@datastore1" 2>/dev/null || break; sleep 0.1; done
! mountpoint -q "$MNT/ro@datastore1" 2>/dev/null || fail "unclaimed mount not cleaned"
# Recovery unmounts, then detaches: wait for the second step too (bounded).
for _ in $(seq 50); do
  [ "$(api_ok VolumeDriver.Get '{"Name":"ro"}' | jq -r .Volume.Status.status)" = detached ] && break
  sleep 0.1
done
[ "$(api_ok VolumeDriver.Get '{"Name":"ro"}' | jq -r .Volume.Status.status)" = detached ] || fail "unclaimed volume not detached"
ok "restart recovery (kill -9): references kept, unclaimed mounts cleaned"

# --- remove everything; files gone from the datastore
for v in $(api_ok VolumeDriver.List '{}' | jq -r '.Volumes[].Name'); do
  api_ok VolumeDriver.Remove "{\"Name\":\"$v\"}" >/dev/null
done
api_ok VolumeDriver.Remove '{"Name":"MyVolume"}' >/dev/null   # already gone: success
[ -z "$(find "$ROOT" -name '*.vmdk' -o -name '*.vmfd')" ] || fail "files left: $(find "$ROOT" -name '*.vmdk')"
stop_vdvsd || fail "vdvsd did not exit cleanly on SIGTERM"
[ ! -e "$SOCK" ] || fail "socket not removed on SIGTERM"
ok "remove all, clean shutdown"
