#!/usr/bin/env bash
# `make run`: vdvsd on the emulated datastore, in the foreground, serving the
# `vsphere` driver at /run/docker/plugins/vsphere.sock (Ctrl-C stops it).
# Extra vdvsd flags can be given in VDVS_ARGS, e.g. VDVS_ARGS="--driver vmdk".
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
[ "$(id -u)" -eq 0 ] || { echo "make run: vdvsd needs root (loop devices, mounts)" >&2; exit 1; }
modprobe loop 2>/dev/null || true
modprobe fuse 2>/dev/null || true
echo "vdvsd: try  docker volume create --driver=vsphere --name=MyVolume -o size=10gb"
# shellcheck disable=SC2086
exec "$BUILD/src/vdvsd" --backend mock ${VDVS_ARGS:-}
