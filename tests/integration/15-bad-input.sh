#!/usr/bin/env bash
# Bad input that used to act, wrap or get lost, against the running daemon:
# a raw or escaped NUL byte in a name (it acted on the volume named by the
# bytes before it), sizes whose byte count overflows (they wrapped to 0),
# a name too long to be mounted (accepted by Create, never mountable), and
# a refs file over 64 KiB (a volume with many mount IDs: every reference
# was dropped at restart, and the volume unmounted under its containers).
source "$(dirname "$0")/lib.sh"
require_root; require_loop
VDVS_TEST_VMDKFS=off
LONGDS=datastore-with-a-long-name-0123456789-0123456789-0123456789
DATASTORES="datastore1,$LONGDS"
start_vdvsd

# post_file ENDPOINT FILE: the file's bytes as the body, binary-safe.
post_file () {
  curl -sS --max-time 60 --unix-socket "$SOCK" -H 'Content-Type: application/json' \
    --data-binary "@$2" "http://plugin/$1"
}

api_ok VolumeDriver.Create '{"Name":"a","Opts":{"size":"16mb"}}' >/dev/null
mp=$(api_ok VolumeDriver.Mount '{"Name":"a","ID":"keep"}' | jq -r .Mountpoint)
echo data > "$mp/f"
# Remove and Unmount of "a<NUL>b": refused, and `a` keeps its mount and data.
for ep in Unmount Remove Create Get; do
  printf '{"Name":"a\0b","ID":"keep"}' > "$T/nul.json"
  err=$(post_file "VolumeDriver.$ep" "$T/nul.json" | jq -r .Err)
  [[ "$err" == "request body contains a NUL byte (at offset 10)"* ]] \
    || fail "$ep with a raw NUL byte: '$err'"
  api_err "VolumeDriver.$ep" '{"Name":"a\u0000b","ID":"keep"}' 'NUL character (\u0000)'
done
mountpoint -q "$mp" || fail "a raw NUL byte in a name unmounted volume a"
[ "$(cat "$mp/f")" = data ] || fail "volume a lost its data"
[ "$(api_ok VolumeDriver.Get '{"Name":"a"}' | jq -r .Volume.Name)" = a ] || fail "volume a gone"
ok "raw and escaped NUL bytes are refused and never act on the name before them"

size_err='Invalid format for size. \nValid sizes must be of form X[mMgGtT]b where X is an integer. Default = 100mb'
for s in 16777216tb 17592186044416mb 8388608tb 99999999999999999999999gb; do
  err=$(api VolumeDriver.Create "{\"Name\":\"big\",\"Opts\":{\"size\":\"$s\"}}" | jq -r .Err)
  [ "$err" = "$(printf '%b' "${size_err//\\n/\\n}")" ] || fail "size $s: '$err'"
done
api_err VolumeDriver.Get '{"Name":"big"}' 'not found'
ok "sizes whose byte count overflows get the upstream size error; nothing is made"

# 100 characters is a valid name, 400 bytes in 4-byte UTF-8: the mount
# point /mnt/vmdk/<vol@ds> cannot exist.
long=$(python3 -c 'print("\U0001F600" * 100, end="")')
api_err VolumeDriver.Create "{\"Name\":\"$long\"}" "is too long to mount"
api_err VolumeDriver.Create "{\"Name\":\"$long@datastore1\"}" "is too long to mount: 411 bytes"
mid=$(python3 -c 'print("\U0001F600" * 55, end="")')
# 220 bytes: the datastore holds it, but <vol>@<long datastore> is 280.
api_err VolumeDriver.Create "{\"Name\":\"$mid@$LONGDS\"}" "is too long to mount: 280 bytes"
[ "$(api_ok VolumeDriver.List '{}' | jq '.Volumes | length')" = 1 ] || fail "a long name was created"
api_ok VolumeDriver.Create "{\"Name\":\"$mid\",\"Opts\":{\"size\":\"16mb\"}}" >/dev/null
m2=$(api_ok VolumeDriver.Mount "{\"Name\":\"$mid\",\"ID\":\"x\"}" | jq -r .Mountpoint)
mountpoint -q "$m2" || fail "a 231-byte mount point name is not mounted"
api_ok VolumeDriver.Unmount "{\"Name\":\"$mid\",\"ID\":\"x\"}" >/dev/null
api_ok VolumeDriver.Remove "{\"Name\":\"$mid\"}" >/dev/null
ok "a name too long to mount is refused at Create; one that fits mounts"

# 1100 mount IDs of 64 hex digits: a refs file of about 75 KiB.
for i in $(seq 1 1100); do
  printf '{"Name":"a","ID":"%064x"}' "$i"
done | python3 -c '
import http.client, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
c = C("plugin")
data = sys.stdin.read()
for body in data.split("}{"):
    body = ("{" + body.strip("{}") + "}")
    c.request("POST", "/VolumeDriver.Mount", body)
    r = c.getresponse().read()
    if b"\"Err\":\"\"" not in r:
        sys.exit("mount: %r" % r)
' "$SOCK" || fail "mounts with many IDs"
size=$(stat -c %s "$T/state/refs/a@datastore1")
[ "$size" -gt 65536 ] || fail "refs file only $size bytes"
stop_vdvsd || fail "vdvsd did not stop cleanly"
start_vdvsd
sleep 2 # recovery's first pass: it unmounts volumes it believes unused
mountpoint -q "$mp" || fail "volume a unmounted after a restart with a ${size}-byte refs file"
api_ok VolumeDriver.Unmount "{\"Name\":\"a\",\"ID\":\"$(printf %064x 7)\"}" >/dev/null
grep -q "Still in use, skipping unmount request.*refcount=1100" "$T/vdvsd.log" \
  || fail "references not reloaded: $(grep -E 'refcount=' "$T/vdvsd.log" | tail -2)"
mountpoint -q "$mp" || fail "unmounted with references left"
ok "a ${size}-byte refs file (1101 references) survives a restart"

# Let the daemon unmount it: one ID at a time would take long, so drop
# them through recovery's view instead: stop, clear the state, restart.
stop_vdvsd || fail "vdvsd did not stop cleanly"
rm -f "$T/state/refs/a@datastore1"
start_vdvsd
for _ in $(seq 1 50); do mountpoint -q "$mp" || break; sleep 0.2; done
mountpoint -q "$mp" && fail "recovery left an unused volume mounted"
api_ok VolumeDriver.Remove '{"Name":"a"}' >/dev/null
ok "cleaned up"
