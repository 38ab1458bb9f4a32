#!/bin/sh
# No call cycles between vmdkfs's source files: from the symbols each
# object defines and uses (nm), draw file -> file edges and let tsort find
# a loop.  Calls through function pointers (the engine and FUSE op tables)
# are not edges; naming a table is.
# Usage: calls.sh OBJDIR SOURCE.c...   (objects are OBJDIR/SOURCE.c.o;
#        arguments starting with '-', like the runner's --tap, are ignored)
set -eu
export LC_ALL=C
dir=$1
shift
for a in "$@"; do
  shift
  case $a in
    -*) ;;
    *) set -- "$@" "$a" ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Checked before the pipelines below: an exit inside one would not stop
# the script, and a missing object would pass with no edges.
for src in "$@"; do
  [ -f "$dir/$src.o" ] || { echo "FAIL: $dir/$src.o missing"; exit 1; }
done
for src in "$@"; do
  nm --defined-only "$dir/$src.o" | awk -v f="$src" '$2 ~ /^[TDRB]$/ { print $3, f }'
done | sort > "$tmp/defs"
for src in "$@"; do
  nm -u "$dir/$src.o" | awk -v f="$src" '{ print $2, f }'
done | sort > "$tmp/uses"
# "caller callee" for every symbol one file uses and another defines.
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u > "$tmp/edges"
cat "$tmp/edges"
# One TAP line, so that the unit runner counts the check.
echo "1..1"
if ! tsort "$tmp/edges" > /dev/null 2> "$tmp/loop"; then
  echo "FAIL: call cycle between files:"
  cat "$tmp/loop"
  echo "not ok - no-call-cycle"
  exit 1
fi
echo "ok - no-call-cycle among $# files"
