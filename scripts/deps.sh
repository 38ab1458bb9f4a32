#!/usr/bin/env bash
# Install the Debian packages vdvs needs to build, run and test, if missing.
# Usage: scripts/deps.sh [--quiet]
set -euo pipefail
quiet=${1:-}
pkgs=(meson ninja-build pkg-config gcc libc6-dev
      libfuse3-dev fuse3 liburing-dev libmicrohttpd-dev libcjson-dev
      libcurl4-openssl-dev libcriterion-dev libblkid-dev libsqlite3-dev
      e2fsprogs xfsprogs util-linux curl jq fio
      clang clang-format libclang-rt-14-dev
      docker.io busybox-static kmod procps psmisc openssh-server openssh-client
      iproute2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  [ "$quiet" = --quiet ] || echo "deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
