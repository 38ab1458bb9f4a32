#!/usr/bin/env bash
# make bench: every benchmark, each printing ratios against a baseline
# measured in the same run.  Not a test: nothing here has a threshold.
set -euo pipefail
cd "$(dirname "$0")"
for b in datapath.sh; do
  echo "=== bench/$b"
  bash "./$b"
done
