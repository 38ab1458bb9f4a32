#!/usr/bin/env bash
# Faults under the plugin, through vmdkfs, with real containers:
#  - a stalled volume never delays Get/List/Path or another volume's Mount;
#  - EIO and ENOSPC injected on a volume's extent reach the container's
#    syscalls, are counted, clear when removed, leave other data untouched;
#  - vmdkfs killed during a container's writes: the container gets EIO and
#    exits, Get reports the datastore down, new attaches are refused; after
#    a restart, attaches work, the filesystem is clean and every record the
#    container fsync'd before the kill is there.
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse
[ -x "$VDVS_BUILD/fuse/vmdkfs" ] || fail "vmdkfs not built"
VDVS_TEST_VMDKFS=auto
export VDVS_VMDKFS_CTL=$T/run/vmdkfs.ctl
fault () { "$VDVS_BUILD/tools/vdvsctl" fault "$@"; }
DS=datastore1/dockvols/11111111-1111-1111-1111-111111111111

start_vdvsd
api_ok VolumeDriver.Create '{"Name":"slow","Opts":{"size":"64mb"}}' >/dev/null
api_ok VolumeDriver.Create '{"Name":"fast","Opts":{"size":"64mb"}}' >/dev/null

# --- a stalled volume does not hold up anything else
fault stall id=st path="$DS/slow-flat.vmdk" >/dev/null
api VolumeDriver.Mount '{"Name":"slow","ID":"s1"}' > "$T/slow.out" &
slow=$!
for _ in $(seq 100); do
  fault list | grep 'id=st.*matched=[1-9]' >/dev/null && break; sleep 0.1
done
fault list | grep 'id=st.*matched=[1-9]' >/dev/null || fail "stalled Mount never reached the extent"
api_ok VolumeDriver.Get '{"Name":"slow"}' >/dev/null
api_ok VolumeDriver.List '{}' | jq -e '.Volumes | length == 2' >/dev/null || fail "List during stall"
api_ok VolumeDriver.Path '{"Name":"slow"}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"fast","ID":"f1"}' | jq -r .Mountpoint)
echo data > "$mp/x" && sync
api_ok VolumeDriver.Unmount '{"Name":"fast","ID":"f1"}' >/dev/null
kill -0 $slow 2>/dev/null || fail "the stalled Mount finished before the others: stall not effective"
fault release st >/dev/null
wait $slow
[ "$(jq -r .Err "$T/slow.out")" = "" ] || fail "stalled Mount failed after release: $(cat "$T/slow.out")"
api_ok VolumeDriver.Unmount '{"Name":"slow","ID":"s1"}' >/dev/null
ok "a stalled volume does not delay Get/List/Path or another volume"

# --- the rest needs the Docker engine
if ! { [ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 && "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; }; then
  echo "SKIP: Docker engine or image $IMAGE not available: the container fault cases did not run"; exit 77
fi
stop_vdvsd || fail "vdvsd stop"
SOCK=/run/docker/plugins/vsphere.sock
if [ -S "$SOCK" ] && curl -s --max-time 2 --unix-socket "$SOCK" -d '' http://p/Plugin.Activate >/dev/null 2>&1; then
  echo "SKIP: another plugin serves $SOCK: the container fault cases did not run"; exit 77
fi
d () { "$DOCKER" "$@"; }
S=$$
on_exit 'd rm -f vdvs-f1-$S vdvs-f2-$S >/dev/null 2>&1; for v in fv$S kv$S ov$S; do d volume rm -f $v >/dev/null 2>&1; done'
start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock
d volume create -d vsphere --name "fv$S" -o size=64mb >/dev/null
d volume create -d vsphere --name "ov$S" -o size=64mb >/dev/null
d run --rm --network none -v "ov$S:/d" "$IMAGE" sh -c 'echo other > /d/o; sync'
c=vdvs-f1-$S
d run -d --name "$c" --network none -v "fv$S:/d" "$IMAGE" sh -c 'dd if=/dev/urandom of=/d/f bs=1M count=8 conv=fsync 2>/dev/null; md5sum /d/f > /d/f.md5; sync; while true; do sleep 1; done' >/dev/null
for _ in $(seq 100); do d exec "$c" test -s /d/f.md5 && break; sleep 0.1; done

# EIO on reads of this volume's extent
fault add id=eio path="$DS/fv$S-flat.vmdk" op=read errno=EIO >/dev/null
echo 3 > /proc/sys/vm/drop_caches
out=$(d exec "$c" cat /d/f 2>&1 >/dev/null) && fail "read succeeded under an EIO fault"
grep -qi "Input/output error" <<<"$out" || fail "read error is not EIO: $out"
fault list | grep 'id=eio.*injected=[1-9]' >/dev/null || fail "EIO not counted: $(fault list)"
fault clear eio >/dev/null
echo 3 > /proc/sys/vm/drop_caches
d exec "$c" md5sum -c /d/f.md5 >/dev/null || fail "data changed after the EIO fault"
ok "EIO on read reaches the container's read(2), counted, cleared"

# ENOSPC on writes
fault add id=nospc path="$DS/fv$S-flat.vmdk" op=write errno=ENOSPC >/dev/null
out=$(d exec "$c" dd if=/dev/zero of=/d/g bs=64k count=16 oflag=direct 2>&1) && fail "write succeeded under an ENOSPC fault"
grep -qiE "No space left on device|Input/output error" <<<"$out" || fail "write error: $out"
grep -qi "No space left on device" <<<"$out" || echo "note: ext4 reported the ENOSPC of its device as EIO: $out"
fault list | grep 'id=nospc.*injected=[1-9]' >/dev/null || fail "ENOSPC not counted"
fault clear nospc >/dev/null
d exec "$c" dd if=/dev/zero of=/d/g bs=64k count=16 oflag=direct 2>/dev/null || fail "write still failing after the fault was removed"
d exec "$c" md5sum -c /d/f.md5 >/dev/null || fail "data outside the faulted writes changed"
d rm -f "$c" >/dev/null
[ "$(d run --rm --network none -v "ov$S:/d" "$IMAGE" cat /d/o)" = other ] || fail "the other volume was touched"
ok "ENOSPC on write reaches the container, counted, cleared; other data intact"

# --- kill vmdkfs while a container writes and fsyncs records
c=vdvs-f2-$S
d run -d --name "$c" --network none -v "fv$S:/d" "$IMAGE" sh -c '
  i=0
  while true; do
    i=$((i+1))
    echo "record $i" >> /d/log || exit 3
    sync /d/log || exit 4
    echo "fsynced $i"
  done' >/dev/null
for _ in $(seq 100); do [ "$(d logs "$c" 2>/dev/null | wc -l)" -ge 50 ] && break; sleep 0.1; done
pid=$(cat "$T/run/vmdkfs.ctl.pid")
kill -9 "$pid"
st=$(timeout 60 "$DOCKER" wait "$c") || fail "container hung after vmdkfs was killed"
[ "$st" != 0 ] || fail "container exited 0 although its I/O failed"
last=$(d logs "$c" 2>/dev/null | grep -c '^fsynced')
ok "vmdkfs killed: the writing container got an error and exited ($st) after $last fsync'd records"

g=$(api_ok VolumeDriver.Get "{\"Name\":\"ov$S\"}")
jq -r '.Volume.Status."datastore status"' <<<"$g" | grep '^down' >/dev/null || fail "Get does not report the datastore down: $g"
api_err VolumeDriver.Mount "{\"Name\":\"ov$S\",\"ID\":\"x\"}" "unavailable"
d rm "$c" >/dev/null                       # Unmount: unmount + detach of the dead disk
ok "datastore down in Get Status, new attaches refused"

stop_vdvsd || fail "vdvsd stop"
start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock   # starts vmdkfs again
g=$(api_ok VolumeDriver.Get "{\"Name\":\"fv$S\"}")
[ "$(jq -r '.Volume.Status."datastore status"' <<<"$g")" = null ] || fail "datastore still down: $g"
[ "$(jq -r .Volume.Status.status <<<"$g")" = detached ] || fail "volume still attached: $g"
e2fsck -fy "$ROOT/$DS/fv$S-flat.vmdk" > "$T/fsck1" 2>&1 || true   # journal replay
e2fsck -fn "$ROOT/$DS/fv$S-flat.vmdk" > "$T/fsck2" 2>&1 || fail "fsck not clean: $(cat "$T/fsck2")"
n=$(d run --rm --network none -v "fv$S:/d" "$IMAGE" sh -c 'grep -c "^record" /d/log')
[ "$n" -ge "$last" ] || fail "fsync'd records lost: $n < $last"
d run --rm --network none -v "fv$S:/d" "$IMAGE" sh -c "md5sum -c /d/f.md5 >/dev/null && for i in \$(seq $last); do grep -qx \"record \$i\" /d/log || exit 1; done" \
  || fail "fsync'd data damaged"
ok "after restart: attach works, fsck clean, all $last fsync'd records intact"
d volume rm "fv$S" "ov$S" >/dev/null
