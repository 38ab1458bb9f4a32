#!/usr/bin/env bash
# vmdkfs started by vdvsd with --engine=auto picks io_uring where it works
# and falls back to pread/pwrite where it is blocked (Docker's default
# seccomp profile, kernel.io_uring_disabled), and the volume data path
# works either way: Create, Mount, write + fsync, Unmount, Mount, read back.
# `make test-container` runs it in a container under the default seccomp
# profile with VDVS_EXPECT_ENGINE=sync, so the fallback is really taken.
source "$(dirname "$0")/lib.sh"
require_root; require_loop; require_fuse

# Is io_uring usable here?  fio's io_uring engine calls io_uring_setup.
expect=${VDVS_EXPECT_ENGINE:-}
if [ -z "$expect" ]; then
  if command -v fio >/dev/null \
     && fio --name=probe --ioengine=io_uring --filename="$T/probe" --size=4k --rw=write \
            --output=/dev/null >/dev/null 2>&1; then
    expect=uring
  else
    expect=sync
  fi
fi
grep -q '^Seccomp:[[:space:]]*2' /proc/self/status && echo "seccomp filter active"
echo "expected engine: $expect"

start_vdvsd
V=fb$$
api_ok VolumeDriver.Create "{\"Name\":\"$V\",\"Opts\":{\"size\":\"64mb\"}}" >/dev/null
mp=$(api_ok VolumeDriver.Mount "{\"Name\":\"$V\",\"ID\":\"m1\"}" | jq -r .Mountpoint)
[ -d "$mp" ] || fail "mountpoint $mp"
engine=$(grep -m1 -o 'I/O engine started engine=[a-z]*' "$T/vdvsd.log" | sed 's/.*=//')
[ "$engine" = "$expect" ] || fail "vmdkfs engine is '$engine', expected '$expect': $(grep -i engine "$T/vdvsd.log" | sed -n 1,3p)"
ok "vmdkfs --engine=auto chose $engine"

head -c 8M /dev/urandom > "$T/data"
dd if="$T/data" of="$mp/data" bs=1M conv=fsync status=none || fail "write through $engine"
api_ok VolumeDriver.Unmount "{\"Name\":\"$V\",\"ID\":\"m1\"}" >/dev/null
mp=$(api_ok VolumeDriver.Mount "{\"Name\":\"$V\",\"ID\":\"m2\"}" | jq -r .Mountpoint)
cmp "$T/data" "$mp/data" || fail "data read back differs ($engine engine)"
api_ok VolumeDriver.Unmount "{\"Name\":\"$V\",\"ID\":\"m2\"}" >/dev/null
api_ok VolumeDriver.Remove "{\"Name\":\"$V\"}" >/dev/null
ok "volume data written, fsync'd and read back through the $engine engine"
