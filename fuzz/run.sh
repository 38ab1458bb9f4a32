#!/usr/bin/env bash
# Build the harnesses, replay the regression inputs, then fuzz each harness
# for FUZZ_SECONDS (default 60), one process at a time.  Any crash, leak,
# sanitizer report, property failure or timeout fails the run; the
# reproducer is left in $FUZZ_BUILD/artifacts/<harness>/.
# Usage: fuzz/run.sh [harness...]
# Env: FUZZ_SECONDS (60), FUZZ_BUILD (build-fuzz), FUZZ_NO_BUILD=1,
#      FUZZ_REPLAY_ONLY=1 (replay regress/ and corpus/, no fuzzing)
# Exit: 0 clean, 1 finding, 77 no clang/libFuzzer.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export FUZZ_BUILD=${FUZZ_BUILD:-$TOP/build-fuzz}
SECS=${FUZZ_SECONDS:-60}
cd "$TOP"
all=$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//')
want=("$@"); [ ${#want[@]} -gt 0 ] || want=($all)

mkdir -p "$FUZZ_BUILD"
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  fuzz/build.sh "${want[@]}" > "$FUZZ_BUILD/build.log" 2>&1; rc=$?
  [ $rc -eq 77 ] && { grep SKIP "$FUZZ_BUILD/build.log"; exit 77; }
  [ $rc -eq 0 ] || { cat "$FUZZ_BUILD/build.log"; echo "fuzz: build failed"; exit 1; }
fi

# Harnesses that need a scratch directory make it under FUZZ_TMP.
export FUZZ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vdvs-fuzz.XXXXXX")
trap 'rm -rf "$FUZZ_TMP"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

fail=0; summary=()
for h in "${want[@]}"; do
  bin=$FUZZ_BUILD/$h
  art=$FUZZ_BUILD/artifacts/$h; work=$FUZZ_BUILD/corpus/$h; log=$FUZZ_BUILD/$h.log
  mkdir -p "$art" "$work"
  dict=(); [ -f "fuzz/dict/$h.dict" ] && dict=(-dict="fuzz/dict/$h.dict")
  opts=(-timeout=10 -rss_limit_mb=2048 -max_len=${FUZZ_MAX_LEN:-16384} -print_final_stats=1
        -artifact_prefix="$art/" "${dict[@]}")

  # 1. Every regression reproducer and seed must pass.
  inputs=()
  for d in "fuzz/regress/$h" "fuzz/corpus/$h"; do
    [ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f | sort)
  done
  if [ ${#inputs[@]} -gt 0 ]; then
    if ! "$bin" "${opts[@]}" -runs=1 "${inputs[@]}" > "$log.replay" 2>&1; then
      echo "FAIL $h: a regression or seed input fails:"
      grep -E 'Running:|ERROR|FUZZ_CHECK|runtime error|SUMMARY' "$log.replay" | tail -8 | sed 's/^/    /'
      fail=1; summary+=("$h: replay FAILED"); continue
    fi
  fi
  [ -n "${FUZZ_REPLAY_ONLY:-}" ] && { summary+=("$h: replayed ${#inputs[@]}"); continue; }

  # 2. Fuzz for SECS seconds from the seeds plus what earlier runs found.
  seeds=(); [ -d "fuzz/corpus/$h" ] && seeds=("fuzz/corpus/$h")
  "$bin" "${opts[@]}" -max_total_time="$SECS" "$work" "${seeds[@]}" > "$log" 2>&1
  rc=$?
  runs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  eps=$(grep -m1 -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+')
  if [ $rc -ne 0 ]; then
    echo "FAIL $h (rc=$rc): reproducer in $art/"
    grep -E 'ERROR|FUZZ_CHECK|runtime error|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /'
    fail=1; summary+=("$h: FINDING")
  else
    summary+=("$h: ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?}, ${#inputs[@]} replayed")
  fi
done
printf '%s\n' "${summary[@]}"
[ $fail -eq 0 ]
