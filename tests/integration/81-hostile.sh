#!/usr/bin/env bash
# Hostile input against the running daemon (issue 5, item 5): deep JSON
# nesting, duplicate keys, huge strings and bodies, option floods, names and
# mount IDs with control characters and path traversal, 2000 idle
# connections, a slowloris sender.  Every request must get a clear JSON
# answer, nothing may be created outside the datastore root, normal requests
# must still be answered while the bad connections are held, and the
# daemon's RSS must stay bounded (fails only on > 200 MiB of growth; no
# timing thresholds, times are printed).
source "$(dirname "$0")/lib.sh"
require_root
command -v python3 >/dev/null || { echo "SKIP: needs python3"; exit 77; }
DATASTORES=datastore1,ds2

start_vdvsd
rss () { awk '/^VmRSS:/ { print $2 }' "/proc/$VDVSD_PID/status"; }
threads () { awk '/^Threads:/ { print $2 }' "/proc/$VDVSD_PID/status"; }
rss0=$(rss)
echo "vdvsd pid $VDVSD_PID: VmRSS ${rss0} kB, $(threads) threads at start"
touch "$T/marker"

PYTHONPATH="$TESTS" python3 - "$SOCK" "$ROOT" "$T" "$VDVSD_PID" <<'PY' || fail "hostile input (see above)"
import glob, json, os, resource, socket, sys, threading, time
import checks
from checks import fail, failures, ok

SOCK, ROOT, T, PID = sys.argv[1:5]

def http(path, body, timeout=120, headers=None):
    """POST body (bytes or str) to path; returns (status, parsed JSON or raw bytes, seconds)."""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    h = headers if headers is not None else {"Content-Length": str(len(body))}
    req = "POST %s HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nConnection: close\r\n" % path
    req += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    try:
        s.sendall(req.encode() + body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused early (oversize): read the answer anyway
    data = b""
    while True:
        try:
            c = s.recv(65536)
        except ConnectionResetError:
            break
        if not c:
            break
        data += c
    s.close()
    dt = time.monotonic() - t0
    head, _, payload = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except Exception:
        return None, data, dt
    if b"Transfer-Encoding: chunked" in head:
        out, rest = b"", payload
        while rest:
            n, _, rest = rest.partition(b"\r\n")
            n = int(n, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        payload = out
    try:
        return status, json.loads(payload), dt
    except Exception:
        return status, payload, dt

def api(ep, body, **kw):
    return http("/VolumeDriver." + ep, body, **kw)

def expect_err(what, ep, body, contains=None, **kw):
    st, j, dt = api(ep, body, **kw)
    if st != 200 or not isinstance(j, dict) or not isinstance(j.get("Err"), str):
        fail("%s: no JSON answer with Err (status %s): %r" % (what, st, j if isinstance(j, dict) else j[:200]))
        return None
    if not j["Err"]:
        fail("%s: accepted: %r" % (what, j))
        return None
    if contains and contains not in j["Err"]:
        fail("%s: Err %r lacks %r" % (what, j["Err"][:300], contains))
        return None
    return j["Err"], dt

def healthy(what):
    st, j, _ = api("List", "{}", timeout=30)
    if st != 200 or not isinstance(j, dict) or j.get("Err") != "":
        fail("daemon not serving after %s: %s %r" % (what, st, j))
        return False
    return True

# --- deep nesting
for what, body in (("100k '['", "[" * 100000),
                   ("100k '{\"a\":'", '{"a":' * 100000),
                   ("100k '[' in Opts", '{"Name":"x","Opts":{"a":' + "[" * 100000 + "}}"),
                   ("999-deep array in Opts", '{"Name":"x","Opts":{"a":' + "[" * 997 + "]" * 997 + "}}")):
    r = expect_err("deep nesting " + what, "Get" if "Opts" not in body else "Create", body)
    if r:
        ok("deep nesting %s: %r (%.2fs)" % (what, r[0][:70], r[1]))
healthy("deep nesting")

# --- duplicate keys: the second Opts key is refused; a doubled Name is
# answered (either way) with JSON
r = expect_err("duplicate option key", "Create", '{"Name":"dup","Opts":{"size":"1mb","size":"2tb"}}', "given twice")
if r:
    ok("duplicate option key: %r" % r[0])
st, j, _ = api("Get", '{"Name":"nosuch1","Name":"nosuch2"}')
if st == 200 and isinstance(j, dict) and j.get("Err"):
    ok("duplicate Name key: %r" % j["Err"][:80])
else:
    fail("duplicate Name key: %s %r" % (st, j))

# --- huge strings and bodies
r = expect_err("1 MB name", "Get", json.dumps({"Name": "a" * 1000000}), "too long")
if r:
    ok("1 MB name: %r (%.2fs)" % (r[0][:60], r[1]))
r = expect_err("1 MB datastore", "Get", json.dumps({"Name": "a@" + "d" * 1000000}), "too long")
if r:
    ok("1 MB datastore: %r" % r[0][:60])
r = expect_err("1 MB option value", "Create", json.dumps({"Name": "big", "Opts": {"size": "9" * 1000000 + "gb"}}), "Invalid format for size")
if r:
    ok("1 MB size value: refused (%.2fs)" % r[1])
r = expect_err("1 MB diskformat", "Create", json.dumps({"Name": "big", "Opts": {"diskformat": "x" * 1000000}}), "not supported")
if r:
    ok("1 MB diskformat value: refused, %d-byte message (%.2fs)" % (len(r[0]), r[1]))
r = expect_err("2 MiB body", "Get", json.dumps({"Name": "a" * (2 << 20)}), "too large")
if r:
    ok("2 MiB body: %r" % r[0])
r = expect_err("announced 10 GB body", "Get", b'{"Name":"x"}', "too large",
               headers={"Content-Length": str(10 << 30)})
if r:
    ok("Content-Length 10 GB: %r" % r[0])
for n in (10000, 60000):
    opts = {"k%06d" % i: "v" for i in range(n)}
    r = expect_err("%d option keys" % n, "Create", json.dumps({"Name": "many", "Opts": opts}), "too many options")
    if r:
        ok("%d option keys (%d-byte body): refused in %.2fs" % (n, len(json.dumps(opts)), r[1]))
healthy("huge input")

# --- hostile names: refused on every endpoint, nothing created outside ROOT
pwn = "pwned-%d" % os.getpid()
bad_names = ["../../../../../../tmp/" + pwn, "..\\..\\" + pwn, "a/b", "x@../../../tmp",
             "x@..", "x@.", "@ds2", "", "bad\u0001name", "new\nline", "tab\tname",
             "esc\u001b[31mred", "del\u007f", "nul\u0000after", "v-000001", "a" * 101,
             "\U0001F600" * 101, "\U0001F600" * 100, "%2e%2e%2f" + pwn + "/x",
             "x@" + "d" * 101, "x@nosuchds", "x@DATASTORE1/../ds2"]
for name in bad_names:
    for ep in ("Create", "Get", "Remove", "Path", "Mount", "Unmount"):
        body = {"Name": name}
        if ep in ("Mount", "Unmount"):
            body["ID"] = "hostile"
        r = expect_err("name %r on %s" % (name[:40], ep), ep, json.dumps(body))
ok("%d hostile names refused on Create/Get/Remove/Path/Mount/Unmount" % len(bad_names))
# Odd but valid names: answered as unknown volumes, not errors of parsing.
for name in ("..", "...", "-", " ", "a@b@ds2", "@@ds2"):
    st, j, _ = api("Get", json.dumps({"Name": name}))
    if not (st == 200 and isinstance(j, dict) and j.get("Err")):
        fail("Get %r: %s %r" % (name, st, j))
for ep, body, want in (("Mount", {"Name": "v", "ID": "../../x"}, "mount `ID`"),
                       ("Mount", {"Name": "v", "ID": "i" * 100000}, "mount `ID`"),
                       ("Mount", {"Name": "v", "ID": 5}, "mount `ID`"),
                       ("Unmount", {"Name": "v"}, "mount `ID`"),
                       ("Create", {"Name": ["x"]}, "Name"),
                       ("Create", {"Name": "x", "Opts": {"size": 5}}, "string value"),
                       ("Create", {"Name": "x", "Opts": ["size"]}, "Opts")):
    expect_err("%s %s" % (ep, json.dumps(body)[:50]), ep, json.dumps(body), want)
ok("hostile mount IDs and member types refused")
# An escape creates <name>.vmdk, <name>-flat.vmdk and a sidecar: look for
# anything starting with the name wherever a ../ walk could land.
for d in ("/tmp", "/", T, os.path.dirname(ROOT), os.getcwd(), "/run", "/var/lib"):
    for p in glob.glob(os.path.join(d, glob.escape(pwn) + "*")):
        fail("hostile name created %s" % p)
for dirpath, dirs, files in os.walk(T):
    for f in dirs + files:
        if pwn in f or "\n" in f or "\u001b" in f:
            fail("hostile name created %s" % os.path.join(dirpath, f))
healthy("hostile names")

# --- 2000 idle connections, some with half a request, while others are served
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
idle, refused, errors, streak = [], 0, {}, 0
t0 = time.monotonic()
for i in range(2000):
    # A full accept backlog says EAGAIN at once: retry briefly; once the
    # daemon accepts nothing for a while it is saturated, stop there.
    for attempt in range(10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect(SOCK)
            if i % 2:
                s.sendall(b"POST /VolumeDriver.List HTTP/1.1\r\nHost: plugin\r\n")
            idle.append(s)
            streak = 0
            break
        except OSError as e:
            s.close()
            errors[e.strerror] = errors.get(e.strerror, 0) + 1
            time.sleep(0.05)
    else:
        refused += 1
        streak += 1
        if streak == 3:
            break
print("opened %d idle connections in %.1fs (%s; connect errors %s)"
      % (len(idle), time.monotonic() - t0,
         "the daemon stopped accepting" if streak == 3 else "all accepted",
         errors or "none"), flush=True)
time.sleep(1)

def patient(ep, deadline_s=20):
    """A request whose connect is retried on EAGAIN until deadline_s."""
    t0 = time.monotonic()
    while True:
        try:
            return api(ep, "{}", timeout=deadline_s)
        except (BlockingIOError, ConnectionRefusedError, socket.timeout) as e:
            if time.monotonic() - t0 > deadline_s:
                return None, str(e), time.monotonic() - t0
            time.sleep(0.1)

served = 0
for i in range(10):
    st, j, dt = patient("Capabilities" if i % 2 else "List")
    if st == 200 and isinstance(j, dict) and j.get("Err") == "":
        served += 1
    else:
        print("  request %d during idle flood: %s %r after %.1fs" % (i, st, j, dt), flush=True)
    if i == 1 and served == 0:
        break
if served == 10:
    ok("10/10 requests answered while %d idle connections are held" % len(idle))
else:
    fail("%d/10 requests answered while %d idle connections are held (the daemon "
         "keeps idle connections 120 s and accepts no more past its connection limit)"
         % (served, len(idle)))
# How many of the held connections the daemon really kept.
alive = 0
for s in idle:
    try:
        s.setblocking(False)
        alive += s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("  %d of the held connections still open on the daemon's side" % alive, flush=True)
with open("/proc/%s/status" % PID) as f:
    st = dict(l.split(":", 1) for l in f)
nofile = [l for l in open("/proc/%s/limits" % PID) if l.startswith("Max open files")]
print("  vdvsd during the flood: VmRSS%s, Threads%s, %d fds open; %s" % (
      st["VmRSS"].rstrip(), st["Threads"].rstrip(), len(os.listdir("/proc/%s/fd" % PID)),
      " ".join(nofile[0].split()) if nofile else ""), flush=True)
for s in idle:
    s.close()
time.sleep(1)
healthy("closing idle connections")

# --- slowloris: one byte per second, while others are served
stop = threading.Event()
sent = [0]
def slowloris():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    body = b'{"Name":"slow"}'
    req = b"POST /VolumeDriver.Get HTTP/1.1\r\nHost: plugin\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    try:
        for b in req:
            if stop.is_set():
                break
            s.send(bytes([b]))
            sent[0] += 1
            time.sleep(1)
    except OSError:
        pass
    s.close()
th = threading.Thread(target=slowloris, daemon=True)
th.start()
time.sleep(2)
served, t0 = 0, time.monotonic()
while time.monotonic() - t0 < 8:
    st, j, _ = api("List", "{}", timeout=20)
    served += st == 200 and isinstance(j, dict) and j.get("Err") == ""
    time.sleep(0.5)
stop.set()
th.join()
if served >= 10:
    ok("slowloris (%d bytes at 1/s): %d requests answered meanwhile" % (sent[0], served))
else:
    fail("slowloris: only %d requests answered in 8 s" % served)

print("%d hostile-input checks failed" % len(failures))
checks.exit()
PY

kill -0 "$VDVSD_PID" 2>/dev/null || fail "vdvsd died"
rss1=$(rss)
echo "vdvsd after: VmRSS ${rss1} kB (start ${rss0} kB), $(threads) threads"
# Under ASan, freed memory waits in a quarantine of up to 256 MiB.
limit=200; [ "$SANITIZED" = 1 ] && limit=$((200 + 256))
[ $((rss1 - rss0)) -lt $((limit * 1024)) ] || fail "VmRSS grew by $(( (rss1 - rss0) / 1024 )) MiB (limit $limit MiB)"
ok "RSS bounded: +$(( (rss1 - rss0) / 1024 )) MiB (limit $limit MiB)"
# Nothing outside the datastore root, the state dir and the mount root.
stray=$(find "$T" -newer "$T/marker" -mindepth 1 \
          -not -path "$ROOT*" -not -path "$T/state*" -not -path "$MNT*" \
          -not -path "$T/run*" -not -path "$T/plugins*" -not -name vdvsd.log -print)
[ -z "$stray" ] || fail "files created outside the roots: $stray"
stop_vdvsd || fail "vdvsd did not exit cleanly"
ok "daemon survived and stopped cleanly"
