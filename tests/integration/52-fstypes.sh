#!/usr/bin/env bash
# ext4 and xfs volumes end to end in containers: a name longer than the
# file system's label limit, write and read back in a second container,
# a clone mounted next to its source (xfs needs nouuid for that), the xfs
# minimum size; and a volume left without a file system by an interrupted
# Create, finished at the next Mount or Create only when this VM made it.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
require_docker
require_image
command -v mkfs.xfs >/dev/null || fail "no mkfs.xfs (scripts/deps.sh installs xfsprogs)"

require_driver_socket_free
SOCK=$DRIVER_SOCK
S=$$
d() { "$DOCKER" "$@"; }
on_exit 'for v in $(d volume ls -q --filter driver=vsphere 2>/dev/null | grep "$S"); do d volume rm -f "$v" >/dev/null 2>&1; done'
start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock

# source device of a mounted volume (full name)
src_of () { awk -v m="$MNT/$1" '$2 == m { print $1 }' /proc/self/mounts; }
extent_of () { find "$ROOT" -name "$1-flat.vmdk" -print -quit; }
sidecar_of () { find "$ROOT" -name "$1-*.vmfd" -print -quit; }

# --- xfs below mkfs.xfs's minimum: refused at create, naming it
out=$(d volume create --driver=vsphere -o fstype=xfs "small$S" 2>&1) && fail "xfs at the default 100mb accepted"
grep -q "too small for fstype xfs: mkfs.xfs needs at least 300mb" <<<"$out" || fail "xfs size error: $out"
out=$(d volume create --driver=vsphere -o fstype=xfs -o size=299mb "small$S" 2>&1) && fail "xfs at 299mb accepted"
grep -q "Volume size 299mb is too small" <<<"$out" || fail "xfs size error: $out"
[ -z "$(find "$ROOT" -name "small$S*")" ] || fail "a refused create left files"
ok "xfs below 300mb refused at create with the minimum in the message"

for fs in ext4 xfs; do
  case $fs in ext4) size=100mb lim=16 ;; xfs) size=300mb lim=12 ;; esac
  V=a-long-volume-name-$fs-$S
  C=clone-$fs-$S
  d volume create --driver=vsphere -o fstype=$fs -o size=$size "$V" >/dev/null || fail "create $fs $V"
  [ "$(d volume inspect "$V" | jq -r '.[0].Status.fstype')" = $fs ] || fail "$fs: fstype"
  d run --rm --network none -v "$V:/data" "$IMAGE" sh -c "echo hello-$fs > /data/f && sync" || fail "$fs: writer"
  [ "$(d run --rm --network none -v "$V:/data" "$IMAGE" cat /data/f)" = hello-$fs ] || fail "$fs: reader"
  # the label is the name cut to the file system's limit
  c=vdvs-fs-$fs-$S
  d run -d --name "$c" --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null
  on_exit "d rm -f $c >/dev/null 2>&1"
  dev=$(src_of "$V@datastore1"); [ -n "$dev" ] || fail "$fs: not mounted while in use"
  [ "$(blkid -p -o value -s TYPE "$dev")" = $fs ] || fail "$fs: type on $dev"
  [ "$(blkid -p -o value -s LABEL "$dev")" = "${V:0:$lim}" ] || fail "$fs: label $(blkid -p -o value -s LABEL "$dev")"
  d rm -f "$c" >/dev/null
  ok "$fs: created with a ${#V}-character name (label ${V:0:$lim}), written and read back in two containers"

  # a clone, mounted next to its source
  d volume create --driver=vsphere -o clone-from="$V" "$C" >/dev/null || fail "$fs: clone"
  out=$(d run --rm --network none -v "$V:/a" -v "$C:/b" "$IMAGE" \
        sh -c 'echo changed > /b/f && sync && cat /a/f /b/f') || fail "$fs: source and clone in one container"
  [ "$out" = "hello-$fs
changed" ] || fail "$fs: source and clone read: $out"
  [ "$(d run --rm --network none -v "$C:/b" "$IMAGE" cat /b/f)" = changed ] || fail "$fs: clone lost its write"
  [ "$(d run --rm --network none -v "$V:/a" "$IMAGE" cat /a/f)" = hello-$fs ] || fail "$fs: source changed"
  d volume rm "$C" "$V" >/dev/null || fail "$fs: rm"
  ok "$fs: clone mounted together with its source, each keeps its data"
done

# --- a Create stopped between attach and mkfs (no file system on it)
V=halfmade$S
d volume create --driver=vsphere "$V" >/dev/null
ext=$(extent_of "$V"); [ -f "$ext" ] || fail "no extent for $V"
dd if=/dev/zero of="$ext" bs=1M count=4 conv=notrunc status=none
[ -z "$(blkid -p -o value -s TYPE "$ext")" ] || fail "extent still has a file system"
[ "$(d run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'echo again > /data/f && cat /data/f')" = again ] \
  || fail "Mount did not finish the half-made volume"
grep -q "Volume has no filesystem: finishing its create" "$T/vdvsd.log" || fail "no resume logged"
ok "a volume of this VM left without a file system is formatted at its next Mount"

# the same through Create (as a retried create reaches the plugin)
dd if=/dev/zero of="$ext" bs=1M count=4 conv=notrunc status=none
api_ok VolumeDriver.Create "{\"Name\":\"$V\"}" >/dev/null
[ "$(blkid -p -o value -s TYPE "$ext")" = ext4 ] || fail "Create did not finish the half-made volume"
# ... and with a file system, Create answers "already exists" and leaves it
api_err VolumeDriver.Create "{\"Name\":\"$V\"}" "already exists"
[ "$(blkid -p -o value -s TYPE "$ext")" = ext4 ] || fail "existing volume changed"
ok "a half-made volume is formatted at its next Create; a whole one answers already exists"

# another VM's volume without a file system is never formatted here
dd if=/dev/zero of="$ext" bs=1M count=4 conv=notrunc status=none
sc=$(sidecar_of "$V"); [ -f "$sc" ] || fail "no sidecar for $V"
sed -i 's/"created-by":"testvm"/"created-by":"otherv"/' "$sc"
grep -q '"created-by":"otherv"' "$sc" || fail "sidecar edit: $(cat "$sc")"
out=$(d run --rm --network none -v "$V:/data" "$IMAGE" true 2>&1) && fail "another VM's blank volume mounted"
grep -q "has no filesystem and was created by VM otherv, not this VM" <<<"$out" || fail "mount error: $out"
api_err VolumeDriver.Create "{\"Name\":\"$V\"}" "already exists"
[ -z "$(blkid -p -o value -s TYPE "$ext")" ] || fail "another VM's volume was formatted"
[ "$(d volume inspect "$V" | jq -r '.[0].Status.status')" = detached ] || fail "left attached"
d volume rm "$V" >/dev/null || fail "rm $V"
ok "another VM's volume without a file system is refused, never formatted, left detached"
