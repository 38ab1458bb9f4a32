#!/usr/bin/env bash
# vdvsd.exe (make windows) under wine64 in a private prefix, with the ESX
# backend over loopback tcp to esxsim on Linux: the real plugin API on
# \\.\pipe\vsphere-dvs, driven by the Windows test client's `post` mode.
# Here vdvsd.exe uses the real Win32 disk layer, which finds no disk under
# wine: Create stops after attach with upstream's "Disk mapping timed out"
# and rolls back, so the listed volume here is made on the ESX side
# (esxcli, same VM).  98-windows-disks.sh runs the disk steps on the
# simulated layer.
# esxsim attaches loop devices: run under the machine lock.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"
. "$(dirname "$0")/wine-lib.bash"
WINE_THEN=esx_cleanup
wine_build

PORT=$(free_port)
URL=tcp://127.0.0.1:$PORT
# A second datastore in mixed case, as vSAN's: Docker on Windows sends it
# lower-cased (below).
start_esxsim esxsim --listen "$URL,$VM1" --datastores datastore1,vsanDatastore

wine_prefix

"$WINE" "$VDVSD" --backend esx -o "esx=$URL" --device-timeout 2 --log-file - \
  > "$T/vdvsd.log" 2>&1 &
VPID=$!
for _ in $(seq 300); do
  [ -e "$SPEC" ] && break
  kill -0 "$VPID" 2>/dev/null || { cat "$T/vdvsd.log" >&2; fail "vdvsd.exe exited"; }
  sleep 0.1
done
[ -e "$SPEC" ] || fail "no spec file after 30 s"
expect_eq "spec file" "$(cat "$SPEC")" '{"Name":"vsphere","Addr":"npipe:////./pipe/vsphere-dvs"}'

# api PATH BODY: the reply body (CR dropped); a non-200 reply fails.
api ()
{
  local out
  out=$(timeout 60 "$WINE" "$CLIENT" post "$1" "$2" 2>&1) || fail "$1: $out"
  printf '%s' "$out" | tr -d '\r'
}

expect_eq "Activate" "$(api /Plugin.Activate '')" '{"Implements":["VolumeDriver"]}'
expect_eq "Capabilities" "$(api /VolumeDriver.Capabilities '')" '{"Capabilities":{"Scope":"global"},"Err":""}'

# Create: upstream's errors for a bad option (from ESX) and a file system
# Windows does not have (checked before ESX is asked).
expect_contains "Create with an unknown option" \
  "$(api /VolumeDriver.Create '{"Name":"bad","Opts":{"fstype":"ntfs","colour":"red"}}')" \
  'Invalid option'
expect_eq "Create with fstype ext4" \
  "$(api /VolumeDriver.Create '{"Name":"winvol","Opts":{"fstype":"ext4"}}')" \
  '{"Err":"Not found mkfs for ext4\nSupported filesystems: ntfs"}'
# With options ESX accepts: created and attached on ESX, then no disk
# shows up under wine (no SetupAPI disks), and the volume is rolled back.
r=$(api /VolumeDriver.Create '{"Name":"winvol","Opts":{"fstype":"ntfs","size":"20mb","diskformat":"thin"}}')
expect_eq "Create stops at the disk step" "$r" '{"Err":"Disk mapping timed out "}'
l=$("$ESXCLI" "$URL" list 2>&1)
[[ $l != *winvol* ]] || fail "winvol left on ESX after the failed Create: $l"
echo "ok - rolled back on ESX"

# A volume made on the ESX side: List, Get, Path, Remove through vdvsd.exe.
"$ESXCLI" "$URL" create esxvol size=10mb > "$T/esxcli.log" 2>&1 || fail "esxcli create: $(cat "$T/esxcli.log")"
r=$(api /VolumeDriver.List '{}')
expect_contains "List" "$r" '{"Volumes":[{"Name":"esxvol@datastore1","Mountpoint":"C:\\users\\root\\AppData'
expect_contains "List: no error" "$r" '"Err":""}'
expect_contains "Get" "$(api /VolumeDriver.Get '{"Name":"esxvol"}')" '"Name":"esxvol"'
r=$(api /VolumeDriver.Get '{"Name":"esxvol"}')
expect_contains "Get status" "$r" '"capacity":{"size":"10MB"'
# upstream's asctime `created` as RFC 3339 (strptime of posix.c)
expect_contains "Get CreatedAt" "$r" '"CreatedAt":"20'
expect_contains "Path of an unmounted volume" "$(api /VolumeDriver.Path '{"Name":"esxvol"}')" '"Err":""}'
r=$(api /VolumeDriver.Get '{"Name":"nosuch"}')
expect_contains "Get of a missing volume" "$r" '"Err":"'
expect_contains "Get of a missing volume names it" "$r" 'nosuch'
expect_eq "Remove" "$(api /VolumeDriver.Remove '{"Name":"esxvol"}')" '{"Err":""}'
expect_eq "List after Remove" "$(api /VolumeDriver.List '{}')" '{"Volumes":[],"Err":""}'

# Names (upstream's Windows plugin): List lower-cases every name, as
# Docker on Windows does, and keeps ESX's spelling in the Mountpoint.
# A datastore Docker sends lower-cased is the one ESX has (ESX matches
# it ignoring case): the volume's folder is named with ESX's spelling.
"$ESXCLI" "$URL" create cvol1@vsanDatastore size=10mb > "$T/esxcli.log" 2>&1 || fail "esxcli create: $(cat "$T/esxcli.log")"
"$ESXCLI" "$URL" create MixVol size=10mb > "$T/esxcli.log" 2>&1 || fail "esxcli create: $(cat "$T/esxcli.log")"
r=$(api /VolumeDriver.List '{}')
expect_contains "List: lower-cased datastore" "$r" '{"Name":"cvol1@vsandatastore","Mountpoint":"C:\\users\\root\\AppData\\Local\\vsphere-storage-for-docker\\mounts/cvol1@vsanDatastore"}'
expect_contains "List: lower-cased volume" "$r" '{"Name":"mixvol@datastore1","Mountpoint":"C:\\users\\root\\AppData\\Local\\vsphere-storage-for-docker\\mounts/MixVol@datastore1"}'
r=$(api /VolumeDriver.Get '{"Name":"cvol1@vsandatastore"}')
expect_contains "Get of a lower-cased datastore: no error" "$r" '"Err":""}'
expect_contains "Get of a lower-cased datastore: its folder" "$r" '"Name":"cvol1@vsandatastore","Mountpoint":"C:\\users\\root\\AppData\\Local\\vsphere-storage-for-docker\\mounts/cvol1@vsanDatastore"'
expect_contains "Get of a lower-cased datastore: ESX's datastore" "$r" '"datastore":"vsanDatastore"'
# Mount resolves the same way (then fails: no disk under wine).
r=$(api /VolumeDriver.Mount '{"Name":"cvol1@vsandatastore","ID":"c1"}')
[[ $r == '{"Err":"'?* ]] || fail "Mount of cvol1@vsandatastore did not fail: $r"
expect_contains "Mount used ESX's spelling" "$(tr -d '\r' < "$T/vdvsd.log")" 'Mount failed name=cvol1@vsanDatastore '
# A volume whose name has capitals cannot be reached from Windows
# (upstream #2033): Docker only ever sends `mixvol`.
expect_contains "Get of mixvol" "$(api /VolumeDriver.Get '{"Name":"mixvol"}')" '"Err":"Volume mixvol not found'
# Windows' reserved names and characters a folder name cannot hold.
expect_contains "Create con" "$(api /VolumeDriver.Create '{"Name":"con"}')" \
  '"Err":"Volume name `con` cannot be a reserved word for Windows filenames: CON, PRN, AUX, NUL, COM1-COM9 and LPT1-LPT9'
expect_contains "Get lpt1.txt@datastore1" "$(api /VolumeDriver.Get '{"Name":"lpt1.txt@datastore1"}')" \
  'Volume name `lpt1.txt@datastore1` cannot be a reserved word for Windows filenames'
expect_contains "Create a:b" "$(api /VolumeDriver.Create '{"Name":"a:b"}')" \
  '"Err":"Volume name `a:b` contains `:`, which a Windows folder name cannot hold; a volume name on Windows cannot contain any of \\ / : * ? \" < > |"'
l=$("$ESXCLI" "$URL" list 2>&1)
[[ $l != *con* && $l != *a:b* ]] || fail "a refused name reached ESX: $l"
echo "ok - refused names never reach ESX"
expect_eq "Remove cvol1@vsandatastore" "$(api /VolumeDriver.Remove '{"Name":"cvol1@vsandatastore"}')" '{"Err":""}'
"$ESXCLI" "$URL" remove MixVol > "$T/esxcli.log" 2>&1 || fail "esxcli remove: $(cat "$T/esxcli.log")"
expect_eq "List after the names" "$(api /VolumeDriver.List '{}')" '{"Volumes":[],"Err":""}'

# Upstream's places, from the Known Folders API.
expect_contains "mount root" "$(tr -d '\r' < "$T/vdvsd.log")" \
  'mount_root=C:\users\root\AppData\Local\vsphere-storage-for-docker\mounts '
[ -d "$WINEPREFIX/drive_c/ProgramData/vsphere-storage-for-docker/state/vsphere/refs" ] ||
  fail "no state dir under C:\ProgramData\vsphere-storage-for-docker"
echo "ok - state dir"

# ESX down: Winsock's error reaches the user as on Linux.
stop_esxsim
expect_contains "List with ESX down" "$(api /VolumeDriver.List '{}')" \
  "Failed to connect to the ESX service at $URL: Connection refused"

# Ctrl-C (wine turns SIGINT into CTRL_C_EVENT): a clean exit that
# removes the spec file.
kill -INT "$VPID"
rc=0; timeout 30 tail --pid="$VPID" -f /dev/null || rc=$?
[ "$rc" -eq 0 ] || fail "vdvsd.exe still running 30 s after Ctrl-C"
rc=0; wait "$VPID" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/vdvsd.log" >&2; fail "vdvsd.exe exit status $rc"; }
grep -q '\[INFO\] Stopped' "$T/vdvsd.log" || fail "vdvsd.exe did not stop cleanly"
[ ! -e "$SPEC" ] || fail "spec file left after a clean exit"
echo "ok - Ctrl-C: clean exit, spec file removed"
echo "PASS: vdvsd.exe under wine served the plugin API with the ESX backend"
