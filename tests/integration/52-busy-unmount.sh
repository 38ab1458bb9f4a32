#!/usr/bin/env bash
# Unmount of a volume whose file system is still in use (a host process
# holds a file on it): the disk stays attached, and not even a restarted
# vdvsd detaches it (a hot-remove of a live file system drops its dirty
# data); once it is free, recovery detaches it on its own.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
require_docker
require_image

require_driver_socket_free
SOCK=$DRIVER_SOCK
S=$$
V=busy$S
c=vdvs-busy-$S
d() { "$DOCKER" "$@"; }
holder=
on_exit '[ -n "$holder" ] && kill "$holder" 2>/dev/null; d rm -f "$c" >/dev/null 2>&1; d volume rm -f "$V" >/dev/null 2>&1'
start () { start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock --recovery-grace 2; }
status () { d volume inspect "$V" | jq -r '.[0].Status.status'; }
start

d volume create --driver=vsphere -o size=50mb "$V" >/dev/null
d run -d --name "$c" --network none -v "$V:/data" "$IMAGE" sh -c 'echo data > /data/f; sync; sleep 3600' >/dev/null
mp=$MNT/$V@datastore1
for _ in $(seq 50); do [ -s "$mp/f" ] && break; sleep 0.1; done
sleep 3600 < "$mp/f" & holder=$!   # a host process holds the file system
d rm -f "$c" >/dev/null 2>&1 || true
for _ in $(seq 100); do grep -q "Unmount failed, volume stays attached.*$V" "$T/vdvsd.log" && break; sleep 0.1; done
grep -q "Unmount failed, volume stays attached.*$V" "$T/vdvsd.log" || fail "no failed unmount logged"
grep -q "Mount busy, detaching lazily.*$V" "$T/vdvsd.log" || fail "no lazy unmount logged"
sleep 3                             # a recovery pass or two
[ "$(status)" = attached ] || fail "detached while its file system is in use"
ok "busy unmount: the error is answered and the disk stays attached"

# a restart does not lose track of it
kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
start
for _ in $(seq 100); do grep -q "Refcounting successfully completed" "$T/vdvsd.log" && break; sleep 0.1; done
sleep 3
[ "$(status)" = attached ] || fail "a restarted vdvsd detached a disk still in use"
grep -q "Device still in use, keeping it attached.*$V" "$T/vdvsd.log" || fail "restart: no 'still in use' logged"
ok "after a restart the disk in use stays attached"

kill "$holder"; wait "$holder" 2>/dev/null || true; holder=   # released
for _ in $(seq 200); do [ "$(status)" = detached ] && break; sleep 0.1; done
[ "$(status)" = detached ] || fail "not detached once free"
[ "$(d run --rm --network none -v "$V:/data" "$IMAGE" cat /data/f)" = data ] || fail "data after the busy unmount"
d volume rm "$V" >/dev/null || fail "rm"
ok "once free, recovery detaches it; the data is intact"
