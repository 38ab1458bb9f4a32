#!/usr/bin/env python3
"""Create, get and remove N distinct volume names through the plugin API
on a unix socket, printing the daemon's RSS at the start, every N/4 names
and at the end.

    churn.py SOCKET PID N SOURCE [CLIENTS]

Each name is a clone of SOURCE (no attach, no mkfs: the churn is of the
daemon's own per-name state).  CLIENTS keep-alive connections (default 4)
work on disjoint names.  Exits 1 on any API error."""
import http.client
import json
import socket
import sys
import threading
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("plugin", timeout=120)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(120)
        self.sock.connect(self.unix_path)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    sock, pid, n, source = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    clients = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    lock = threading.Lock()
    done = [0]
    errors = []
    t0 = time.monotonic()
    marks = [n // 4, n // 2, 3 * n // 4, n]

    def report(i):
        print(f"names={i} rss_kib={rss_kib(pid)} seconds={time.monotonic() - t0:.0f}",
              flush=True)

    def worker(k):
        c = UnixConnection(sock)

        def call(ep, body):
            c.request("POST", "/VolumeDriver." + ep, json.dumps(body),
                      {"Content-Type": "application/json"})
            reply = json.loads(c.getresponse().read())
            if reply.get("Err"):
                raise RuntimeError(f"{ep} {body['Name']}: {reply['Err']}")

        try:
            for i in range(k, n, clients):
                name = f"churn{i}"
                call("Create", {"Name": name, "Opts": {"clone-from": source}})
                call("Get", {"Name": name})
                call("Remove", {"Name": name})
                with lock:
                    done[0] += 1
                    if marks and done[0] == marks[0]:
                        marks.pop(0)
                        report(done[0])
        except Exception as e:  # noqa: BLE001 - any failure ends the run
            errors.append(str(e))

    report(0)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"churn: {errors[0]}")


main()
