#!/usr/bin/env bash
# Make the base image of Dockerfile.test without any container registry:
# debootstrap Debian bookworm (minbase + the build and test dependencies)
# from the apt mirror this machine is configured with, then `docker import`.
#
# Usage: scripts/make-base-image.sh [--force] [IMAGE]   (default vdvs-test-base:bookworm)
#
# The rootfs tarball is cached under $VDVS_CACHE (default /var/cache/vdvs),
# keyed by suite, mirror and package list, so a second run (or a CI run after
# the image was removed) imports in seconds instead of debootstrapping again.
# Environment: VDVS_MIRROR overrides the mirror read from /etc/apt.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || true)}
CACHE=${VDVS_CACHE:-/var/cache/vdvs}
SUITE=bookworm
force=0; IMAGE=
for a in "$@"; do
  case $a in
    --force) force=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-base-image: unknown option $a" >&2; exit 2 ;;
    *) IMAGE=$a ;;
  esac
done
IMAGE=${IMAGE:-vdvs-test-base:$SUITE}

die () { echo "make-base-image: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, docker import)"
[ -n "$DOCKER" ] && "$DOCKER" info >/dev/null 2>&1 || die "no Docker engine answers (scripts/dockerd.sh starts one)"

# The packages of scripts/deps.sh (build + test: the one list to keep up to
# date), plus make, man-db and ca-certificates for the containerized run.
# Changing either list changes the cache key.
mapfile -t PKGS < <(sed -n '/^pkgs=(/,/)/p' "$TOP/scripts/deps.sh" | sed 's/^pkgs=(//; s/)//' \
                    | tr -s ' \t' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$')
[ ${#PKGS[@]} -gt 5 ] || die "could not read the package list of scripts/deps.sh"
PKGS+=(make man-db ca-certificates)

# The Debian mirror of this machine: the first deb source serving $SUITE
# (deb822 *.sources or one-line *.list), never a hard-coded host.
find_mirror () {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit } types = suites = uris = "" }
      /^[ \t]*$/ { flush(); next }
      /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
      /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
      /^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $0 }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == suite) print $i }' "$f"
  done
}
MIRROR=${VDVS_MIRROR:-$(find_mirror | sed -n 1p)}
[ -n "$MIRROR" ] || die "no deb source for $SUITE in /etc/apt/sources.list{,.d/*}; set VDVS_MIRROR"

KEY=$(printf '%s\n' "$SUITE" "$MIRROR" "${PKGS[@]}" | sort | sha256sum | cut -c1-16)
TARBALL=$CACHE/base-$SUITE-$KEY.tar

if [ $force = 0 ] && [ "$("$DOCKER" image inspect -f '{{index .Config.Labels "vdvs.base-key"}}' "$IMAGE" 2>/dev/null)" = "$KEY" ]; then
  echo "make-base-image: $IMAGE is up to date (key $KEY)"
  exit 0
fi

if [ $force = 1 ] || [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || {
    echo "make-base-image: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
      || die "could not install debootstrap"
  }
  mkdir -p "$CACHE"
  root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'umount -R "$root/proc" "$root/sys" "$root/dev" 2>/dev/null || true; rm -rf --one-file-system "$root"' EXIT
  echo "make-base-image: debootstrap $SUITE from $MIRROR (${#PKGS[@]} packages + deps; log $CACHE/debootstrap.log)"
  start=$(date +%s)
  # debootstrap's own --include resolver trips over alternatives and
  # configure order (libfuse3-dev); apt inside the chroot does it right.
  if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" > "$CACHE/debootstrap.log" 2>&1; then
    tail -20 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (log $CACHE/debootstrap.log)"
  fi
  printf 'deb %s %s main\n' "$MIRROR" "$SUITE" > "$root/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  if ! { chroot "$root" apt-get update -qq \
         && DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends "${PKGS[@]}"; \
       } >> "$CACHE/debootstrap.log" 2>&1; then
    umount "$root/proc"
    tail -20 "$CACHE/debootstrap.log" >&2
    die "apt-get install in the new rootfs failed (log $CACHE/debootstrap.log)"
  fi
  umount "$root/proc"
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
  tar --numeric-owner --xattrs -C "$root" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  # Tarballs of older package lists are dead weight.
  find "$CACHE" -maxdepth 1 -name "base-$SUITE-*.tar" ! -name "$(basename "$TARBALL")" -delete
  echo "make-base-image: rootfs cached as $TARBALL in $(( $(date +%s) - start ))s"
fi

"$DOCKER" import -c "LABEL vdvs.base-key=$KEY" -c 'CMD ["/bin/bash"]' "$TARBALL" "$IMAGE" >/dev/null
echo "make-base-image: imported $IMAGE (key $KEY, $(du -h "$TARBALL" | cut -f1))"
