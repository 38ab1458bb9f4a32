#!/usr/bin/env bash
# The complete Docker volume workflow against a real Docker engine, with
# vdvsd serving the `vsphere` driver on /run/docker/plugins/vsphere.sock.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
require_docker
require_image

require_driver_socket_free
SOCK=$DRIVER_SOCK
S=$$                               # unique names: the engine keeps metadata
V=MyVolume$S
d() { "$DOCKER" "$@"; }
containers=()
on_exit 'for c in "${containers[@]}"; do d rm -f "$c" >/dev/null 2>&1; done'
on_exit 'for v in $(d volume ls -q --filter driver=vsphere 2>/dev/null | grep "$S"); do d volume rm -f "$v" >/dev/null 2>&1; done'

start_vdvsd_docker () {
  start_vdvsd --socket "$SOCK" --docker-socket /var/run/docker.sock
}
start_vdvsd_docker

# --- create, ls, inspect
d volume create --driver=vsphere --name="$V" -o size=10gb >/dev/null
d volume ls --filter driver=vsphere | grep "$V" >/dev/null || fail "docker volume ls lacks $V"
insp=$(d volume inspect "$V")
[ "$(jq -r '.[0].Driver' <<<"$insp")" = vsphere ] || fail "driver: $insp"
[ "$(jq -r '.[0].Scope' <<<"$insp")" = global ] || fail "scope: $insp"
[ "$(jq -r '.[0].Status.capacity.size' <<<"$insp")" = 10GB ] || fail "capacity: $insp"
[ "$(jq -r '.[0].Status.diskformat' <<<"$insp")" = thin ] || fail "diskformat: $insp"
[ "$(jq -r '.[0].Status.status' <<<"$insp")" = detached ] || fail "status: $insp"
[ "$(jq -r '.[0].Status.fstype' <<<"$insp")" = ext4 ] || fail "fstype: $insp"
[ "$(jq -r '.[0].CreatedAt' <<<"$insp")" != "0001-01-01T00:00:00Z" ] || fail "CreatedAt: $insp"
ok "docker volume create, ls, inspect"

# --- one container writes, another reads
d run --rm --network none -v "$V:/data" "$IMAGE" sh -c 'echo hello > /data/f && sync' || fail "writer container"
[ "$(d run --rm --network none -v "$V:/data" "$IMAGE" cat /data/f)" = hello ] || fail "reader container"
! grep -q " $MNT/$V@datastore1 " /proc/self/mounts || fail "still mounted after containers exited"
[ "$(d volume inspect "$V" | jq -r '.[0].Status.status')" = detached ] || fail "not detached after use"
ok "container writes a file, a second container reads it back"

# --- in use: rm refused, docker cp keeps it mounted
c=vdvs-c1-$S; containers+=("$c")
d run -d --name "$c" --network none -v "$V:/data" "$IMAGE" sh -c 'while true; do sleep 1; done' >/dev/null
[ "$(d volume inspect "$V" | jq -r '.[0].Status.status')" = attached ] || fail "not attached while in use"
[ "$(d volume inspect "$V" | jq -r '.[0].Status."attached to VM"')" = testvm ] || fail "attached to VM"
! d volume rm "$V" 2>"$T/rm.err" || fail "volume rm succeeded while in use"
grep -q "in use" "$T/rm.err" || fail "unexpected rm error: $(cat "$T/rm.err")"
d cp "$c:/data/f" "$T/copied" && [ "$(cat "$T/copied")" = hello ] || fail "docker cp out"
echo cp-in > "$T/in"; d cp "$T/in" "$c:/data/in" || fail "docker cp in"
grep -q " $MNT/$V@datastore1 " /proc/self/mounts || fail "docker cp unmounted the volume of a running container"
d exec "$c" sh -c 'echo after-cp > /data/g && sync && cat /data/in' | grep cp-in >/dev/null || fail "volume unusable after docker cp"
d rm -f "$c" >/dev/null
for _ in $(seq 50); do grep -q " $MNT/$V@datastore1 " /proc/self/mounts || break; sleep 0.1; done
! grep -q " $MNT/$V@datastore1 " /proc/self/mounts || fail "not unmounted after the container went away"
d volume rm "$V" >/dev/null || fail "volume rm after container removal"
[ -z "$(find "$ROOT" -name "$V*")" ] || fail "files of $V left in the datastore"
ok "rm refused in use, docker cp in/out keeps it mounted, removed afterwards, files gone"

# --- invalid options surface with the upstream text
out=$(d volume create --driver=vsphere -o size=100mbb "bad$S" 2>&1) && fail "bad size accepted"
grep -q "Invalid format for size" <<<"$out" || fail "size error text: $out"
out=$(d volume create --driver=vsphere -o sizes=100mb "bad$S" 2>&1) && fail "bad key accepted"
grep -q "Invalid options: \['sizes'\]" <<<"$out" || fail "option error text: $out"
out=$(d volume create --driver=vsphere -o diskformat=zeroedthick,thin "bad$S" 2>&1) && fail "bad diskformat accepted"
grep -q "Disk Allocation Format 'zeroedthick,thin' is not supported" <<<"$out" || fail "diskformat text: $out"
ok "invalid options surface through docker volume create"

# --- anonymous volume with --rm, --volumes-from
d run --rm --network none --volume-driver vsphere -v /anon "$IMAGE" sh -c 'echo x > /anon/x' || fail "anonymous volume run"
[ -z "$(d volume ls -q --filter driver=vsphere | grep -E '^[0-9a-f]{64}')" ] || fail "anonymous volume not removed by --rm"
V2=shared$S
d volume create --driver=vsphere --name="$V2" -o size=50mb >/dev/null
c=vdvs-c2-$S; containers+=("$c")
d run -d --name "$c" --network none -v "$V2:/data" "$IMAGE" sh -c 'echo from-c2 > /data/f; sync; while true; do sleep 1; done' >/dev/null
sleep 0.5
[ "$(d run --rm --network none --volumes-from "$c" "$IMAGE" cat /data/f)" = from-c2 ] || fail "--volumes-from"
grep -q " $MNT/$V2@datastore1 " /proc/self/mounts || fail "--volumes-from exit unmounted a shared volume"
ok "anonymous volume removed by --rm, --volumes-from"

# --- vdvsd restart (SIGTERM, then kill -9) while a container uses the volume
stop_vdvsd || fail "vdvsd did not stop cleanly"
grep -q " $MNT/$V2@datastore1 " /proc/self/mounts || fail "vdvsd stop unmounted a volume in use"
start_vdvsd_docker
d exec "$c" sh -c 'echo after-restart >> /data/f && sync' || fail "volume unusable after vdvsd restart"
kill -9 "$VDVSD_PID"; wait "$VDVSD_PID" 2>/dev/null || true; VDVSD_PID=
start_vdvsd_docker
sleep 1   # let recovery ask the engine
grep -q " $MNT/$V2@datastore1 " /proc/self/mounts || fail "recovery unmounted a volume in use"
d exec "$c" cat /data/f | grep after-restart >/dev/null || fail "data lost across restarts"
d stop -t 1 "$c" >/dev/null
for _ in $(seq 50); do grep -q " $MNT/$V2@datastore1 " /proc/self/mounts || break; sleep 0.1; done
! grep -q " $MNT/$V2@datastore1 " /proc/self/mounts || fail "not unmounted when the container stopped after restarts"
[ "$(d volume inspect "$V2" | jq -r '.[0].Status.status')" = detached ] || fail "not detached after restarts"
d rm "$c" >/dev/null; d volume rm "$V2" >/dev/null
ok "vdvsd restart with a running container keeps the volume mounted and unmounts it later"

stop_vdvsd || fail "vdvsd did not exit cleanly"
[ ! -e "$SOCK" ] || fail "plugin socket left behind"
