#!/usr/bin/env bash
# Run every test: Criterion unit tests (meson), then each integration script
# in tests/integration (NN-name.sh, in order).  Exit status 77 = skipped.
# Prints one closing line "N passed, N failed, N skipped".
# Usage: tests/run.sh [--unit-only|--integration-only] [--asan] [PATTERN]
#   --asan  also build build-asan (-Db_sanitize=address,undefined) and run the
#           unit tests there
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export VDVS_BUILD=${VDVS_BUILD:-$TOP/build}
mode=all; pattern=; asan=0
for a in "$@"; do
  case $a in
    --asan) asan=1 ;;
    --unit-only) mode=unit ;;
    --integration-only) mode=integration ;;
    *) pattern=$a ;;
  esac
done
pass=0; failn=0; skip=0; failed=()
logdir=$VDVS_BUILD/test-logs; mkdir -p "$logdir"

if [ $mode != integration ]; then
  echo "== unit tests (meson test --suite unit)"
  if meson test -C "$VDVS_BUILD" --suite unit --print-errorlogs --num-processes 2 > "$logdir/unit.log" 2>&1; then
    n=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' "$logdir/unit.log" || true)
    echo "unit: $n test programs OK"; pass=$((pass + n))
  else
    grep -E ' (FAIL|ERROR|TIMEOUT) ' "$logdir/unit.log" || tail -40 "$logdir/unit.log"
    n=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' "$logdir/unit.log" || true)
    f=$(grep -cE '^ *[0-9]+/[0-9]+ .* (FAIL|ERROR|TIMEOUT) ' "$logdir/unit.log" || true)
    pass=$((pass + n)); failn=$((failn + f)); failed+=("unit ($f)")
  fi
fi

if [ $mode != integration ] && [ $asan = 1 ]; then
  echo "== unit tests under ASan/UBSan (build-asan)"
  abuild=$TOP/build-asan
  { [ -f "$abuild/build.ninja" ] || meson setup "$abuild" -Db_sanitize=address,undefined -Db_lundef=false; } > "$logdir/asan-setup.log" 2>&1
  if ninja -C "$abuild" > "$logdir/asan-build.log" 2>&1 \
     && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 meson test -C "$abuild" --suite unit --print-errorlogs --num-processes 2 > "$logdir/asan-unit.log" 2>&1; then
    n=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' "$logdir/asan-unit.log" || true)
    echo "asan unit: $n test programs OK"; pass=$((pass + n))
  else
    tail -40 "$logdir/asan-build.log" "$logdir/asan-unit.log" 2>/dev/null | grep -E 'FAIL|ERROR|error' | head -20
    failn=$((failn + 1)); failed+=("asan-unit")
  fi
fi

if [ $mode != unit ]; then
  if [ "$(id -u)" -eq 0 ] && ls "$TOP"/tests/integration/5*.sh >/dev/null 2>&1; then
    "$TOP/scripts/dockerd.sh" || echo "warning: Docker engine not available; engine tests will skip"
  fi
  for t in "$TOP"/tests/integration/[0-9][0-9]-*.sh; do
    name=$(basename "$t" .sh)
    [ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
    start=$(date +%s)
    timeout --kill-after=10 900 bash "$t" > "$logdir/$name.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    case $rc in
      0) echo "PASS $name (${secs}s)"; pass=$((pass + 1)) ;;
      77) echo "SKIP $name: $(grep -m1 SKIP "$logdir/$name.log")"; skip=$((skip + 1)) ;;
      *) echo "FAIL $name (rc=$rc, ${secs}s) — log: $logdir/$name.log"
         tail -25 "$logdir/$name.log" | sed 's/^/    /'
         failn=$((failn + 1)); failed+=("$name") ;;
    esac
  done
fi

echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $failn failed, $skip skipped"
[ $failn -eq 0 ]
