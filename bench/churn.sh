#!/usr/bin/env bash
# Churn of distinct volume names: create, get and remove CHURN_N names
# (default 100,000) through the plugin API and print vdvsd's RSS at the
# start, every quarter and at the end.  The daemon keeps per-name state
# only while a volume exists or is in use, so RSS must stay flat: a
# stress check run by `make stress`, not a timed test.  Each name is a
# clone of one empty volume (no attach, no mkfs, no loop device); vmdkfs
# is off.  Takes a few minutes.
source "$(dirname "$0")/lib.sh"
N=${CHURN_N:-100000}
[ -x "$MKVOLS" ] || { echo "bench: $MKVOLS not built" >&2; exit 1; }

"$MKVOLS" "$B/root" datastore1 churnsrc 0 1 1 >/dev/null
BENCH_LOG_LEVEL=warn start_vdvsd "$B/run/churn.sock" off --docker-socket none
python3 "$TOP/bench/churn.py" "$B/run/churn.sock" "$VDVSD_PID" "$N" churnsrc0 | tee "$B/churn.out"
first=$(awk -F'rss_kib=' 'NR == 2 { split($2, a, " "); print a[1] }' "$B/churn.out")
last=$(awk -F'rss_kib=' 'END { split($2, a, " "); print a[1] }' "$B/churn.out")
echo "churn: names=$N rss_kib_after_first_quarter=$first rss_kib_at_end=$last growth_kib=$((last - first))"
