#!/usr/bin/env bash
# vdvsctl, the admin CLI, on the datastore a running vdvsd serves, in both
# output formats: ls (11 columns) and inspect as tables and as JSON with
# the same values; set access/attach-as with its refusals and its effect
# at the next mount (plugin API, and a container when a Docker engine is
# there); create/clone progress in vdvsd's log and on vdvsctl's stderr.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
DATASTORES=datastore1,ds2
CTL=("$VDVS_BUILD/tools/vdvsctl" --root "$ROOT" --datastores "$DATASTORES")
ctl () { "${CTL[@]}" "$@"; }
D1=$ROOT/datastore1/dockvols/11111111-1111-1111-1111-111111111111
# Whoever does the long work logs its progress: vdvsd on the mock, esxsim
# behind vdvsd --backend esx (VDVS_TEST_BACKEND=esx).
WORKLOG=$T/vdvsd.log; [ "$VDVS_TEST_BACKEND" = esx ] && WORKLOG=$T/esxsim.log
HEADER="VOLUME DATASTORE CREATED CREATED-BY ATTACHED-TO POLICY CAPACITY USED DISK-FORMAT FILESYSTEM ACCESS"

start_vdvsd

# Columns of one row of the human `ls`.  CREATED is asctime (5 words), so
# the row has 15 words: print them from CREATED-BY on, one line.
ls_row () {
  ctl ls | awk -v v="$1" '$1 == v { print $2, $8, $9, $10, $11, $12, $13, $14, $15 }'
}
ls_json () { ctl --json ls | jq -r --arg v "$1" ".[] | select(.volume == \$v) | $2"; }
get_status () { api_ok VolumeDriver.Get "{\"Name\":\"$1\"}" | jq -r ".Volume.Status.$2"; }

# --- ls and inspect, both formats
api_ok VolumeDriver.Create '{"Name":"v1","Opts":{"size":"64mb"}}' >/dev/null
ctl create v2@ds2 size=32mb diskformat=zeroedthick access=read-only >"$T/create.out" 2>"$T/create.err" \
  || fail "vdvsctl create: $(cat "$T/create.err")"
[ ! -s "$T/create.err" ] || fail "zeroedthick create printed progress: $(cat "$T/create.err")"
grep -q '^Created v2@ds2$' "$T/create.out" || fail "create output: $(cat "$T/create.out")"
[ "$(ctl ls | sed -n 1p | tr -s ' ' | sed 's/ $//')" = "$HEADER" ] || fail "ls header: $(ctl ls | sed -n 1p)"
[ "$(ctl ls | wc -l)" = 3 ] || fail "ls rows: $(ctl ls)"
# (USED of a thin volume is whatever mkfs wrote: not compared.)
[ "$(ls_row v1@datastore1 | cut -d' ' -f1-5,7-)" = "datastore1 testvm detached N/A 64MB thin ext4 read-write" ] \
  || fail "ls row v1: $(ls_row v1@datastore1)"
[ "$(ls_row v2@ds2)" = "ds2 vdvsctl detached N/A 32MB 32MB zeroedthick ext4 read-only" ] \
  || fail "ls row v2: $(ls_row v2@ds2)"
j=$(ctl --json ls)
[ "$(jq length <<<"$j")" = 2 ] || fail "ls --json length: $j"
[ "$(jq -r '.[0] | keys_unsorted[:11] | join(" ")' <<<"$j")" = "volume datastore created created-by attached-to policy capacity used diskformat fstype access" ] \
  || fail "ls --json keys: $j"
[ "$(ls_json v1@datastore1 '[.datastore, ."created-by", ."attached-to", .policy, .capacity, .diskformat, .fstype, .access] | join(" ")')" \
  = "datastore1 testvm detached N/A 64MB thin ext4 read-write" ] || fail "ls --json v1: $j"
[ "$(ls_json v2@ds2 '[.datastore, ."created-by", .capacity, .used, .diskformat, .access] | join(" ")')" \
  = "ds2 vdvsctl 32MB 32MB zeroedthick read-only" ] || fail "ls --json v2: $j"
# The human `created` is the JSON's, word for word.
[ "$(ctl ls | awk '$1 == "v2@ds2" { print $3, $4, $5, $6, $7 }')" = "$(ls_json v2@ds2 .created | tr -s ' ')" ] \
  || fail "created differs between formats"
ok "ls: 11 columns, a row per volume, same values in --json"

# --- ls -c: upstream's column names; the table's order, whatever order is typed
[ "$(ctl ls -c used,volume,attach-as,vmgroup | tr -s ' ' | sed 's/ $//')" = "VOLUME USED ATTACH-AS VMGROUP
v1@datastore1 $(ls_json v1@datastore1 .used) independent_persistent _DEFAULT
v2@ds2 32MB independent_persistent _DEFAULT" ] || fail "ls -c: $(ctl ls -c used,volume,attach-as,vmgroup)"
[ "$(ctl ls -c=disk-format,created-by | tr -s ' ' | sed 's/ $//')" = "CREATED-BY DISK-FORMAT
testvm thin
vdvsctl zeroedthick" ] || fail "ls -c=: $(ctl ls -c=disk-format,created-by)"
[ "$(ctl ls -c access | sed -n 2p)" = "read-write" ] || fail "ls -c access: last column padded"
j=$(ctl --json ls -c volume,disk-format,fstype,attach-as)
[ "$(jq -c '.[1]' <<<"$j")" = '{"volume":"v2@ds2","diskformat":"zeroedthick","fstype":"ext4","attach-as":"independent_persistent"}' ] \
  || fail "ls --json -c: $j"
# With a Config DB: the vmgroup column from the DB (default table: last).
ctl config init --local >/dev/null || fail "config init"
[ "$(ctl ls -c vmgroup,volume | tr -s ' ' | sed 's/ $//')" = "VOLUME VMGROUP
v1@datastore1 _DEFAULT
v2@ds2 _DEFAULT" ] || fail "ls -c vmgroup with a Config DB: $(ctl ls -c vmgroup,volume)"
[ "$(ctl ls | sed -n 1p | tr -s ' ' | sed 's/ $//')" = "$HEADER VMGROUP" ] || fail "ls header with a Config DB"
[ "$(ctl --json ls -c vmgroup | jq -c '.[0]')" = '{"vmgroup":"_DEFAULT"}' ] || fail "ls --json -c vmgroup"
ctl config rm --local --confirm >/dev/null || fail "config rm"
# A bad name: upstream's argparse text naming it and the valid ones, exit 2.
CHOICES="['volume','datastore','vmgroup','capacity','used','fstype','policy','disk-format','attached-to','access','attach-as','created-by','created']"
for bad in "volume,size:size" "volume, used: used" "diskformat:diskformat" ",volume:"; do
  rc=0; out=$(ctl ls -c "${bad%:*}" 2>&1) || rc=$?
  [ $rc = 2 ] || fail "ls -c ${bad%:*}: exit $rc: $out"
  [ "$out" = "vdvsctl: argument -c: invalid choices: ${bad#*:} (choices must be a comma separated list of only the following words 
 $CHOICES. No spaces are allowed between choices.)" ] || fail "ls -c ${bad%:*}: $out"
done
out=$(ctl inspect v1 -c volume 2>&1) && fail "inspect -c accepted"
[ "$out" = "vdvsctl: -c belongs to \`ls\`, not \`inspect\`" ] || fail "inspect -c: $out"
ok "ls -c: selected columns in table order (also ATTACH-AS, VMGROUP), --json those keys only; bad name refused"

i=$(ctl inspect v2@ds2)
for kv in "volume v2@ds2" "datastore ds2" "created-by vdvsctl" "attached-to detached" "policy N/A" \
          "capacity 32MB" "diskformat zeroedthick" "fstype ext4" "access read-only" "status detached" \
          "attach-as independent_persistent" "clone-from None"; do
  grep -qx "${kv%% *}: *${kv#* }" <<<"$i" || fail "inspect lacks '$kv': $i"
done
ij=$(ctl --json inspect v2@ds2)
[ "$(jq -r '[.volume, .datastore, .access, .diskformat, .status, ."attach-as"] | join(" ")' <<<"$ij")" \
  = "v2@ds2 ds2 read-only zeroedthick detached independent_persistent" ] || fail "inspect --json: $ij"
[ "$(ctl --json inspect v1 | jq -r .volume)" = v1@datastore1 ] || fail "inspect of a short name (default datastore)"
out=$(ctl inspect nope 2>&1) && fail "inspect of a missing volume succeeded"
[ "$out" = "vdvsctl: Volume nope not found (file: /vmfs/volumes/datastore1/dockvols/_DEFAULT/nope.vmdk)" ] \
  || fail "inspect missing: $out"
ok "inspect: a field a line, --json object, missing volume named"

# --- attached-to after a mount, in both formats
mp=$(api_ok VolumeDriver.Mount '{"Name":"v1","ID":"m1"}' | jq -r .Mountpoint)
echo admin-data > "$mp/file" && sync
[ "$(ls_row v1@datastore1 | cut -d' ' -f3)" = testvm ] || fail "ls attached-to: $(ls_row v1@datastore1)"
[ "$(ls_json v1@datastore1 '."attached-to"')" = testvm ] || fail "ls --json attached-to"
ctl inspect v1 | grep -x 'status: *attached' >/dev/null || fail "inspect status: $(ctl inspect v1)"
ctl inspect v1 | grep '^device: *unit ' >/dev/null || fail "inspect device: $(ctl inspect v1)"
[ "$(ctl --json inspect v1 | jq -r '.status + " " + .attachedVMDevice.Unit')" = "attached 0" ] \
  || fail "inspect --json device: $(ctl --json inspect v1)"
api_ok VolumeDriver.Unmount '{"Name":"v1","ID":"m1"}' >/dev/null
[ "$(ls_json v1@datastore1 '."attached-to"')" = detached ] || fail "still attached after unmount"
ok "attached-to follows a mount, in ls and inspect, both formats"

# --- set: access takes effect at the next mount
out=$(ctl set v1 access=read-only) || fail "set access=read-only"
head -1 <<<"$out" | grep 'Successfully updated settings.* for v1@datastore1$' >/dev/null || fail "set output: $out"
grep -qx 'access: *read-only' <<<"$out" || fail "set shows the new access: $out"
[ "$(ls_row v1@datastore1 | awk '{print $NF}')" = read-only ] || fail "ls after set"
[ "$(ls_json v1@datastore1 .access)" = read-only ] || fail "ls --json after set"
[ "$(get_status v1 access)" = read-only ] || fail "Get Status after set"
jq -e '.volOpts.access == "read-only" and .volOpts.size == "64mb" and .volOpts.fstype == "ext4"' "$D1"/v1-*.vmfd >/dev/null \
  || fail "sidecar after set: $(cat "$D1"/v1-*.vmfd)"
[ $(( $(stat -c %s "$D1"/v1-*.vmfd) % 4096 )) = 0 ] || fail "sidecar padding after set"
[ -z "$(find "$D1" -name '*.tmp*')" ] || fail "temp file left by set"
mp=$(api_ok VolumeDriver.Mount '{"Name":"v1","ID":"m2"}' | jq -r .Mountpoint)
awk -v m="$mp" '$2 == m { split($4, o, ","); print o[1] }' /proc/self/mounts | grep -x ro >/dev/null || fail "not mounted read-only"
out=$(touch "$mp/new" 2>&1) && fail "write to a read-only volume succeeded"
grep -q "Read-only file system" <<<"$out" || fail "write error: $out"
[ "$(cat "$mp/file")" = admin-data ] || fail "data unreadable read-only"
api_ok VolumeDriver.Unmount '{"Name":"v1","ID":"m2"}' >/dev/null
ctl set --volume=v1@datastore1 --options="access=read-write, attach-as=persistent" >/dev/null \
  || fail "upstream set form"
[ "$(get_status v1 access) $(get_status v1 '"attach-as"')" = "read-write persistent" ] || fail "Get after set back"
mp=$(api_ok VolumeDriver.Mount '{"Name":"v1","ID":"m3"}' | jq -r .Mountpoint)
echo writable > "$mp/new" && sync || fail "write after set back to read-write"
api_ok VolumeDriver.Unmount '{"Name":"v1","ID":"m3"}' >/dev/null
[ "$(ctl --json set v1 attach-as=independent_persistent | jq -r '."attach-as"')" = independent_persistent ] \
  || fail "set --json"
ok "set access=read-only: ls/inspect/Get show it, next mount is read-only (EROFS); set back: writable"

# Set while mounted: the running mount keeps its mode, the next one changes.
mp=$(api_ok VolumeDriver.Mount '{"Name":"v1","ID":"m4"}' | jq -r .Mountpoint)
ctl set v1 access=read-only >/dev/null
echo still > "$mp/still" || fail "a set changed a running mount"
api_ok VolumeDriver.Unmount '{"Name":"v1","ID":"m4"}' >/dev/null
[ "$(ctl --json inspect v1 | jq -r '.status + " " + .access')" = "detached read-only" ] \
  || fail "detach lost the set or the set lost the detach: $(ctl --json inspect v1)"
ctl set v1 access=read-write >/dev/null
ok "set on a mounted volume: effective at the next attach; detach keeps it"

# --- set refusals, with the exact texts; nothing changes
expect_set_err () {
  local out rc=0 want=$1; shift
  out=$(ctl set "$@" 2>&1) || rc=$?
  [ $rc = 1 ] || fail "set $* exit $rc: $out"
  [ "$out" = "vdvsctl: $want" ] || fail "set $*: got '$out', want 'vdvsctl: $want'"
}
expect_set_err "Option 'size' cannot be changed after create. Settable options: ['access', 'attach-as']" v1 size=1gb
expect_set_err "Option 'diskformat' cannot be changed after create. Settable options: ['access', 'attach-as']" \
  --volume=v1 --options=access=read-only,diskformat=thin
expect_set_err "Invalid option 'color'. Settable options: ['access', 'attach-as']" v1 color=blue
expect_set_err "Access type 'write-only' is not supported. Valid options are: ['read-write', 'read-only']" v1 access=write-only
expect_set_err "Attach type 'independent' is not supported. Valid options are: ['independent_persistent', 'persistent']" \
  v1 attach-as=independent
expect_set_err "Bad option \`access\`: expected KEY=VALUE" v1 access
expect_set_err "No option to set. Settable options: ['access', 'attach-as']" --volume=v1 --options=
expect_set_err "Volume nope not found (file: /vmfs/volumes/datastore1/dockvols/_DEFAULT/nope.vmdk)" nope access=read-only
[ "$(get_status v1 access)" = read-write ] || fail "a refused set changed access"
ok "set refuses size/diskformat/unknown keys/bad values/missing volumes with the exact texts"

# --- progress: vdvsd's log and vdvsctl's stderr
api_ok VolumeDriver.Create '{"Name":"ez","Opts":{"size":"256mb","diskformat":"eagerzeroedthick"}}' >/dev/null
grep -q 'create ez@datastore1: eagerzeroedthick 0% (0 MiB of 256 MiB) op=create' "$WORKLOG" || fail "no start line in $WORKLOG"
grep -q 'create ez@datastore1: eagerzeroedthick 100% (256 MiB of 256 MiB) op=create volume=ez@datastore1 percent=100' "$WORKLOG" \
  || fail "no 100% line in $WORKLOG"
[ "$(grep -c 'create ez@datastore1: eagerzeroedthick .*%' "$WORKLOG")" -le 12 ] || fail "progress log not paced"
api_ok VolumeDriver.Create '{"Name":"cl","Opts":{"clone-from":"v1"}}' >/dev/null
grep -q 'clone cl@datastore1: copy from v1@datastore1 100% (64 MiB of 64 MiB)' "$WORKLOG" || fail "no clone 100% line in $WORKLOG"
[ "$(get_status ez capacity.allocated)" = 256MB ] || fail "eagerzeroedthick not allocated: $(get_status ez capacity.allocated)"
ok "$(basename "$WORKLOG" .log) logs create (eagerzeroedthick) and clone progress, paced, ending at 100%"

# Not a terminal: plain lines every 10%, increasing, ending at 100%.
check_lines () { # FILE PREFIX TOTAL_MIB
  local last=-1 p n=0
  while read -r line; do
    [[ $line =~ ^"$2 "([0-9]+)"% ("([0-9]+)" MiB of $3 MiB)"$ ]] || fail "progress line '$line' in $1"
    p=${BASH_REMATCH[1]}; [ "$p" -gt "$last" ] || fail "progress not increasing in $1: $(cat "$1")"
    last=$p; n=$((n + 1))
  done < "$1"
  [ "$last" = 100 ] && [ "$n" -ge 3 ] || fail "progress in $1 does not reach 100% in steps: $(cat "$1")"
}
ctl create ez2 size=256mb diskformat=eagerzeroedthick >"$T/ez2.out" 2>"$T/ez2.err" || fail "vdvsctl create ez2: $(cat "$T/ez2.err")"
check_lines "$T/ez2.err" "create ez2@datastore1: eagerzeroedthick" 256
grep -q '^Created ez2@datastore1$' "$T/ez2.out" || fail "create output: $(cat "$T/ez2.out")"
[ "$(ls_json ez2@datastore1 '[.capacity, .used, .diskformat, .fstype, ."created-by"] | join(" ")')" \
  = "256MB 256MB eagerzeroedthick ext4 vdvsctl" ] || fail "ez2: $(ctl --json inspect ez2)"
# --json: no progress, the result on stdout.
ctl --json create ez3 size=64mb diskformat=eagerzeroedthick >"$T/ez3.out" 2>"$T/ez3.err" || fail "create --json"
[ ! -s "$T/ez3.err" ] || fail "progress with --json: $(cat "$T/ez3.err")"
[ "$(jq -r '.volume + " " + .diskformat' "$T/ez3.out")" = "ez3@datastore1 eagerzeroedthick" ] || fail "create --json: $(cat "$T/ez3.out")"
# What vdvsctl made mounts through the plugin: formatted, clone with data.
mp=$(api_ok VolumeDriver.Mount '{"Name":"ez2","ID":"e1"}' | jq -r .Mountpoint)
echo in-ez2 > "$mp/f" && sync || fail "vdvsctl-created volume not writable"
[ "$(blkid -p -o value -s LABEL "$(awk -v m="$mp" '$2 == m { print $1 }' /proc/self/mounts)")" = ez2 ] || fail "label"
api_ok VolumeDriver.Unmount '{"Name":"ez2","ID":"e1"}' >/dev/null
# vm power-off NAME: the VM is found by the name its disks' sidecars carry.
if [ "${VDVS_TEST_BACKEND:-mock}" = mock ]; then
  api_ok VolumeDriver.Mount '{"Name":"ez3","ID":"p1"}' >/dev/null
  [ "$(ctl --json inspect ez3 | jq -r '."attached-to"')" = testvm ] || fail "ez3 not attached to testvm"
  out=$(ctl vm power-off nosuchvm 2>&1) && fail "power-off of an unknown VM succeeded"
  grep -q "^vdvsctl: No VM named 'nosuchvm' has a disk attached here (VMs with disks attached: testvm (" <<<"$out" \
    || fail "power-off unknown VM: $out"
  [ "$(ctl --json vm power-off testvm)" = '{"detached": 1}' ] || fail "vm power-off testvm"
  [ "$(ctl --json inspect ez3 | jq -r .status)" = detached ] || fail "ez3 still attached after power-off"
  api_ok VolumeDriver.Unmount '{"Name":"ez3","ID":"p1"}' >/dev/null
  ok "vm power-off NAME detaches that VM's disks; an unknown name is refused naming the VMs there are"
fi
# A fully written source, so the copy has data all along to report on.
ctl clone ez2 cl2@ds2 diskformat=zeroedthick >"$T/cl2.out" 2>"$T/cl2.err" || fail "vdvsctl clone: $(cat "$T/cl2.err")"
check_lines "$T/cl2.err" "clone cl2@ds2: copy from ez2@datastore1" 256
grep -q '^Cloned cl2@ds2$' "$T/cl2.out" || fail "clone output: $(cat "$T/cl2.out")"
[ "$(ctl --json inspect cl2@ds2 | jq -r '[."clone-from", .diskformat, .used, ."created-by"] | join(" ")')" \
  = "ez2 zeroedthick 256MB vdvsctl" ] || fail "clone metadata: $(ctl --json inspect cl2@ds2)"
mp=$(api_ok VolumeDriver.Mount '{"Name":"cl2@ds2","ID":"c1"}' | jq -r .Mountpoint)
[ "$(cat "$mp/f")" = in-ez2 ] || fail "vdvsctl clone lacks the source's data"
api_ok VolumeDriver.Unmount '{"Name":"cl2@ds2","ID":"c1"}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"cl","ID":"c2"}' | jq -r .Mountpoint)
[ "$(cat "$mp/file")" = admin-data ] || fail "plugin clone lacks the source's data"
api_ok VolumeDriver.Unmount '{"Name":"cl","ID":"c2"}' >/dev/null
# Refusals keep the upstream texts and leave nothing behind.
out=$(ctl create bad diskformat=zeroedthick,thin 2>&1) && fail "bad diskformat accepted"
[ "$out" = "vdvsctl: Disk Allocation Format 'zeroedthick,thin' is not supported. Valid options are: ['zeroedthick', 'thin', 'eagerzeroedthick']." ] \
  || fail "create bad diskformat: $out"
out=$(ctl create bad fstype=nofs 2>&1) && fail "bad fstype accepted"
grep -q '^vdvsctl: Not found mkfs for nofs' <<<"$out" || fail "create bad fstype: $out"
out=$(ctl clone v1 bad size=1gb 2>&1) && fail "clone with size accepted"
[ "$out" = "vdvsctl: Cannot define the size for a clone" ] || fail "clone size: $out"
[ -z "$(find "$ROOT" -name 'bad*')" ] || fail "refused creates left files"
ok "vdvsctl create/clone: progress lines to 100% on a pipe, none with --json; results mount, clone has the data"

# --- the same with a container, when a Docker engine is there
SOCK_D=/run/docker/plugins/vsphere.sock
if [ -z "$DOCKER" ] || ! "$DOCKER" info >/dev/null 2>&1 || ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "SKIP: no Docker engine or no image $IMAGE: the docker part did not run"; exit 77
fi
if [ -S "$SOCK_D" ] && curl -s --max-time 2 --unix-socket "$SOCK_D" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
  echo "SKIP: another plugin serves $SOCK_D: the docker part did not run"; exit 77
fi
stop_vdvsd || fail "vdvsd did not stop cleanly"
S=$$
V=ctl$S
d () { "$DOCKER" "$@"; }
on_exit 'd volume rm -f "$V" >/dev/null 2>&1'
SOCK=$SOCK_D start_vdvsd --socket "$SOCK_D" --docker-socket /var/run/docker.sock
d volume create --driver=vsphere --name="$V" -o size=64mb >/dev/null || fail "docker volume create"
d run --rm --network none -v "$V:/d" "$IMAGE" sh -c 'echo one > /d/f' || fail "first write"
ctl set "$V" access=read-only >/dev/null || fail "set read-only"
[ "$(d volume inspect "$V" | jq -r '.[0].Status.access')" = read-only ] || fail "docker volume inspect access"
out=$(d run --rm --network none -v "$V:/d" "$IMAGE" sh -c 'echo two > /d/f' 2>&1) && fail "write on a read-only volume succeeded"
grep -q "Read-only file system" <<<"$out" || fail "container write error: $out"
[ "$(d run --rm --network none -v "$V:/d" "$IMAGE" cat /d/f)" = one ] || fail "read on read-only"
ctl set "$V" access=read-write >/dev/null || fail "set read-write"
d run --rm --network none -v "$V:/d" "$IMAGE" sh -c 'echo two > /d/f' || fail "write after set back"
[ "$(d run --rm --network none -v "$V:/d" "$IMAGE" cat /d/f)" = two ] || fail "data after set back"
d volume rm "$V" >/dev/null || fail "docker volume rm"
ok "docker: after vdvsctl set read-only a container's write fails (EROFS); after read-write it succeeds"
