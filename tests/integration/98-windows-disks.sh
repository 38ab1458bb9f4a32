#!/usr/bin/env bash
# The Windows disk steps of vdvsd.exe under wine64, on the simulated disk
# layer (VDVS_DISK_SIM, test only: wine has no disks, no SetupAPI and no
# PowerShell).  The "attached disks" are esxsim's loop devices, found
# through the by-path links it publishes for vm1 (wine sees them under
# Z:), and read and written for real: MBR + NTFS boot sector on Create,
# access paths, online and read-only state as files of the sim directory.
# esxsim attaches loop devices: run under the machine lock.
set -euo pipefail
. "$(dirname "$0")/esx-lib.bash"
. "$(dirname "$0")/wine-lib.bash"
WINE_THEN=esx_cleanup
wine_build

PORT=$(free_port)
URL=tcp://127.0.0.1:$PORT
start_esxsim esxsim --listen "$URL,$VM1"

wine_prefix

# The disk steps alone (no ESX) on a device tree of plain files: found,
# a missing disk timing out, format once, probe, mount read-only, the
# mount table, unmount, and the errors of each.
mkdir -p "$T/ft/sys/bus/pci/devices/0000:00:17.0/pci_bus/0000:03" "$T/ft/dev/disk/by-path"
truncate -s 20M "$T/ft/img"
ln -s "$T/ft/img" "$T/ft/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0"
if ! VDVS_DISK_SIM="Z:$T/ft/sim" timeout 180 "$WINE" \
    "$WIN_BUILD/tests/windows/vdvs-disk-sim-test.exe" "Z:$T/ft/sys" "Z:$T/ft/dev" \
    'C:\users\root\mnt' > "$T/disk-sim-test.log" 2>&1; then
  tr -d '\r' < "$T/disk-sim-test.log"
  fail "vdvs-disk-sim-test.exe"
fi
tr -d '\r' < "$T/disk-sim-test.log" | grep '^ok - '
expect_eq "label read back" "$(dd if="$T/ft/img" bs=1 skip=$((2048 * 512 + 84 + 15)) count=32 status=none | tr -d '\0')" vol1

SIM=$T/disksim
ROOT='C:\users\root\AppData\Local\vsphere-storage-for-docker\mounts'
ROOTJ=${ROOT//\\/\\\\} # as JSON spells it
DS=$T/root/datastore1/dockvols/_DEFAULT

# start_vdvsd [LOG]: vdvsd.exe on the simulated disks of vm1.
start_vdvsd ()
{
  local log=${1:-$T/vdvsd.log}
  rm -f "$SPEC"
  VDVS_DISK_SIM="Z:$SIM" "$WINE" "$VDVSD" --backend esx -o "esx=$URL" \
    --sysfs-root "Z:$T/vm1/sys" --dev-root "Z:$T/vm1/dev" \
    --device-timeout 5 --log-file - > "$log" 2>&1 &
  VPID=$!
  for _ in $(seq 300); do
    [ -e "$SPEC" ] && return 0
    kill -0 "$VPID" 2>/dev/null || { cat "$log" >&2; fail "vdvsd.exe exited"; }
    sleep 0.1
  done
  fail "no spec file after 30 s"
}
stop_vdvsd ()
{
  local rc=0
  kill -INT "$VPID"
  wait "$VPID" || rc=$?
  [ "$rc" -eq 0 ] || fail "vdvsd.exe exit status $rc"
}

api ()
{
  local out
  out=$(timeout 60 "$WINE" "$CLIENT" post "$1" "$2" 2>&1) || fail "$1: $out"
  printf '%s' "$out" | tr -d '\r'
}
# hexat FILE OFFSET COUNT: the bytes as one hex string.
hexat () { od -A n -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# strat FILE OFFSET COUNT: the bytes up to the first NUL.
strat () { dd if="$1" bs=1 skip="$2" count="$3" status=none | tr -d '\0'; }
# The access paths the simulated layer holds (its path-* files).
access_paths () { cat "$SIM"/path-* 2>/dev/null | sed -n 2p; }
# disk_state N: "<online> <read-only>"
disk_state () { tr -d '\r\n' < "$SIM/state-$1"; }
log_count () { grep -c "$1" "$T/vdvsd.log" || true; }

start_vdvsd

# Create: one MBR partition from 1 MiB, NTFS, the label cut to 32.
V=dvol-with-a-long-name-for-the-ntfs-label
expect_eq "Create" "$(api /VolumeDriver.Create "{\"Name\":\"$V\",\"Opts\":{\"fstype\":\"ntfs\",\"size\":\"20mb\"}}")" '{"Err":""}'
IMG=$DS/$V-flat.vmdk
[ -f "$IMG" ] || fail "no disk image of $V in $DS: $(ls "$DS")"
expect_eq "MBR signature" "$(hexat "$IMG" 510 2)" 55aa
expect_eq "partition 1: NTFS type, from LBA 2048" "$(hexat "$IMG" 446 16 | cut -c9-10,17-24)" 0700080000
expect_eq "NTFS boot sector" "$(strat "$IMG" $((2048 * 512 + 3)) 8)" 'NTFS    '
expect_eq "label cut to 32" "$(strat "$IMG" $((2048 * 512 + 84 + 15)) 100)" "${V:0:32}"
SIG=$(hexat "$IMG" 440 4)
expect_eq "formatted once" "$(log_count 'Disk formatted')" 1
[ ! -e "$T/vm1/dev/disk/by-path" ] || [ -z "$(ls "$T/vm1/dev/disk/by-path")" ] ||
  fail "disk left attached after Create: $(ls "$T/vm1/dev/disk/by-path")"
echo "ok - detached after Create"
expect_eq "offline after Create" "$(disk_state 0)" "0 0"

# Mount: online, the access path on partition 1, the same file system.
r=$(api /VolumeDriver.Mount "{\"Name\":\"$V\",\"ID\":\"m1\"}")
expect_eq "Mount" "$r" "{\"Mountpoint\":\"$ROOTJ/$V@datastore1\",\"Err\":\"\"}"
expect_eq "access path" "$(access_paths)" "$ROOT\\$V@datastore1\\"
expect_eq "online and writable" "$(disk_state 0)" "1 0"
expect_eq "not reformatted" "$(hexat "$IMG" 440 4)" "$SIG"
expect_eq "still formatted once" "$(log_count 'Disk formatted')" 1
expect_contains "Path" "$(api /VolumeDriver.Path "{\"Name\":\"$V\"}")" "\"Mountpoint\":\"$ROOTJ/$V@datastore1\""
# Data written while mounted stays across an unmount and a mount.
DEV=$(by_path vm1 0) || fail "no by-path link for unit 0"
printf 'vdvs-data' | dd of="$DEV" bs=1 seek=$((2048 * 512 + 8192)) conv=notrunc status=none
sync

# A second mount is a reference, not a second access path.
expect_eq "Mount again (m2)" "$(api /VolumeDriver.Mount "{\"Name\":\"$V\",\"ID\":\"m2\"}")" "{\"Mountpoint\":\"$ROOTJ/$V@datastore1\",\"Err\":\"\"}"
expect_eq "one access path" "$(ls "$SIM" | grep -c '^path-')" 1
expect_eq "Unmount m1" "$(api /VolumeDriver.Unmount "{\"Name\":\"$V\",\"ID\":\"m1\"}")" '{"Err":""}'
expect_eq "still mounted for m2" "$(access_paths)" "$ROOT\\$V@datastore1\\"
expect_eq "still online" "$(disk_state 0)" "1 0"
expect_eq "Unmount m2" "$(api /VolumeDriver.Unmount "{\"Name\":\"$V\",\"ID\":\"m2\"}")" '{"Err":""}'
expect_eq "access path removed" "$(access_paths)" ""
expect_eq "offline before detach" "$(disk_state 0)" "0 0"
[ -z "$(ls "$T/vm1/dev/disk/by-path")" ] || fail "disk left attached after Unmount"
echo "ok - detached after Unmount"
expect_eq "data kept" "$(strat "$IMG" $((2048 * 512 + 8192)) 9)" vdvs-data

# A read-only volume: the disk is set read-only before its access path.
expect_eq "Create read-only" "$(api /VolumeDriver.Create '{"Name":"rvol","Opts":{"fstype":"ntfs","size":"20mb","access":"read-only"}}')" '{"Err":""}'
expect_eq "Mount read-only" "$(api /VolumeDriver.Mount '{"Name":"rvol","ID":"r1"}')" "{\"Mountpoint\":\"$ROOTJ/rvol@datastore1\",\"Err\":\"\"}"
expect_eq "read-only" "$(disk_state 0)" "1 1"
expect_eq "Unmount read-only" "$(api /VolumeDriver.Unmount '{"Name":"rvol","ID":"r1"}')" '{"Err":""}'
expect_eq "read-only volume offline" "$(disk_state 0)" "0 1"

# A volume made on ESX by this VM but never formatted (a Create that
# stopped before its format): Mount finishes it, as on Linux.  (With
# fstype=ntfs: a volume without one is taken as ext4 by the core.)
"$ESXCLI" "$URL" create halfvol size=20mb fstype=ntfs > "$T/esxcli.log" 2>&1 || fail "esxcli create: $(cat "$T/esxcli.log")"
expect_eq "Mount of a half-made volume" "$(api /VolumeDriver.Mount '{"Name":"halfvol","ID":"h1"}')" "{\"Mountpoint\":\"$ROOTJ/halfvol@datastore1\",\"Err\":\"\"}"
expect_eq "formatted by Mount" "$(log_count 'Disk formatted')" 3
expect_eq "Unmount halfvol" "$(api /VolumeDriver.Unmount '{"Name":"halfvol","ID":"h1"}')" '{"Err":""}'

# A disk holding something else than NTFS is neither formatted nor
# mounted.
"$ESXCLI" "$URL" create junkvol size=20mb fstype=ntfs > "$T/esxcli.log" 2>&1 || fail "esxcli create: $(cat "$T/esxcli.log")"
JIMG=$DS/junkvol-flat.vmdk
printf 'not a file system' | dd of="$JIMG" bs=1 seek=100 conv=notrunc status=none
r=$(api /VolumeDriver.Mount '{"Name":"junkvol","ID":"j1"}')
expect_contains "Mount of a disk without NTFS" "$r" 'holds no NTFS file system on partition 1 (found: data)'
expect_eq "junk kept" "$(strat "$JIMG" 100 17)" 'not a file system'
[ -z "$(ls "$T/vm1/dev/disk/by-path")" ] || fail "disk left attached after a failed Mount"
echo "ok - detached after a failed Mount"
expect_eq "offline after a failed Mount" "$(disk_state 0)" "0 0"

# Restart with a volume mounted: the mount table (access paths) tells
# vdvsd.exe it is mounted, and its reference count comes back.
expect_eq "Mount m3" "$(api /VolumeDriver.Mount "{\"Name\":\"$V\",\"ID\":\"m3\"}")" "{\"Mountpoint\":\"$ROOTJ/$V@datastore1\",\"Err\":\"\"}"
stop_vdvsd
expect_eq "still mounted after the exit" "$(access_paths)" "$ROOT\\$V@datastore1\\"
start_vdvsd "$T/vdvsd2.log"
expect_contains "found mounted at start" "$(tr -d '\r' < "$T/vdvsd2.log")" "Found mounted volume name=$V@datastore1 device=\\\\.\\PhysicalDrive0"
r=$(api /VolumeDriver.Get "{\"Name\":\"$V\"}")
expect_contains "Get after restart: still attached" "$r" '"attached to VM":"vm1"'
expect_eq "Unmount m3 after restart" "$(api /VolumeDriver.Unmount "{\"Name\":\"$V\",\"ID\":\"m3\"}")" '{"Err":""}'
expect_eq "access path removed after restart" "$(access_paths)" ""
expect_eq "offline" "$(disk_state 0)" "0 0"

for v in "$V" rvol halfvol junkvol; do
  expect_eq "Remove $v" "$(api /VolumeDriver.Remove "{\"Name\":\"$v\"}")" '{"Err":""}'
done
expect_eq "List after Remove" "$(api /VolumeDriver.List '{}')" '{"Volumes":[],"Err":""}'
stop_vdvsd

# A sim directory that cannot be made: the disk step says why.
SIM=$T/vdvsd.log/not-a-dir
start_vdvsd "$T/vdvsd3.log"
r=$(api /VolumeDriver.Create '{"Name":"simbad","Opts":{"fstype":"ntfs","size":"20mb"}}')
expect_contains "Create with a bad VDVS_DISK_SIM" "$r" "the simulated disk layer cannot start: VDVS_DISK_SIM=Z:$T/vdvsd.log/not-a-dir is not a directory"
stop_vdvsd
echo "PASS: vdvsd.exe's disk steps on the simulated disks under wine"
