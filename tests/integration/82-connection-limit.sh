#!/usr/bin/env bash
# --max-connections: at the limit, further connections wait in the listen
# backlog (they are not dropped), and each is answered as soon as a held
# connection closes; after all close, the daemon serves as before.  Also: a
# slow endpoint (Create, on a thread of its own) answered while the limit
# is reached, so the request thread's resume wakes the pool thread.
# Waits are hang guards (30 s), not timing thresholds.
source "$(dirname "$0")/lib.sh"
require_root
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
LIMIT=4

start_vdvsd --max-connections "$LIMIT"

PYTHONPATH="$TESTS" python3 - "$SOCK" "$LIMIT" <<'PY' || fail "connection limit (see above)"
import json, select, socket, sys, time
import checks
from checks import fail, failures, ok

SOCK, LIMIT = sys.argv[1], int(sys.argv[2])

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(SOCK)  # completes in the backlog even when not accepted
    return s

def send(s, path, body=b"{}"):
    s.sendall(b"POST %s HTTP/1.1\r\nHost: plugin\r\nContent-Length: %d\r\n\r\n%s"
              % (path.encode(), len(body), body))

def answer(s):
    """One keep-alive reply: (status, JSON)."""
    data = b""
    while b"\r\n\r\n" not in data:
        c = s.recv(65536)
        if not c:
            raise EOFError("connection closed before a reply")
        data += c
    head, _, body = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length:")][0])
    while len(body) < n:
        c = s.recv(65536)
        if not c:
            raise EOFError("connection closed inside a reply")
        body += c
    return int(head.split(b" ")[1]), json.loads(body[:n])

def unanswered(s, wait=0.5):
    """True when nothing (no reply, no close) arrived on s within wait s."""
    r, _, _ = select.select([s], [], [], wait)
    return not r

def roundtrip(s, path, body=b"{}"):
    send(s, path, body)
    return answer(s)

# Fill the limit with keep-alive connections that each got an answer.
held = [connect() for _ in range(LIMIT)]
for s in held:
    st, j = roundtrip(s, "/VolumeDriver.Capabilities")
    if st != 200 or j.get("Err") != "":
        fail("held connection: %s %s" % (st, j))
ok("%d keep-alive connections answered" % LIMIT)

# Over the limit: the request is queued, not refused...
extra = [connect() for _ in range(2)]
for s in extra:
    send(s, "/VolumeDriver.Capabilities")
# ...while the held connections keep working, the slow path included.
st, j = roundtrip(held[0], "/VolumeDriver.Create", b'{"Name":"limitvol","Opts":{"size":"10mb"}}')
if st != 200 or j.get("Err") != "":
    fail("Create on a held connection at the limit: %s %s" % (st, j))
else:
    ok("Create answered on a held connection at the limit")

# Each close lets one waiting connection in, and only one: before the
# close, that connection and every later one must have had no answer.
for i, s in enumerate(extra):
    for k in range(i, len(extra)):
        if not unanswered(extra[k]):
            fail("over-limit connection %d was answered (or closed) before a held connection closed" % k)
    held.pop().close()
    t0 = time.monotonic()
    try:
        st, j = answer(s)
        if st != 200 or "Capabilities" not in j:
            fail("queued connection %d: %s %s" % (i, st, j))
        else:
            ok("queued connection %d answered %.3f s after a close" % (i, time.monotonic() - t0))
    except Exception as e:
        fail("queued connection %d not answered after a close: %r" % (i, e))

for s in held + extra:
    s.close()
# All closed: a fresh round of LIMIT connections is served.
fresh = [connect() for _ in range(LIMIT)]
for i, s in enumerate(fresh):
    try:
        st, j = roundtrip(s, "/VolumeDriver.Get", b'{"Name":"limitvol"}')
        if st != 200 or j.get("Err") != "":
            fail("fresh connection %d: %s %s" % (i, st, j))
    except Exception as e:
        fail("fresh connection %d: %r" % (i, e))
for s in fresh:
    s.close()
if not failures:
    ok("after every close, %d new connections served" % LIMIT)
checks.exit()
PY

api_ok VolumeDriver.Remove '{"Name":"limitvol"}' >/dev/null
stop_vdvsd || fail "vdvsd did not exit cleanly"
ok "daemon stopped cleanly"
