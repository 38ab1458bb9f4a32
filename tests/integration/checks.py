"""Checks for the Python that integration scripts embed: `ok` and `fail`
print lines in the suite's format (fail keeps going, so one run reports
every failed check), `failures` holds the failed ones and `exit` ends the
script with the right status.  Scripts run it as
`PYTHONPATH="$TESTS" python3 - ARGS <<'PY'` (lib.sh sets TESTS)."""
import sys

failures = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


def ok(msg):
    print("ok - " + msg, flush=True)


def exit():
    sys.exit(1 if failures else 0)
