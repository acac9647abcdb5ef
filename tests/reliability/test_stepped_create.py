"""A large ``max_count`` is written a row at a time, yielding to the hub: ``GET /`` is
answered while the creation is in progress, and a client that goes away cancels it."""

from __future__ import annotations

import json
import time

import pytest
from api.conftest import Client

from nova_sim import green
from nova_sim.api.app import APIApplication
from nova_sim.deploy import Cloud, new_conf, zero_latency
from nova_sim.green import io as green_io
from nova_sim.green import wsgi

from .conftest import IMAGE, NEW_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.reliability]  # writes 1,000 rows

UNLIMITED = {"instances": -1, "cores": -1, "ram": -1}


def _create_body(count: int) -> dict:
    return {"server": {"name": "many", "imageRef": IMAGE, "flavorRef": "1",
                       "networks": "none", "max_count": count}}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def test_get_root_stays_responsive_during_the_largest_create():
    """A one-process cloud (green://, conductor, scheduler and computes in the same hub):
    while one request writes the largest ``max_count`` the bound allows, each ``GET /``
    waits for at most one row. Measured as the process's CPU time between consecutive
    answers (the machine's load does not inflate it), p99 under 100 ms."""
    with green.virtual_time(seed=7):
        conf = zero_latency(new_conf())
        for name, value in UNLIMITED.items():
            conf.set_override(name, value, "quota")
        cloud = Cloud(conf=conf, computes=4, virtual=True).start()
        count = conf.api.max_servers_per_request
        client = Client(APIApplication(cloud.api, conf))
        cpu_gaps: list[float] = []
        wall_gaps: list[float] = []
        written: list[int] = []
        create = cloud.api.db.instance_create

        def counting_create(values):
            written.append(1)
            return create(values)

        cloud.api.db.instance_create = counting_create
        in_progress = 0

        def poll_root():
            nonlocal in_progress
            cpu, wall = time.process_time(), time.perf_counter()
            while True:
                assert client.get("/").status_int == 200
                now_cpu, now_wall = time.process_time(), time.perf_counter()
                cpu_gaps.append(now_cpu - cpu)
                wall_gaps.append(now_wall - wall)
                in_progress += 0 < len(written) < count
                cpu, wall = now_cpu, now_wall
                green.sleep(0)

        poller = green.spawn(poll_root)
        response = client.post("/v2.1/servers", _create_body(count), token="demo:demo",
                               version=NEW_VERSION)
        green.kill(poller)
        try:
            assert response.status_int == 202, response.text
            assert len(written) == count
            # GET / was answered between (nearly) every two rows.
            assert in_progress >= count - 2
            p99 = _percentile(cpu_gaps, 0.99)
            print(f"\nGET / answers during a {count}-server create: {len(cpu_gaps)}; CPU "
                  f"between answers: median {_percentile(cpu_gaps, 0.5) * 1e3:.2f} ms, "
                  f"p99 {p99 * 1e3:.2f} ms, max {max(cpu_gaps) * 1e3:.1f} ms; wall p99 "
                  f"{_percentile(wall_gaps, 0.99) * 1e3:.1f} ms, max "
                  f"{max(wall_gaps) * 1e3:.1f} ms")
            assert p99 < 0.1
        finally:
            cloud.stop()


def test_a_create_stops_when_its_client_goes_away(compute, conf):
    """The client of a 1,000-server create closes its connection after 20 rows: the
    creation stops at the next row, the rows written are removed, nothing is cast to the
    conductor, and the server goes on serving."""
    for name, value in UNLIMITED.items():
        conf.set_override(name, value, "quota")
    server = wsgi.Server(APIApplication(compute, conf), port=0).start()
    sock = green_io.connect(("127.0.0.1", server.port))
    written: list[str] = []
    outcome: list[BaseException | object] = []
    done = green.Event()
    db_create, api_create = compute.db.instance_create, compute.create

    def counting_create(values):
        row = db_create(values)
        written.append(row["uuid"])
        if len(written) == 20:
            sock.close()  # the client gives up
        return row

    def watched_create(*args, **kwargs):
        try:
            outcome.append(api_create(*args, **kwargs))
        except BaseException as error:
            outcome.append(error)
            raise
        finally:
            done.send(True)

    compute.db.instance_create = counting_create
    compute.create = watched_create
    body = json.dumps(_create_body(1000)).encode()
    sock.sendall(b"POST /v2.1/servers HTTP/1.1\r\nHost: t\r\nX-Auth-Token: demo:demo\r\n"
                 b"Content-Type: application/json\r\nOpenStack-API-Version: compute "
                 + NEW_VERSION.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
                 + body)
    try:
        with green.Timeout(60):
            done.wait()
        (error,) = outcome
        assert type(error).__name__ == "CreateCancelled", error
        assert 20 <= len(written) <= 21  # stopped at the next row
        assert compute.db.instance_get_all_by_filters({}) == []
        assert compute.compute_task_api.count == 0  # nothing cast
        assert Client(APIApplication(compute, conf)).get("/").status_int == 200
    finally:
        server.stop(timeout=5)
