#!/usr/bin/env bash
# Mount flags as upstream and Docker's local driver: by default a volume is
# mounted without nosuid and nodev, so a setuid binary and a device node on
# it work; MountOptions (config file or --mount-options) adds flags such as
# nosuid,nodev, and an unknown option stops the daemon with a clear error.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
command -v setpriv >/dev/null || { echo "SKIP: needs setpriv"; exit 77; }
VDVS_TEST_VMDKFS=off
chmod 755 "$T" # an unprivileged user runs the setuid binary below

# opts_of MOUNTPOINT: its per-mount options (mountinfo field 6).
opts_of () { awk -v m="$1" '$5 == m { print $6 }' /proc/self/mountinfo | tail -1; }
# As nobody, run the volume's setuid-root copy of id: prints the euid.
euid_of_setuid () { setpriv --reuid=65534 --regid=65534 --clear-groups "$1/id" -u 2>&1; }

start_vdvsd
api_ok VolumeDriver.Create '{"Name":"v","Opts":{"size":"16mb"}}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"v","ID":"m1"}' | jq -r .Mountpoint)
o=$(opts_of "$mp")
[[ ",$o," != *,nosuid,* && ",$o," != *,nodev,* ]] || fail "default mount has '$o'"
cp "$(command -v id)" "$mp/id" && chmod 4755 "$mp/id"
mknod "$mp/null" c 1 3 && chmod 666 "$mp/null"
[ "$(euid_of_setuid "$mp")" = 0 ] || fail "setuid bit ignored by default: $(euid_of_setuid "$mp")"
echo x > "$mp/null" || fail "device node unusable by default"
ok "default mount ($o): a setuid binary runs as its owner, a device node opens"
api_ok VolumeDriver.Unmount '{"Name":"v","ID":"m1"}' >/dev/null
stop_vdvsd || fail "vdvsd did not stop cleanly"

# An unknown option: the daemon does not start, and says which and why.
if out=$(timeout 10 "$VDVSD" --socket "$SOCK" --mount-root "$MNT" --state-dir "$T/state" \
           --mount-options nosuid,nodevv 2>&1); then
  fail "vdvsd started with --mount-options nosuid,nodevv"
fi
[[ "$out" == *'mount option `nodevv` in `nosuid,nodevv` is not supported; valid options (comma-separated): nosuid, nodev,'* ]] \
  || fail "unclear error: $out"
ok "unknown mount option refused: $out"

# MountOptions from the config file.
echo '{"MountOptions":"nosuid,nodev"}' > "$T/vdvs.conf"
start_vdvsd --config "$T/vdvs.conf"
mp=$(api_ok VolumeDriver.Mount '{"Name":"v","ID":"m2"}' | jq -r .Mountpoint)
o=$(opts_of "$mp")
[[ ",$o," == *,nosuid,* && ",$o," == *,nodev,* ]] || fail "MountOptions not applied: '$o'"
[ "$(euid_of_setuid "$mp")" = 65534 ] || fail "nosuid: $(euid_of_setuid "$mp")"
! (echo x > "$mp/null") 2>/dev/null || fail "nodev: device node opened"
ok "MountOptions nosuid,nodev: mounted $o, setuid ignored, device node refused"
api_ok VolumeDriver.Unmount '{"Name":"v","ID":"m2"}' >/dev/null
stop_vdvsd || fail "vdvsd did not stop cleanly"

# The flag wins over the file.
start_vdvsd --config "$T/vdvs.conf" --mount-options noexec
mp=$(api_ok VolumeDriver.Mount '{"Name":"v","ID":"m3"}' | jq -r .Mountpoint)
o=$(opts_of "$mp")
[[ ",$o," == *,noexec,* && ",$o," != *,nosuid,* ]] || fail "--mount-options noexec: '$o'"
ok "--mount-options overrides the file: $o"
api_ok VolumeDriver.Unmount '{"Name":"v","ID":"m3"}' >/dev/null
api_ok VolumeDriver.Remove '{"Name":"v"}' >/dev/null
