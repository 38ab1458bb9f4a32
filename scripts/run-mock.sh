#!/usr/bin/env bash
# `make run`: vdvsd on the emulated datastore, in the foreground, serving the
# `vsphere` driver at /run/docker/plugins/vsphere.sock (Ctrl-C stops it).
# First, so the README's quick start works as printed in a second shell: a
# Docker engine (scripts/dockerd.sh starts one when none answers) and a local
# `busybox` image (busybox-static imported, as the tests make theirs) when
# none exists, since no registry may be reachable.
# Extra vdvsd flags can be given in VDVS_ARGS, e.g. VDVS_ARGS="--driver vmdk".
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
[ "$(id -u)" -eq 0 ] || { echo "make run: vdvsd needs root (loop devices, mounts)" >&2; exit 1; }
modprobe loop 2>/dev/null || true
modprobe fuse 2>/dev/null || true
if VDVS_TEST_IMAGE=busybox:latest "$TOP/scripts/dockerd.sh"; then
  echo "make run: Docker engine up; image busybox:latest present"
else
  echo "make run: no Docker engine (above); vdvsd starts anyway, docker commands will fail" >&2
fi
echo "vdvsd: in another shell, the README's quick start:  docker volume create --driver=vsphere --name=MyVolume -o size=10gb"
# shellcheck disable=SC2086
exec "$BUILD/src/vdvsd" --backend mock ${VDVS_ARGS:-}
