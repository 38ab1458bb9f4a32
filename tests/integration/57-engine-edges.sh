#!/usr/bin/env bash
# Engine edge cases: anonymous volumes removed by `docker rm -v`,
# `docker volume rm -f`, a volume deleted behind the engine's back, and a
# Mount whose caller gave up (the engine never sends its Unmount): reclaimed.
source "$(dirname "$0")/lib.sh"
require_root; require_loop
require_docker
require_driver_socket_free
SOCK=$DRIVER_SOCK
d () { "$DOCKER" "$@"; }
S=$$
on_exit 'd rm -f vdvs-ee-$S >/dev/null 2>&1; for v in ee$S-a ee$S-b ee$S-c; do d volume rm -f $v >/dev/null 2>&1; done'
start_vdvsd --docker-socket /var/run/docker.sock --recovery-grace 2
DIR=$ROOT/datastore1/dockvols/_DEFAULT

# --- anonymous volume, removed with the container by docker rm -v
d run --name "vdvs-ee-$S" --network none --volume-driver vsphere -v /anon "$IMAGE" sh -c 'echo x > /anon/x'
anon=$(d inspect -f '{{range .Mounts}}{{.Name}}{{end}}' "vdvs-ee-$S")
[ -f "$DIR/$anon.vmdk" ] || fail "anonymous volume $anon not on the datastore"
d rm -v "vdvs-ee-$S" >/dev/null
[ ! -e "$DIR/$anon.vmdk" ] || fail "docker rm -v left the anonymous volume"
ok "anonymous volume removed with its container by docker rm -v"

# --- docker volume rm -f
d volume create -d vsphere --name "ee$S-a" -o size=16mb >/dev/null
d run -d --name "vdvs-ee-$S" --network none -v "ee$S-a:/d" "$IMAGE" sleep 600 >/dev/null
! d volume rm -f "ee$S-a" 2>/dev/null || fail "volume rm -f removed a volume in use"
[ -f "$DIR/ee$S-a.vmdk" ] || fail "volume rm -f deleted the files of a volume in use"
d rm -f "vdvs-ee-$S" >/dev/null
for _ in $(seq 50); do grep -q " $MNT/ee$S-a@datastore1 " /proc/self/mounts || break; sleep 0.1; done
d volume rm -f "ee$S-a" >/dev/null || fail "volume rm -f"
[ ! -e "$DIR/ee$S-a.vmdk" ] || fail "volume rm -f left files"
ok "docker volume rm -f: refused in use, removes once free"

# --- deleted behind the engine's back (engine test OutOfBandDelete)
d volume create -d vsphere --name "ee$S-b" -o size=16mb >/dev/null
rm -f "$DIR/ee$S-b.vmdk" "$DIR/ee$S-b-flat.vmdk" "$DIR"/ee$S-b-*.vmfd
# No wait: vmdkfs must not serve the deleted extent under its old name to
# the create that follows at once (Create would then find the old disk).
! d volume inspect "ee$S-b" >/dev/null 2>&1 || fail "inspect of a volume deleted out of band succeeded"
d volume create -d vsphere --name "ee$S-b" -o size=32mb >/dev/null || fail "re-create after out-of-band delete"
[ "$(d volume inspect "ee$S-b" | jq -r '.[0].Status.capacity.size')" = 32MB ] || fail "re-created volume has old options"
d volume rm "ee$S-b" >/dev/null
ok "out-of-band deletion: the engine forgets it, a new create works"

# --- a Mount whose caller gave up is reclaimed
d volume create -d vsphere --name "ee$S-c" -o size=16mb >/dev/null
api_ok VolumeDriver.Mount "{\"Name\":\"ee$S-c\",\"ID\":\"gave-up\"}" >/dev/null
grep -q " $MNT/ee$S-c@datastore1 " /proc/self/mounts || fail "not mounted"
sleep 3                                    # past the recovery grace
api Plugin.Activate '' >/dev/null          # an engine (re)start triggers recovery
for _ in $(seq 150); do grep -q " $MNT/ee$S-c@datastore1 " /proc/self/mounts || break; sleep 0.2; done
! grep -q " $MNT/ee$S-c@datastore1 " /proc/self/mounts || fail "abandoned mount not reclaimed"
[ "$(d volume inspect "ee$S-c" | jq -r '.[0].Status.status')" = detached ] || fail "abandoned mount left attached"
grep -q "Recovery: no container uses volume, dropping references name=ee$S-c@datastore1" "$T/vdvsd.log" \
  || fail "reclaim not logged"
d volume rm "ee$S-c" >/dev/null
ok "a Mount nobody uses is reclaimed (unmounted, detached, logged)"
