"""Benchmark of the green WSGI server and the compute API (``make bench`` runs it too).

Part 1: the same small WSGI application (a 200-byte JSON body) served by nova-sim's
``nova_sim.green.wsgi.Server`` and by ``eventlet.wsgi`` (access log off on both), each in
its own process, loaded by ``wrk`` (Debian package ``wrk``; installed with apt-get when
missing and running as root) from another process: 50 connections, keep-alive and
``Connection: close``, rounds interleaved (nova-sim, eventlet, nova-sim...), medians of the
rounds, p99 latency from wrk's latency distribution.

Part 2: ``GET /v2.1/servers/detail`` (admin, microversion 2.100) with 100 ACTIVE servers on
a one-process nova-sim cloud (conductor, scheduler, four computes, API), nova-sim alone.

Usage: ``.venv/bin/python tools/bench_api.py [--duration 5] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

BODY = b'{"data": "' + b"x" * 188 + b'"}'
assert len(BODY) == 200
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


# -- the servers (child processes) ------------------------------------------------------
def serve_nova_sim() -> None:
    from nova_sim.green import wsgi

    server = wsgi.Server(app, "127.0.0.1", 0).start()
    print(server.port, flush=True)
    server.serve_forever()


def serve_eventlet() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.wsgi

    sock = eventlet.listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    eventlet.wsgi.server(sock, app, log_output=False)


def serve_cloud() -> None:
    from nova_sim.deploy import Cloud, new_conf

    conf = new_conf()
    conf.set_override("osapi_compute_listen_port", 0)
    for name in ("instances", "cores", "ram"):
        conf.set_override(name, -1, group="quota")
    for name in ("spawn_latency", "reboot_latency", "stop_latency", "start_latency",
                 "delete_latency"):
        conf.set_override(name, "fixed:0", group="fake_driver")
    cloud = Cloud(conf, computes=4, api=True).start()
    print(cloud.api_port, flush=True)
    cloud.wait()


SERVERS = {"nova-sim": serve_nova_sim, "eventlet": serve_eventlet, "cloud": serve_cloud}


def start(kind: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", kind],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               cwd=REPO)
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise SystemExit(f"{kind} server did not start")
    return process, int(line)


# -- the load (wrk) ---------------------------------------------------------------------
def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False,
                       stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
        if path:
            return path
    raise SystemExit("wrk is needed: apt-get install wrk (Debian/Ubuntu)")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(wrk: str, url: str, connections: int, duration: float,
            headers: list[str]) -> dict:
    command = [wrk, "-t1", f"-c{connections}", f"-d{int(duration)}s", "--latency", "--timeout",
               "10s"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(command + [url], capture_output=True, text=True,
                            check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    errors = re.search(r"Socket errors: (.*)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rps, "p50": p50, "p99": p99,
            "errors": errors.group(1) if errors else "",
            "non2xx": int(non2xx.group(1)) if non2xx else 0}


def part1(wrk: str, args) -> dict:
    servers = {kind: start(kind) for kind in ("nova-sim", "eventlet")}
    results: dict = {(kind, mode): [] for kind in servers for mode in ("keep-alive", "close")}
    try:
        for _process, port in servers.values():  # warm up
            run_wrk(wrk, f"http://127.0.0.1:{port}/", args.connections, 1, [])
        for round_number in range(args.rounds):
            for mode in ("keep-alive", "close"):
                for kind, (_process, port) in servers.items():
                    headers = ["Connection: close"] if mode == "close" else []
                    result = run_wrk(wrk, f"http://127.0.0.1:{port}/", args.connections,
                                     args.duration, headers)
                    results[(kind, mode)].append(result)
                    print(f"round {round_number + 1} {mode:10} {kind:8} "
                          f"{result['rps']:9.0f} req/s  p50 {result['p50']:7.2f} ms  "
                          f"p99 {result['p99']:7.2f} ms {result['errors']}", flush=True)
    finally:
        for process, _port in servers.values():
            process.terminate()
            process.wait()
    return results


def _request(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "X-Auth-Token": "admin:admin", "Content-Type": "application/json",
        "OpenStack-API-Version": "compute 2.100"})
    with urllib.request.urlopen(request) as response:
        raw = response.read()
    return json.loads(raw) if raw else {}


def part2(wrk: str, args) -> dict:
    from nova_sim.image import CIRROS_IMAGE_ID

    process, port = start("cloud")
    base = f"http://127.0.0.1:{port}/v2.1"
    try:
        for first in range(0, args.servers, 10):  # boots of 10, as a user would
            count = min(10, args.servers - first)
            _request(f"{base}/servers", "POST", {"server": {
                "name": f"bench{first}", "imageRef": CIRROS_IMAGE_ID, "flavorRef": "1",
                "networks": "auto", "min_count": count, "max_count": count}})
        deadline = time.monotonic() + 120
        while True:
            servers = _request(f"{base}/servers/detail")["servers"]
            active = sum(s["status"] == "ACTIVE" for s in servers)
            if active == args.servers:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {active} of {args.servers} servers became ACTIVE")
            time.sleep(0.2)
        size = len(json.dumps({"servers": servers}))
        headers = ["X-Auth-Token: admin:admin", "OpenStack-API-Version: compute 2.100"]
        runs = []
        for round_number in range(args.rounds):
            result = run_wrk(wrk, f"{base}/servers/detail", args.connections, args.duration,
                             headers)
            runs.append(result)
            print(f"round {round_number + 1} servers/detail ({args.servers} servers, "
                  f"{size} bytes) {result['rps']:7.0f} req/s  p50 {result['p50']:7.2f} ms"
                  f"  p99 {result['p99']:7.2f} ms  non-2xx {result['non2xx']}", flush=True)
        return {"runs": runs, "size": size}
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--servers", type=int, default=100,
                        help="servers booted for the /servers/detail run")
    parser.add_argument("--serve", choices=sorted(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--skip-detail", action="store_true",
                        help="only the WSGI server comparison")
    args = parser.parse_args()
    if args.serve:
        SERVERS[args.serve]()
        return
    wrk = ensure_wrk()
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} interleaved "
          f"rounds, medians", flush=True)
    results = part1(wrk, args)
    print("\nWSGI server, 200-byte JSON, medians:")
    print(f"{'':12}{'nova-sim req/s':>16}{'eventlet req/s':>16}{'ratio':>8}"
          f"{'nova-sim p99':>14}{'eventlet p99':>14}")
    for mode in ("keep-alive", "close"):
        ours = results[("nova-sim", mode)]
        theirs = results[("eventlet", mode)]
        ours_rps = statistics.median(r["rps"] for r in ours)
        theirs_rps = statistics.median(r["rps"] for r in theirs)
        ours_p99 = statistics.median(r["p99"] for r in ours)
        theirs_p99 = statistics.median(r["p99"] for r in theirs)
        print(f"{mode:12}{ours_rps:16.0f}{theirs_rps:16.0f}{ours_rps / theirs_rps:7.2f}x"
              f"{ours_p99:11.2f} ms{theirs_p99:11.2f} ms")
    if not args.skip_detail:
        detail = part2(wrk, args)
        runs = detail["runs"]
        print(f"\nGET /v2.1/servers/detail, {args.servers} servers ({detail['size']} bytes), "
              f"nova-sim, medians: {statistics.median(r['rps'] for r in runs):.0f} req/s, "
              f"p50 {statistics.median(r['p50'] for r in runs):.1f} ms, "
              f"p99 {statistics.median(r['p99'] for r in runs):.1f} ms")


if __name__ == "__main__":
    main()
