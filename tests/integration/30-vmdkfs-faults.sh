#!/usr/bin/env bash
# vmdkfs fault injection, for both engines: each fault kind set at run
# time over the control socket reaches the caller's syscall with the right
# errno (EIO on read, ENOSPC on write, rate, after=N, trigger, latency,
# read-only datastore -> EROFS, stall + release), is counted in
# `fault list`, clears when removed, and leaves data outside the faulted
# file unchanged.  Exit 0 pass, 77 skip.
set -euo pipefail

source "$(dirname "$0")/vmdkfs-lib.bash"

# injected ID: the injected= count of rule ID in `fault list`.
injected () { ctl fault list | sed -n "s/^id=$1 .* injected=\([0-9]*\)$/\1/p"; }
now_ms () { echo $(( $(date +%s%N) / 1000000 )); }

make_datastore
M=$MNT/$DS S=$SRC/$DS
head -c 8M /dev/urandom > "$SRC/$DS/other.bin"
other_sum=$(sha256sum < "$SRC/$DS/other.bin")
FLATGLOB='datastore1/dockvols/*/vol1-flat.vmdk'

for engine in uring sync; do
  echo "== engine $engine"
  start_vmdkfs "$engine"
  "$PROBE" write "$M/vol1-flat.vmdk" 0 1048576 7 direct >/dev/null || fail "initial write"
  flat_sum=$(sha256sum < "$S/vol1-flat.vmdk")

  # EIO on read, per volume.
  ctl fault add id=rd path="$FLATGLOB" op=read errno=EIO >/dev/null
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "err EIO" ]] || fail "read EIO"
  [[ $("$PROBE" read "$M/other.bin" 0 4096 direct) == "ok 4096" ]] || fail "other file hit"
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "ok 4096" ]] || fail "write hit by read rule"
  [[ $(injected rd) == 1 ]] || fail "read EIO count: $(ctl fault list)"
  grep -q 'Fault injected id=rd op=read .*errno=EIO' "$LOG" || fail "injection not logged"
  ctl fault clear rd >/dev/null
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "read after clear"

  # ENOSPC on write, whole datastore; the backing file is untouched.
  ctl fault add id=wr ds=datastore1 op=write errno=ENOSPC >/dev/null
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 65536 99 direct) == "err ENOSPC" ]] || fail "write ENOSPC"
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 65536 99) == "err ENOSPC" ]] || fail "buffered write ENOSPC"
  [[ $("$PROBE" alloc "$M/vol1-flat.vmdk" 0 4096) == "err ENOSPC" ]] || fail "fallocate ENOSPC"
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "read hit by write rule"
  (( $(injected wr) >= 3 )) || fail "write ENOSPC count: $(ctl fault list)"
  ctl fault clear wr >/dev/null
  [[ $(sha256sum < "$S/vol1-flat.vmdk") == "$flat_sum" ]] || fail "failed writes changed the file"

  # rate: about half of the reads fail, and the count matches.
  ctl fault add id=rate path="$FLATGLOB" op=read errno=EIO rate=0.5 >/dev/null
  fails=0
  for _ in $(seq 60); do
    r=$("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) || true
    [[ $r == "err EIO" ]] && fails=$((fails + 1))
    [[ $r == "err EIO" || $r == "ok 4096" ]] || fail "rate: unexpected $r"
  done
  (( fails > 10 && fails < 50 )) || fail "rate=0.5 failed $fails of 60"
  [[ $(injected rate) == "$fails" ]] || fail "rate count $(injected rate) != $fails"
  ctl fault clear rate >/dev/null

  # after=N: the first N matching writes pass.
  ctl fault add id=after path="$FLATGLOB" op=write errno=ENOSPC after=3 >/dev/null
  for i in 1 2 3; do
    [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "ok 4096" ]] || fail "after: write $i"
  done
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "err ENOSPC" ]] || fail "after: write 4"
  [[ $(injected after) == 1 ]] || fail "after count"
  ctl fault clear after >/dev/null

  # trigger: armed and disarmed at run time.
  ctl fault add id=trig path="$FLATGLOB" op=rw errno=EIO trigger=off >/dev/null
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "trigger off"
  ctl fault trigger trig on >/dev/null
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "err EIO" ]] || fail "trigger on read"
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "err EIO" ]] || fail "trigger on write"
  ctl fault trigger trig off >/dev/null
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "trigger off again"
  [[ $(injected trig) == 2 ]] || fail "trigger count"
  ctl fault clear trig >/dev/null

  # latency.
  ctl fault delay id=slow path="$FLATGLOB" ms=400 >/dev/null
  t0=$(now_ms)
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "delayed read"
  t1=$(now_ms)
  (( t1 - t0 >= 380 )) || fail "delay: read took $((t1 - t0)) ms"
  t0=$(now_ms)
  "$PROBE" read "$M/other.bin" 0 4096 direct >/dev/null
  t1=$(now_ms)
  (( t1 - t0 < 300 )) || fail "delay leaked to other file: $((t1 - t0)) ms"
  [[ $(injected slow) == 1 ]] || fail "delay count"
  ctl fault clear slow >/dev/null
  t0=$(now_ms)
  "$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct >/dev/null
  t1=$(now_ms)
  (( t1 - t0 < 300 )) || fail "delay did not clear: $((t1 - t0)) ms"

  # read-only datastore: modifying ops fail with EROFS, reads work.
  ctl fault readonly ds=datastore1 on >/dev/null
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "err EROFS" ]] || fail "readonly write"
  [[ $("$PROBE" openw "$M/vol1.vmdk") == "err EROFS" ]] || fail "readonly open for write"
  [[ $("$PROBE" punch "$M/vol1-flat.vmdk" 0 4096) == "err EROFS" ]] || fail "readonly punch"
  touch "$M/newfile" 2>"$T/err" && fail "readonly create succeeded"
  grep -q "Read-only file system" "$T/err" || fail "readonly create: $(cat "$T/err")"
  [[ $("$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct) == "ok 4096" ]] || fail "readonly read"
  (( $(injected readonly-datastore1) >= 4 )) || fail "readonly count"
  ctl fault readonly ds=datastore1 off >/dev/null
  [[ $("$PROBE" write "$M/vol1-flat.vmdk" 0 4096 7 direct) == "ok 4096" ]] || fail "write after readonly off"

  # stall: held until released, other files unaffected meanwhile.
  ctl fault stall id=hold path="$FLATGLOB" >/dev/null
  "$PROBE" read "$M/vol1-flat.vmdk" 0 4096 direct > "$T/stalled" &
  stalled=$!
  sleep 1
  kill -0 "$stalled" 2>/dev/null || fail "stalled read completed: $(cat "$T/stalled")"
  [[ $("$PROBE" read "$M/other.bin" 0 4096 direct) == "ok 4096" ]] || fail "stall blocked other file"
  ctl stats | grep ' parked=1 ' >/dev/null || fail "stats parked: $(ctl stats)"
  [[ $(injected hold) == 1 ]] || fail "stall count"
  ctl fault release hold >/dev/null
  for _ in $(seq 50); do kill -0 "$stalled" 2>/dev/null || break; sleep 0.1; done
  wait "$stalled" || fail "released read failed: $(cat "$T/stalled")"
  [[ $(cat "$T/stalled") == "ok 4096" ]] || fail "released read: $(cat "$T/stalled")"
  [[ -z $(ctl fault list) ]] || fail "rules left: $(ctl fault list)"

  # Through a loop device: the block layer sees the injected EIO.
  loop=$(losetup --direct-io=on --show -f "$M/vol1-flat.vmdk")
  LOOPS+=("$loop")
  dd if="$loop" of=/dev/null bs=4k count=1 skip=100 iflag=direct status=none || fail "loop read"
  ctl fault add id=lp path="$FLATGLOB" op=read errno=EIO >/dev/null
  dd if="$loop" of=/dev/null bs=4k count=1 skip=200 iflag=direct status=none 2>"$T/err" \
    && fail "loop read with EIO fault succeeded"
  grep -q "Input/output error" "$T/err" || fail "loop error: $(cat "$T/err")"
  ctl fault clear >/dev/null
  dd if="$loop" of=/dev/null bs=4k count=1 skip=300 iflag=direct status=none || fail "loop read after clear"
  losetup -d "$loop"; LOOPS=()

  [[ $(sha256sum < "$SRC/$DS/other.bin") == "$other_sum" ]] || fail "other file changed"
  stop_vmdkfs
done
echo "PASS"
