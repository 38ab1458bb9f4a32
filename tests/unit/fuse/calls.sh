#!/bin/sh
# No call cycles between vmdkfs's source files: from the symbols each
# object defines and uses (nm), draw file -> file edges and let tsort find
# a loop.  Calls through function pointers (the engine and FUSE op tables)
# are not edges; naming a table is.
# Usage: calls.sh OBJDIR SOURCE.c...   (objects are OBJDIR/SOURCE.c.o)
set -eu
export LC_ALL=C
dir=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for src in "$@"; do
  obj=$dir/$src.o
  [ -f "$obj" ] || { echo "FAIL: $obj missing"; exit 1; }
  nm --defined-only "$obj" | awk -v f="$src" '$2 ~ /^[TDRB]$/ { print $3, f }'
done | sort > "$tmp/defs"
for src in "$@"; do
  nm -u "$dir/$src.o" | awk -v f="$src" '{ print $2, f }'
done | sort > "$tmp/uses"
# "caller callee" for every symbol one file uses and another defines.
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"
cat "$tmp/edges"
if ! tsort "$tmp/edges" > /dev/null 2> "$tmp/loop"; then
  echo "FAIL: call cycle between files:"
  cat "$tmp/loop"
  exit 1
fi
echo "ok: no call cycle among $# files"
