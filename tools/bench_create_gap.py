#!/usr/bin/env python3
"""How long ``GET /`` waits while a one-process cloud creates and builds many servers.

A one-process cloud on the real clock (green://, in-memory SQLite, zero-latency fake
driver, conductor, scheduler, API and computes on one hub) gets one ``POST /servers``
with ``max_count`` N (the largest ``[api] max_servers_per_request`` allows by default),
while another greenthread sends ``GET /`` in a loop (back to back during the request,
every 10 ms afterwards, until every server is ACTIVE). It prints, for the request and
for the build that follows, the gaps between consecutive ``GET /`` answers: the
process's CPU time (comparable on a loaded machine) and the wall time beside it.

    python tools/bench_create_gap.py            # 1,000 servers, 20 computes
    python tools/bench_create_gap.py --count 300 --computes 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import webob

from nova_sim import green
from nova_sim.api.app import APIApplication
from nova_sim.deploy import Cloud, new_conf, zero_latency

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"


def _request(app, method: str, path: str, body: dict | None = None):
    request = webob.Request.blank(path, method=method)
    request.headers["X-Auth-Token"] = "demo:demo"
    request.headers["OpenStack-API-Version"] = "compute 2.100"
    if body is not None:
        request.body = json.dumps(body).encode()
        request.content_type = "application/json"
    return request.get_response(app)


def _figures(gaps: list[float]) -> str:
    gaps = sorted(gaps)
    if not gaps:
        return "no answers"
    pick = [gaps[min(len(gaps) - 1, int(len(gaps) * q))] * 1e3 for q in (0.5, 0.99)]
    return f"median {pick[0]:.1f} ms, p99 {pick[1]:.1f} ms, max {gaps[-1] * 1e3:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--computes", type=int, default=20)
    args = parser.parse_args()
    conf = zero_latency(new_conf())
    for name in ("instances", "cores", "ram"):
        conf.set_override(name, -1, "quota")
    cloud = Cloud(conf=conf, computes=args.computes).start()
    app = APIApplication(cloud.api, conf)
    phase = ["request"]
    gaps: dict[str, list[tuple[float, float]]] = {"request": [], "build": []}

    def poll() -> None:
        last = (time.process_time(), time.perf_counter())
        while True:
            assert _request(app, "GET", "/").status_int == 200
            now = (time.process_time(), time.perf_counter())
            gaps[phase[0]].append((now[0] - last[0], now[1] - last[1]))
            last = now
            green.sleep(0 if phase[0] == "request" else 0.01)

    poller = green.spawn(poll)
    started = time.process_time()
    body = {"server": {"name": "many", "imageRef": IMAGE, "flavorRef": "1",
                       "networks": "none", "max_count": args.count}}
    response = _request(app, "POST", "/v2.1/servers", body)
    assert response.status_int == 202, response.text
    phase[0] = "build"
    request_cpu = time.process_time() - started
    while cloud.db.instance_count({"vm_state": "building"}):
        green.sleep(0.1)
    total_cpu = time.process_time() - started
    poller.kill()
    cloud.stop()
    print(f"{args.count} servers, {args.computes} computes, load average "
          f"{os.getloadavg()[0]:.1f}: request {request_cpu:.2f} s CPU, until all ACTIVE "
          f"{total_cpu:.2f} s CPU")
    for name, pairs in gaps.items():
        print(f"  {name:8} {len(pairs):5} answers; CPU between answers "
              f"{_figures([p[0] for p in pairs])}; wall {_figures([p[1] for p in pairs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
