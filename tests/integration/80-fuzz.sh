#!/usr/bin/env bash
# Fuzzing in CI: build the libFuzzer harnesses (clang, ASan+UBSan), replay
# every reproducer in fuzz/regress/<harness>/ and every seed, then fuzz each
# harness for a bounded time (FUZZ_SECONDS, default 20).  Any crash, leak,
# sanitizer report or property failure fails the test.  Skips (77) when
# clang or its libFuzzer runtime is missing.  `make fuzz` runs longer.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
command -v clang >/dev/null 2>&1 || command -v clang-14 >/dev/null 2>&1 \
  || { echo "SKIP: clang not installed (scripts/deps.sh installs it)"; exit 77; }
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
export FUZZ_BUILD=${FUZZ_BUILD:-$TOP/build-fuzz}
"$TOP/fuzz/run.sh"
rc=$?
case $rc in
  0) echo "fuzz: no findings (${FUZZ_SECONDS}s per harness, reproducers replayed)" ;;
  77) echo "SKIP: no libFuzzer runtime (libclang-rt-14-dev)" ;;
  *) echo "FAIL: fuzz findings; reproducers under $FUZZ_BUILD/artifacts/" ;;
esac
exit $rc
