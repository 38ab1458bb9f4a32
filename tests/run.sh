#!/usr/bin/env bash
# Run every test: Criterion unit tests (meson), then each integration script
# in tests/integration (NN-name.sh, in order), then (with --asan) a second
# pass of the sanitizer-sensitive integration scripts on the ASan build.
# Prints one closing line "N passed, N failed, N skipped" and exits non-zero
# when anything failed.
#
# What is counted:
# - unit tests: test CASES (Criterion's TAP: ok / not ok / # SKIP), not
#   programs.  A program that exits non-zero without a failing case (build
#   error, crash of the runner, timeout, sanitizer report) is one more
#   failure; a `meson test` that fails with no results at all (the unit
#   tests do not compile) is a failure too.
# - --asan: the unit cases run in build and in build-asan but each case is
#   counted ONCE: passed when it passed in both builds, failed when it failed
#   in either, skipped when skipped in either and failed in none.
# - integration: one test per script; exit 0 = pass, 77 = skip (the script
#   prints "SKIP: reason"), anything else = fail.  The ASan pass of
#   10-api, 17-daemon-cli, 56-concurrency and 81-hostile (ASAN_SCRIPTS)
#   counts as its own tests (asan:NN-name): it runs other binaries.  A
#   sanitizer report of vdvsd, vmdkfs or esxsim fails the script.
# - strict mode (CI=true or VDVS_REQUIRE=all; .ci/run sets it): every test
#   must run, so a skip (unit case or script) counts as a failure.
#
# Usage: tests/run.sh [--unit-only|--integration-only] [--asan] [PATTERN]
#   --asan  also build build-asan (-Db_sanitize=address,undefined), run the
#           unit tests there and the integration ASan pass
#   PATTERN only the integration scripts whose name contains it
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export VDVS_BUILD=${VDVS_BUILD:-$TOP/build}
ABUILD=${VDVS_ASAN_BUILD:-$TOP/build-asan}
# Integration scripts that also run on the ASan build (vdvsd and vmdkfs
# under ASan/UBSan where bad input and concurrency are).
ASAN_SCRIPTS=${VDVS_ASAN_SCRIPTS:-"10-api 17-daemon-cli 56-concurrency 81-hostile"}
mode=all; pattern=; asan=0
for a in "$@"; do
  case $a in
    --asan) asan=1 ;;
    --unit-only) mode=unit ;;
    --integration-only) mode=integration ;;
    -*) echo "unknown option $a; usage: $0 [--unit-only|--integration-only] [--asan] [PATTERN]" >&2; exit 2 ;;
    *) pattern=$a ;;
  esac
done
strict=0
if [ "${CI:-}" = true ] || [ "${VDVS_REQUIRE:-}" = all ]; then strict=1; fi
pass=0; failn=0; skip=0; failed=()
logdir=$VDVS_BUILD/test-logs; mkdir -p "$logdir"

# skipped NAME REASON: a skip, or a failure in strict mode.
skipped () {
  if [ $strict = 1 ]; then
    echo "FAIL $1: skipped in strict mode (CI=true / VDVS_REQUIRE=all): $2"
    failn=$((failn + 1)); failed+=("$1 (skipped)")
  else
    echo "SKIP $1: $2"; skip=$((skip + 1))
  fi
}

# unit_run BUILD TAG: run the unit suite in BUILD; writes the per-case
# results to $logdir/TAG.cases (lines "RESULT program::case", RESULT one of
# pass fail skip) and the full log to $logdir/TAG.log.
unit_run () {
  local b=$1 tag=$2 rc
  rm -f "$b/meson-logs/$tag.json"
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$b" --suite unit --print-errorlogs --num-processes 2 \
      --logbase "$tag" --test-args=--tap=/dev/stdout > "$logdir/$tag.log" 2>&1
  rc=$?
  [ $rc = 0 ] || grep -m10 -E 'error:|Could not|^ *[0-9]+/[0-9]+ .* (FAIL|ERROR|TIMEOUT) ' "$logdir/$tag.log" | sed 's/^/    /'
  python3 - "$b/meson-logs/$tag.json" "$rc" > "$logdir/$tag.cases" <<'EOF'
import json, re, sys
path, rc = sys.argv[1], int(sys.argv[2])
progs = []
try:
    with open(path) as f:
        progs = [json.loads(l) for l in f if l.strip()]
except OSError:
    pass
# A sanitizer report anywhere in a program's output fails the program.
SAN = re.compile(r'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:')
for p in progs:
    out = (p.get('stdout') or '') + (p.get('stderr') or '')
    name, bad = p['name'], 0
    for line in out.splitlines():
        m = re.match(r'(not ok|ok) - (\S+)(.*)', line)
        if not m:
            continue
        case = name + ':' + m.group(2)
        if m.group(1) == 'not ok':
            print('fail', case); bad += 1
        elif '# SKIP' in m.group(3):
            print('skip', case, m.group(3).split('# SKIP', 1)[1].strip())
        else:
            print('pass', case)
    if SAN.search(out):
        print('fail', name + ':<sanitizer-report>'); bad += 1
    if p.get('result') not in ('OK', 'SKIP', 'EXPECTEDFAIL') and not bad:
        print('fail', name + ':<program-%s-exit-%s>' % (p.get('result'), p.get('returncode')))
        bad += 1
if rc != 0 and not any(p.get('result') not in ('OK', 'SKIP', 'EXPECTEDFAIL') for p in progs):
    # meson test failed before or around the tests: nothing compiled, or
    # meson itself failed.
    print('fail', '<meson-test-exit-%d>' % rc)
EOF
}

# unit_count FILE...: merge the per-case results (a case counted once) and
# add them to the totals.
unit_count () {
  local res case reason
  while read -r res case reason; do
    case $res in
      pass) pass=$((pass + 1)) ;;
      skip) skipped "unit $case" "$reason" ;;
      *) echo "FAIL unit $case"; failn=$((failn + 1)); failed+=("unit $case") ;;
    esac
  done < <(python3 - "$@" <<'EOF'
import sys
rank = {'pass': 0, 'skip': 1, 'fail': 2}
res, why, order = {}, {}, []
for path in sys.argv[1:]:
    for line in open(path):
        parts = line.rstrip('\n').split(' ', 2)
        r, case = parts[0], parts[1]
        if case not in res:
            order.append(case); res[case] = r
        elif rank[r] > rank[res[case]]:
            res[case] = r
        if r == res[case] and len(parts) > 2:
            why[case] = parts[2]
for c in order:
    print(res[c], c, why.get(c, ''))
EOF
)
}

asan_built=0
build_asan () {
  [ $asan_built = 0 ] || return 0
  echo "== building $ABUILD (-Db_sanitize=address,undefined)"
  { [ -f "$ABUILD/build.ninja" ] || meson setup "$ABUILD" -Db_sanitize=address,undefined -Db_lundef=false; } > "$logdir/asan-setup.log" 2>&1 \
    && ninja -C "$ABUILD" > "$logdir/asan-build.log" 2>&1
  asan_built=$(( $? == 0 ? 1 : 2 ))
  if [ $asan_built = 2 ]; then
    tail -20 "$logdir/asan-setup.log" "$logdir/asan-build.log" 2>/dev/null
    echo "FAIL asan build"; failn=$((failn + 1)); failed+=("asan build")
  fi
}

if [ $mode != integration ]; then
  echo "== unit tests (meson test --suite unit)"
  unit_run "$VDVS_BUILD" unit
  files=("$logdir/unit.cases")
  if [ $asan = 1 ]; then
    build_asan
    if [ $asan_built = 1 ]; then
      echo "== unit tests under ASan/UBSan ($ABUILD; each case counted once)"
      unit_run "$ABUILD" asan-unit
      files+=("$logdir/asan-unit.cases")
    fi
  fi
  before=$((pass + failn + skip))
  unit_count "${files[@]}"
  echo "unit: $((pass + failn + skip - before)) cases (logs: ${files[*]/%.cases/.log})"
fi

# run_script FILE NAME: one integration script, counted as NAME.
run_script () {
  local t=$1 name=$2 start rc secs log
  log=$logdir/${name/:/-}.log
  start=$(date +%s)
  timeout --kill-after=10 900 bash "$t" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  case $rc in
    0) echo "PASS $name (${secs}s)"; pass=$((pass + 1)) ;;
    77) skipped "$name" "$(grep -m1 -o 'SKIP.*' "$log" || echo 'exit 77 without a reason')" ;;
    *) echo "FAIL $name (rc=$rc, ${secs}s) — log: $log"
       tail -25 "$log" | sed 's/^/    /'
       failn=$((failn + 1)); failed+=("$name") ;;
  esac
}

if [ $mode != unit ]; then
  if [ "$(id -u)" -eq 0 ] && ls "$TOP"/tests/integration/5*.sh >/dev/null 2>&1; then
    "$TOP/scripts/dockerd.sh" || echo "warning: Docker engine not available; engine tests will skip"
  fi
  for t in "$TOP"/tests/integration/[0-9][0-9]-*.sh; do
    name=$(basename "$t" .sh)
    [ -n "$pattern" ] && [[ $name != *$pattern* ]] && continue
    run_script "$t" "$name"
  done
  if [ $asan = 1 ]; then
    for s in $ASAN_SCRIPTS; do
      t=$TOP/tests/integration/$s.sh
      [ -n "$pattern" ] && [[ $s != *$pattern* ]] && continue
      [ -f "$t" ] || { echo "FAIL asan:$s: no script $t"; failn=$((failn + 1)); failed+=("asan:$s"); continue; }
      build_asan
      [ $asan_built = 1 ] || break
      VDVS_BUILD=$ABUILD run_script "$t" "asan:$s"
    done
  fi
fi

echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $failn failed, $skip skipped"
[ $failn -eq 0 ]
