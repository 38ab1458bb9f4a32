#!/usr/bin/env bash
# The Windows cross build's toolchain and sources, for `make windows`:
#  - Debian's mingw-w64 cross compiler and wine64 (to run the tests), from
#    apt if missing;
#  - cJSON from Debian's source package (upstream tarball plus Debian's
#    patches), unpacked into DEST (Debian ships no mingw build of it).
# apt fetches the source through a private sources list and state dir, so
# the system's apt configuration is left as it is; the hashes are checked
# against the signed Release file as for any Debian download.
# Usage: scripts/deps-windows.sh [--quiet] DEST   (DEST/cjson/cJSON.c after)
set -euo pipefail
quiet=
[ "${1:-}" = --quiet ] && { quiet=1; shift; }
dest=${1:?usage: scripts/deps-windows.sh [--quiet] DEST}
say () { [ -n "$quiet" ] || echo "deps-windows: $*"; }

pkgs=(gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev binutils-mingw-w64-x86-64
      wine64 meson ninja-build dpkg-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps-windows: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "deps-windows: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  say "packages present"
fi

if [ -f "$dest/cjson/cJSON.c" ] && [ -f "$dest/cjson/cJSON.h" ]; then
  say "cJSON source present in $dest/cjson"
  exit 0
fi
# A deb-src line for every suite the system's deb lines name (same mirror).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/src"
: > "$work/main.srclist"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  sed -n 's/^deb \(.*\)$/deb-src \1/p' "$f" >> "$work/main.srclist"
done
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed 's/^Types:.*/Types: deb-src/' "$f" > "$work/$(basename "$f")"
done
aptopts=(-o Dir::Etc::SourceList="$work/main.srclist"
         -o Dir::Etc::SourceParts="$work"
         -o Dir::State::Lists="$work/lists"
         -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
say "fetching Debian's cjson source package"
apt-get "${aptopts[@]}" update -qq
(cd "$work/src" && apt-get "${aptopts[@]}" source -qq --download-only cjson >/dev/null)
dsc=$(find "$work/src" -maxdepth 1 -name "cjson_*.dsc" -print -quit)
# apt checked every file's hash against the signed Release file; the
# maintainer's own .dsc signature cannot be checked without debian-keyring,
# which dpkg-source says on stderr (shown only if it fails).  It applies Debian's
# patches.
(cd "$work/src" && dpkg-source -x "$dsc" unpacked >"$work/dpkg-source.log" 2>&1) ||
  { cat "$work/dpkg-source.log" >&2; exit 1; }
mkdir -p "$dest/cjson"
cp "$work/src/unpacked/cJSON.c" "$work/src/unpacked/cJSON.h" "$work/src/unpacked/LICENSE" "$dest/cjson/"
basename "$dsc" > "$dest/cjson/SOURCE"
say "cJSON from $(basename "$dsc") in $dest/cjson"
