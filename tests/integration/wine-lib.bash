# The Windows tests' common parts (95-98): `make windows`, a private wine
# prefix under $T, and a cleanup that ends the prefix's wineserver and
# fails on any wine process left in it.  Source it once T and fail exist.
# At exit wine_cleanup runs, then the function named by WINE_THEN (e.g.
# esx_cleanup) with the test's exit status in $?.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WIN_BUILD=${VDVS_WIN_BUILD:-$TOP/build-windows}
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver
VDVSD=$WIN_BUILD/src/platform/windows/vdvsd.exe
CLIENT=$WIN_BUILD/tests/windows/vdvs-pipe-test-client.exe

# wine_build: make windows (it installs mingw-w64 and wine64, as root, and
# builds); a skip only when those packages cannot be installed here.
wine_build ()
{
  if ! make -s -C "$TOP" windows WIN_BUILD="$WIN_BUILD" > "$T/make.log" 2>&1; then
    if ! command -v x86_64-w64-mingw32-gcc-win32 >/dev/null || [ ! -x "$WINE" ]; then
      echo "SKIP: mingw-w64 or wine64 cannot be installed: $(tail -n 1 "$T/make.log")"
      exit 77
    fi
    cat "$T/make.log" >&2
    fail "make windows"
  fi
}

wine_cleanup ()
{
  local rc=$? prefix=$WINEPREFIX f pids=
  set +e
  "$WINESERVER" -k 2>/dev/null
  "$WINESERVER" -w 2>/dev/null
  # Anything still running in this prefix is a leak (grep itself must not
  # carry the variable it looks for).
  unset WINEPREFIX
  for f in $(grep -lsz "^WINEPREFIX=$prefix\$" /proc/[0-9]*/environ); do
    f=${f#/proc/}; pids+=" ${f%/environ}"
  done
  if [ -n "$pids" ]; then
    echo "LEAK: wine processes$pids" >&2; kill -9 $pids; rc=1
  fi
  if [ -n "${WINE_THEN:-}" ]; then
    (exit "$rc") # WINE_THEN reads the status from $?
    "$WINE_THEN"
  fi
  exit "$rc"
}

# wine_prefix: $T/prefix made and initialized (after any Linux daemon the
# test starts, which must not carry WINEPREFIX: the leak check); SPEC is
# the spec file a plugin writes there.
wine_prefix ()
{
  export WINEPREFIX=$T/prefix WINEDEBUG=-all
  # No Mono or Gecko install prompts during the prefix init.
  export WINEDLLOVERRIDES="mscoree,mshtml="
  trap wine_cleanup EXIT
  timeout 180 "$WINE" wineboot -i > "$T/wineboot.log" 2>&1 ||
    { cat "$T/wineboot.log" >&2; fail "wineboot -i"; }
  SPEC=$WINEPREFIX/drive_c/ProgramData/docker/plugins/vsphere.json
}
