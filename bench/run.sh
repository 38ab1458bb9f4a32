#!/usr/bin/env bash
# make bench: every benchmark, each printing ratios against a baseline
# measured in the same run.  Not a test: nothing here has a threshold.
#   bench/run.sh            all, in this order
#   bench/run.sh NAME...    only those (datapath api scale workflow parallel cluster)
# Absolute numbers are noisy on a small shared VM: read the ratios.
set -euo pipefail
cd "$(dirname "$0")"
all=(datapath api scale workflow parallel cluster)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")
rc=0
for b in "${want[@]}"; do
  b=${b%.sh}
  [ -f "./$b.sh" ] || { echo "bench: no benchmark '$b' (have: ${all[*]})" >&2; exit 2; }
  echo "=== bench/$b.sh"
  bash "./$b.sh" || { echo "bench/$b.sh failed" >&2; rc=1; }
done
exit $rc
