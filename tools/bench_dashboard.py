"""Benchmark: what open dashboards cost the compute API (target: 20 open dashboards
lower the API's request rate by at most 10%).

A one-process cloud (conductor, scheduler, two computes, the API and the dashboard, on
the real clock, periodic tasks on) runs in a child process with 10 ACTIVE servers.
``wrk`` (the Debian package; installed with apt-get when missing and running as root)
loads ``GET /v2.1/servers/detail`` (admin) from another process, 20 connections, while
0 or N dashboards are open: N live streams (``/api/events`` with every topic, what the
overview, messages and greenthreads pages ask for), read by threads of this process.
Rounds interleave (0, N, 0, N...); the figures are medians of the rounds: the API's
requests per second (wall), and the cloud process's CPU time per request
(``/proc/PID/stat``: comparable on a shared, noisy machine), with the change N
dashboards make to each.

Usage: ``.venv/bin/python tools/bench_dashboard.py [--dashboards 20] [--rounds 5]
[--duration 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from bench_api import ensure_wrk, run_wrk  # noqa: E402 - tools/ is not a package

SERVERS = 10
TOKEN = "admin:admin"


def serve() -> None:
    """The child: the cloud and its dashboard; prints the two ports, serves until killed."""
    from nova_sim.dashboard import start_for
    from nova_sim.deploy import Cloud, new_conf, zero_latency

    conf = zero_latency(new_conf())
    conf.set_override("osapi_compute_listen_port", 0)
    conf.set_override("port", 0, group="dashboard")
    cloud = Cloud(conf, computes=2, api=True).start()
    dashboard, why = start_for(cloud, conf)
    if dashboard is None:
        raise SystemExit(why)
    print(cloud.api_port, dashboard.port, flush=True)
    cloud.wait()


def api(port: int, method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2.1{path}", data=data, method=method,
        headers={"X-Auth-Token": TOKEN, "Content-Type": "application/json",
                 "OpenStack-API-Version": "compute 2.37"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        raw = answer.read()
        return json.loads(raw) if raw else {}


def boot(port: int) -> None:
    from nova_sim.image import CIRROS_IMAGE_ID

    for number in range(SERVERS):
        api(port, "POST", "/servers", {"server": {
            "name": f"bench-{number}", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1",
            "networks": "none"}})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        servers = api(port, "GET", "/servers/detail")["servers"]
        if len(servers) == SERVERS and all(s["status"] == "ACTIVE" for s in servers):
            return
        time.sleep(0.2)
    raise SystemExit("the servers did not become ACTIVE")


class Dashboards:
    """``count`` open live streams, each read by a thread until ``close``."""

    def __init__(self, port: int, count: int):
        self.sockets = []
        self.events = [0] * count
        self.threads = []
        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(b"GET /api/events?topics=overview,messages,greenthreads HTTP/1.1\r\n"
                         b"Host: 127.0.0.1:%d\r\n\r\n" % port)
            self.sockets.append(sock)
            thread = threading.Thread(target=self._read, args=(index, sock), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _read(self, index: int, sock: socket.socket) -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                self.events[index] += data.count(b"\nevent: ") + data.startswith(b"event: ")
        except OSError:
            return

    def close(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stream:
        fields = stream.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(wrk: str, pid: int, api_port: int, duration: float) -> dict:
    before = cpu_seconds(pid)
    result = run_wrk(wrk, f"http://127.0.0.1:{api_port}/v2.1/servers/detail", 20, duration,
                     [f"X-Auth-Token: {TOKEN}"])
    used = cpu_seconds(pid) - before
    requests = result["rps"] * duration
    result["cpu_ms_per_request"] = used / requests * 1e3 if requests else float("nan")
    if result["non2xx"] or result["errors"]:
        raise SystemExit(f"errors under load: {result}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    wrk = ensure_wrk()
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        api_port, dashboard_port = map(int, child.stdout.readline().split())
        boot(api_port)
        measure(wrk, child.pid, api_port, 1)  # warm up
        rows: dict[int, list[dict]] = {0: [], args.dashboards: []}
        events = []
        for _round in range(args.rounds):
            for count in rows:
                dashboards = Dashboards(dashboard_port, count)
                try:
                    time.sleep(0.5)  # the streams' first events are sent
                    rows[count].append(measure(wrk, child.pid, api_port, args.duration))
                finally:
                    dashboards.close()
                if count:
                    events.append(min(dashboards.events))
    finally:
        child.terminate()
        child.wait(timeout=60)
    load = os.getloadavg()
    print(f"GET /v2.1/servers/detail ({SERVERS} servers), wrk -c20 -d{args.duration:g}s, "
          f"medians of {args.rounds} interleaved rounds; load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'dashboards open':>16} {'req/s':>9} {'CPU ms/req':>11} {'p99 ms':>8}")
    medians = {}
    for count, results in rows.items():
        rps = statistics.median(r["rps"] for r in results)
        cpu = statistics.median(r["cpu_ms_per_request"] for r in results)
        p99 = statistics.median(r["p99"] for r in results)
        medians[count] = (rps, cpu)
        print(f"{count:>16} {rps:>9.1f} {cpu:>11.3f} {p99:>8.1f}")
    (rps0, cpu0), (rpsn, cpun) = medians[0], medians[args.dashboards]
    drop = (1 - rpsn / rps0) * 100
    print(f"request rate drop with {args.dashboards} dashboards: {drop:.1f}% "
          f"(target <= 10%: {'met' if drop <= 10 else 'missed'}); CPU per request "
          f"{(cpun / cpu0 - 1) * 100:+.1f}%; each stream got at least "
          f"{min(events) if events else 0} events a round")
    return 0


if __name__ == "__main__":
    sys.exit(main())
