#!/bin/sh
# The shell scripts run with `set -o pipefail`, where `cmd | grep -q` and
# `cmd | head` fail at random: the reader exits at its first match, cmd
# dies of SIGPIPE if it writes again, and the pipeline takes cmd's status.
# Read the whole input instead: `grep PAT >/dev/null`, `sed -n 1p`,
# `grep -m1 PAT FILE`, `find ... -print -quit`.
# Prints a TAP line (the unit runner counts it) and the offending lines;
# exits 1 when one is found.  Usage: scripts/check-pipes.sh (arguments
# are ignored)
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
# Every script that sets pipefail; the integration scripts have it from lib.sh.
bad=$({ grep -ls pipefail scripts/* bench/*.sh; ls tests/integration/*.sh \
        tests/integration/*.bash; } \
      | xargs grep -nE '\|[[:space:]]*(grep[[:space:]]+(-[A-Za-z]*q[A-Za-z]*|--quiet)|head)([[:space:]]|$)')
if [ -n "$bad" ]; then
  echo "not ok - pipes: an early-exit reader after a pipe in a pipefail script"
  echo "$bad" | sed 's/^/# /'
  exit 1
fi
echo "ok - pipes: no early-exit reader after a pipe in a pipefail script"
