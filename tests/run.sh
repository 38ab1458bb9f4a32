#!/usr/bin/env bash
# Run every test: Criterion unit tests (meson suite `unit`), then the
# integration scripts (meson suite `integration`: one test per
# tests/integration/NN-name.sh, in order), then (with --asan) a second pass
# of the sanitizer-sensitive integration scripts on the ASan build (suite
# `integration-asan` of build-asan).  Prints one closing line
# "N passed, N failed, N skipped" and exits non-zero when anything failed.
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
# - integration: one test per script, read from meson's test log; exit 0 =
#   pass, 77 = skip (the script prints "SKIP: reason"), anything else (or a
#   timeout) = fail.  The ASan pass (integration_asan in
#   tests/integration/meson.build, or VDVS_ASAN_SCRIPTS) counts as its own
#   tests (asan:NN-name): it runs other binaries.  A sanitizer report of
#   vdvsd, vmdkfs or esxsim fails the script.
# - strict mode (CI=true or VDVS_REQUIRE=all; .ci/run sets it): every test
#   must run, so a skip (unit case or script) counts as a failure.
#
# Usage: tests/run.sh [--unit-only|--integration-only] [--asan] [PATTERN]
#   --asan  also build build-asan (-Db_sanitize=address,undefined), run the
#           unit tests there and the integration ASan pass
#   PATTERN only the integration scripts whose name contains it
# VDVS_EXCLUDE="NAME..." leaves those integration scripts out (not counted);
# make test-container uses it for what only the host can run.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export VDVS_BUILD=${VDVS_BUILD:-$TOP/build}
ABUILD=${VDVS_ASAN_BUILD:-$TOP/build-asan}
# Integration tests of the ASan pass instead of suite integration-asan.
ASAN_SCRIPTS=${VDVS_ASAN_SCRIPTS:-}
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
    name, bad = p['name'].split(' / ')[-1], 0   # "project:suite / name"
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

# integ_names BUILD SUITE: the names of the tests meson knows in SUITE.
integ_names () {
  python3 - "$1/meson-info/intro-tests.json" "$2" <<'EOF'
import json, sys
for t in json.load(open(sys.argv[1])):
    if any(s.split(':')[-1] == sys.argv[2] for s in t['suite']):
        print(t['name'])
EOF
}

# integ_fresh BUILD: reconfigure BUILD when the scripts on disk and the
# tests meson registered differ (meson reads the list when it configures).
integ_fresh () {
  local b=$1 have want
  want=$(cd "$TOP/tests/integration" && ls [0-9][0-9]-*.sh | sed 's/\.sh$//')
  have=$(integ_names "$b" integration 2>/dev/null | sort)
  [ "$have" = "$want" ] && return 0
  echo "== $b: the integration scripts changed; meson setup --reconfigure"
  meson setup --reconfigure "$b" > "$logdir/reconfigure.log" 2>&1 \
    || { tail -20 "$logdir/reconfigure.log"; return 1; }
}

# integ_run BUILD TAG SUITE PREFIX NAME...: run the NAMEd tests of SUITE in
# BUILD through meson, one at a time, and count them as PREFIX+NAME; each
# script's output goes to $logdir/TAG-NAME.log.
integ_run () {
  local b=$1 tag=$2 suite=$3 prefix=$4 rc res name secs info log done
  shift 4
  rm -f "$b/meson-logs/$tag.json"
  # meson's line per finished test, as it finishes.
  PYTHONUNBUFFERED=1 meson test -C "$b" --suite "$suite" --logbase "$tag" --no-stdsplit \
      --num-processes 1 "$@" 2>&1 \
    | tee "$logdir/$tag.log" | grep --line-buffered -E '^ *[0-9]+/[0-9]+ '
  rc=${PIPESTATUS[0]}
  done=0
  while read -r res name secs info; do
    log=$logdir/$tag-$name.log
    case $res in
      end) done=1 ;;
      pass) echo "PASS $prefix$name (${secs}s)"; pass=$((pass + 1)) ;;
      skip) skipped "$prefix$name" "$info" ;;
      meson) tail -20 "$logdir/$tag.log" | sed 's/^/    /'
             echo "FAIL $prefix<meson test exit $rc> — log: $logdir/$tag.log"
             failn=$((failn + 1)); failed+=("$prefix<meson test>") ;;
      *) echo "FAIL $prefix$name ($info, ${secs}s) — log: $log"
         tail -25 "$log" | sed 's/^/    /'
         failn=$((failn + 1)); failed+=("$prefix$name") ;;
    esac
  done < <(python3 - "$b/meson-logs/$tag.json" "$rc" "$logdir/$tag-" <<'EOF'
import json, re, sys
path, rc, logbase = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tests = []
try:
    with open(path) as f:
        tests = [json.loads(l) for l in f if l.strip()]
except OSError:
    pass
bad = False
for t in tests:
    name = t['name'].split(' / ')[-1]   # "project:suite / name"
    out = t.get('stdout') or ''
    with open(logbase + name + '.log', 'w') as f:
        f.write(out)
    secs = int(t.get('duration') or 0)
    if t['result'] == 'OK':
        print('pass', name, secs)
    elif t['result'] == 'SKIP':
        m = re.search(r'SKIP.*', out)
        print('skip', name, secs, m.group(0) if m else 'exit 77 without a reason')
    else:
        bad = True
        print('fail', name, secs, '%s, rc=%s' % (t['result'], t.get('returncode')))
if rc != 0 and not bad:
    # meson test failed around the tests: the build, or meson itself.
    print('meson', '-', 0, '')
print('end', '-', 0, '')
EOF
)
  if [ $done = 0 ]; then
    echo "FAIL $prefix<results>: could not read $b/meson-logs/$tag.json"
    failn=$((failn + 1)); failed+=("$prefix<results>")
  fi
}

if [ $mode != unit ]; then
  if [ "$(id -u)" -eq 0 ] && ls "$TOP"/tests/integration/5*.sh >/dev/null 2>&1; then
    "$TOP/scripts/dockerd.sh" || echo "warning: Docker engine not available; engine tests will skip"
  fi
  names=()
  if integ_fresh "$VDVS_BUILD"; then
    for n in $(integ_names "$VDVS_BUILD" integration); do
      [ -n "$pattern" ] && [[ $n != *$pattern* ]] && continue
      if [[ " ${VDVS_EXCLUDE:-} " == *" $n "* ]]; then
        echo "NOT RUN $n: excluded by VDVS_EXCLUDE"; continue
      fi
      names+=("$n")
    done
  else
    echo "FAIL integration: meson setup --reconfigure $VDVS_BUILD"
    failn=$((failn + 1)); failed+=("integration (reconfigure)")
  fi
  anames=()
  if [ $asan = 1 ]; then
    build_asan
    if [ $asan_built = 1 ] && integ_fresh "$ABUILD"; then
      all=" $(integ_names "$ABUILD" integration | tr '\n' ' ') "
      for n in ${ASAN_SCRIPTS:-$(integ_names "$ABUILD" integration-asan)}; do
        [ -n "$pattern" ] && [[ $n != *$pattern* ]] && continue
        if [[ $all != *" $n "* ]]; then
          echo "FAIL asan:$n: no integration test $n (VDVS_ASAN_SCRIPTS)"
          failn=$((failn + 1)); failed+=("asan:$n"); continue
        fi
        anames+=("$n")
      done
    elif [ $asan_built = 1 ]; then
      echo "FAIL integration: meson setup --reconfigure $ABUILD"
      failn=$((failn + 1)); failed+=("asan integration (reconfigure)")
    fi
  fi
  if [ -n "$pattern" ] && [ ${#names[@]} = 0 ] && [ ${#anames[@]} = 0 ]; then
    echo "FAIL integration: no test name contains \`$pattern\`; names: meson test -C $VDVS_BUILD --suite integration --list"
    failn=$((failn + 1)); failed+=("integration ($pattern)")
  fi
  if [ ${#names[@]} -gt 0 ]; then
    echo "== integration tests (meson test --suite integration)"
    integ_run "$VDVS_BUILD" integration integration "" "${names[@]}"
  fi
  if [ ${#anames[@]} -gt 0 ]; then
    echo "== integration tests on the ASan build ($ABUILD)"
    integ_run "$ABUILD" asan-integration integration "asan:" "${anames[@]}"
  fi
fi

echo
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $failn failed, $skip skipped"
[ $failn -eq 0 ]
