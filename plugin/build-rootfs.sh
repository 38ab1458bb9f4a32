#!/usr/bin/env bash
# Build the managed (v2) plugin directory: DIR/config.json + DIR/rootfs, from
# the programs of a build dir and the host's tools, with no network and no
# image: the built binaries, every shared library they need (ldd), mkfs for
# ext4 and xfs, fusermount3 and busybox (a shell for debugging).
#
# Usage: plugin/build-rootfs.sh BUILD_DIR OUT_DIR
# Then:  docker plugin create vsphere:latest OUT_DIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
OUT=$2
die () { echo "plugin: $*" >&2; exit 1; }

progs=("$BUILD/src/vdvsd" "$BUILD/fuse/vmdkfs" "$BUILD/tools/vdvsctl")
for p in "${progs[@]}"; do [ -x "$p" ] || die "missing $p (make build first)"; done
# Host tools the plugin runs: mkfs.<fstype> (vdvsd looks in /sbin,
# /usr/sbin, /bin, /usr/bin), fusermount3 (libfuse's fallback), busybox.
tools=()
for t in mke2fs mkfs.xfs fusermount3 busybox; do
  p=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v "$t") || die "$t not installed (e2fsprogs, xfsprogs, fuse3, busybox-static)"
  tools+=("$(readlink -f "$p")")
done

rm -rf "$OUT"
R=$OUT/rootfs
mkdir -p "$R"/{usr/sbin,usr/bin,etc,tmp,proc,sys,dev,run/docker/plugins,mnt/vmdk,var/lib/vdvs,var/log}
chmod 1777 "$R/tmp"
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"
ln -s ../run "$R/var/run"

for p in "${progs[@]}"; do install -m 0755 "$p" "$R/usr/sbin/"; done
for t in "${tools[@]}"; do install -m 0755 "$t" "$R/usr/sbin/"; done
ln -s mke2fs "$R/usr/sbin/mkfs.ext4"
ln -s mke2fs "$R/usr/sbin/mkfs.ext3"
ln -s ../sbin/busybox "$R/usr/bin/sh"
[ -f /etc/mke2fs.conf ] && install -m 0644 /etc/mke2fs.conf "$R/etc/"

# Shared libraries, with their directories as on the host (the loader
# included: /lib64 is a symlink on Debian, so copy it under usr/).
libs=$(for f in "$R"/usr/sbin/*; do [ -L "$f" ] || ldd "$f" 2>/dev/null; done \
       | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u)
for l in $libs; do
  real=$(readlink -f "$l")
  dir=$(dirname "$l")
  case $dir in /lib*) dir=/usr$dir ;; esac
  mkdir -p "$R$dir"
  cp "$real" "$R$dir/$(basename "$l")"
done
for d in lib lib64; do
  [ -d "$R/usr/$d" ] && ln -s "usr/$d" "$R/$d"
done

printf 'root:x:0:0:root:/:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"
: > "$R/etc/hosts"; : > "$R/etc/resolv.conf"    # the engine bind-mounts them (host network)

cp "$HERE/config.json" "$OUT/config.json"
# The rootfs must run on its own: every program starts in a chroot.
for p in vdvsd vmdkfs vdvsctl mke2fs mkfs.xfs fusermount3; do
  chroot "$R" "/usr/sbin/$p" --help >/dev/null 2>&1 || chroot "$R" "/usr/sbin/$p" -V >/dev/null 2>&1 \
    || die "$p does not start inside the rootfs (missing library?)"
done
echo "plugin: $OUT ($(du -sh "$R" | cut -f1) rootfs, $(echo "$libs" | wc -w) libraries)"
