#!/usr/bin/env bash
# Deploy vdvs to a Docker VM on ESXi and run the Docker sanity sequence
# there, over ssh.
#
#   scripts/remote.sh deploy GUEST          copy the built programs to GUEST
#   scripts/remote.sh test GUEST [ESX]      the sanity sequence on GUEST; with
#                                           ESX, also check the volume on the
#                                           ESX host's admin CLI
# Environment:
#   GUEST_USER (root)        ssh user on the guest (needs root for the plugin)
#   GUEST_PREFIX (/usr/local) where deploy puts bin/ and sbin/
#   SSH_OPTS                 extra ssh/scp options (port, identity, ...)
#   VDVS_DRIVER (vsphere)    driver name the plugin serves on the guest
#   VDVS_IMAGE (busybox)     image the sanity containers run
#   START_PLUGIN             `esx` starts vdvsd --backend esx on the guest for
#                            the test (stopped at the end); `esxsim` also
#                            starts esxsim there (no ESXi: loopback testing);
#                            empty: the plugin is already running (systemd)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
cmd=${1:-}; GUEST=${2:-}; ESX=${3:-}
[ -n "$cmd" ] && [ -n "$GUEST" ] || { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
USER_=${GUEST_USER:-root}
PREFIX=${GUEST_PREFIX:-/usr/local}
DRIVER=${VDVS_DRIVER:-vsphere}
IMAGE=${VDVS_IMAGE:-busybox}
# shellcheck disable=SC2086
rsh () { ssh -o BatchMode=yes -o ConnectTimeout=10 ${SSH_OPTS:-} "$USER_@$GUEST" "$@"; }
step () { printf '\n==> %s\n' "$*"; }
# show CMD's output and require PATTERN in it
expect () { local out; out=$(rsh "$1") || return 1; printf '%s\n' "$out"; grep -q -- "$2" <<<"$out"; }
die () { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

deploy () {
  local files=("$BUILD/src/vdvsd" "$BUILD/fuse/vmdkfs" "$BUILD/tools/vdvsctl" "$BUILD/tools/esxsim")
  for f in "${files[@]}"; do [ -x "$f" ] || die "$f not built (make)"; done
  step "deploying to $USER_@$GUEST:$PREFIX"
  rsh "mkdir -p '$PREFIX/sbin' '$PREFIX/bin'"
  # shellcheck disable=SC2086
  scp -q -o BatchMode=yes ${SSH_OPTS_SCP:-${SSH_OPTS:-}} "$BUILD/src/vdvsd" "$BUILD/fuse/vmdkfs" \
      "$BUILD/tools/esxsim" "$USER_@$GUEST:$PREFIX/sbin/"
  # shellcheck disable=SC2086
  scp -q -o BatchMode=yes ${SSH_OPTS_SCP:-${SSH_OPTS:-}} "$BUILD/tools/vdvsctl" "$USER_@$GUEST:$PREFIX/bin/"
  rsh "'$PREFIX/sbin/vdvsd' --version" || die "vdvsd does not run on the guest (missing libraries? install libmicrohttpd12 libcjson1 libcurl4 libfuse3-3 liburing2)"
  echo "deployed: $PREFIX/sbin/{vdvsd,vmdkfs,esxsim} $PREFIX/bin/vdvsctl"
}

sanity () {
  v=vdvs-sanity-$$ c=vdvs-sanity-c-$$
  started=()   # global: the EXIT trap runs after this function returned
  run="/tmp/vdvs-remote-$$"
  cleanup () {
    set +e
    rsh "docker rm -f $c >/dev/null 2>&1; docker volume rm -f $v >/dev/null 2>&1" 
    for p in "${started[@]}"; do rsh "kill $p 2>/dev/null; for i in \$(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.2; done"; done
    rsh "rm -rf $run"
  }
  trap cleanup EXIT
  step "guest $GUEST: Docker and the plugin"
  rsh "docker version --format 'engine {{.Server.Version}}'" || die "no Docker engine on $GUEST"
  if [ "${START_PLUGIN:-}" = esxsim ]; then
    rsh "mkdir -p $run && (setsid '$PREFIX/sbin/esxsim' --root $run/datastores --datastores datastore1 \
        --backend-opt vmdkfs-mount=$run/vmfs --backend-opt vmdkfs-ctl=$run/vmdkfs.ctl \
        --listen unix://$run/esx.sock,vm-name=sanity-vm,sysfs-root=$run/sys,dev-root=$run/dev \
        > $run/esxsim.log 2>&1 < /dev/null & echo \$! > $run/esxsim.pid)"
    started+=("\$(cat $run/esxsim.pid)")
    rsh "for i in \$(seq 50); do [ -S $run/esx.sock ] && exit 0; sleep 0.1; done; cat $run/esxsim.log; exit 1" || die "esxsim did not start"
    ESXURL=unix://$run/esx.sock; EXTRA="-o sysfs-root=$run/sys -o dev-root=$run/dev"
  fi
  if [ -n "${START_PLUGIN:-}" ]; then
    rsh "mkdir -p $run && (setsid '$PREFIX/sbin/vdvsd' --driver $DRIVER --backend esx \
        -o esx=${ESXURL:-vsock://2:1019} ${EXTRA:-} --state-dir $run/state \
        > $run/vdvsd.log 2>&1 < /dev/null & echo \$! > $run/vdvsd.pid)"
    started=("\$(cat $run/vdvsd.pid)" "${started[@]}")
    rsh "for i in \$(seq 50); do [ -S /run/docker/plugins/$DRIVER.sock ] && exit 0; sleep 0.1; done; cat $run/vdvsd.log; exit 1" || die "vdvsd did not start"
  fi
  rsh "test -S /run/docker/plugins/$DRIVER.sock" || die "no plugin socket /run/docker/plugins/$DRIVER.sock on $GUEST"
  echo "plugin socket /run/docker/plugins/$DRIVER.sock present"

  step "docker volume create --driver=$DRIVER --name=$v -o size=100mb"
  rsh "docker volume create --driver=$DRIVER --name=$v -o size=100mb" || die "create"
  step "docker volume ls"
  expect "docker volume ls --filter driver=$DRIVER" "$v" || die "ls does not show $v"
  step "docker volume inspect"
  expect "docker volume inspect --format '{{.Driver}} {{.Status.status}} {{index .Status.capacity \"size\"}} {{.Status.datastore}}' $v" \
    "detached 100MB" || die "inspect: unexpected status"
  step "docker run: write, then read back in a second container"
  rsh "docker run --rm -v $v:/data $IMAGE sh -c 'echo vdvs-sanity > /data/f && sync'" || die "writer container"
  rsh "docker run --rm -v $v:/data $IMAGE cat /data/f" | grep vdvs-sanity >/dev/null || die "reader container did not see the data"
  step "docker volume rm refused while a container uses it"
  rsh "docker run -d --name $c -v $v:/data $IMAGE sleep 600 >/dev/null" || die "long-running container"
  expect "docker volume inspect --format '{{.Status.status}} {{index .Status \"attached to VM\"}}' $v" attached || die "not attached while in use"
  if rsh "docker volume rm $v" 2>/dev/null; then die "volume removed while in use"; fi
  echo "refused, as it must be"
  step "docker rm -f the container, then docker volume rm"
  rsh "docker rm -f $c >/dev/null" || die "rm container"
  rsh "docker volume rm $v" || die "volume rm"
  rsh "docker volume ls -q --filter driver=$DRIVER" | grep "^$v" >/dev/null && die "volume still listed"
  if [ -n "$ESX" ]; then
    step "ESX $ESX: the volume is gone from the datastore"
    # shellcheck disable=SC2086
    if ssh -o BatchMode=yes ${SSH_OPTS:-} "root@$ESX" "/usr/lib/vmware/vmdkops/bin/vmdkops_admin.py volume ls" | grep "$v" >/dev/null; then
      die "ESX still lists $v"
    fi
  fi
  printf '\nSANITY PASSED on %s\n' "$GUEST"
}

case $cmd in
  deploy) deploy ;;
  test) sanity ;;
  *) die "unknown command $cmd (deploy|test)" ;;
esac
