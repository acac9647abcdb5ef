"""A large ``max_count`` is written a row at a time, yielding to the hub: ``GET /`` is
answered while the creation is in progress and while the same process then schedules and
builds the servers, and a client that goes away cancels it."""

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


class RootPoller:
    """A greenthread that sends ``GET /`` in a loop and records, per phase, the process's
    CPU time and the wall time between consecutive answers. ``interval``: how long it
    sleeps after each answer (0: it only yields)."""

    def __init__(self, client: Client):
        self.client = client
        self.phase = "request"
        self.interval = 0.0
        self.cpu_gaps: dict[str, list[float]] = {}
        self.wall_gaps: dict[str, list[float]] = {}
        self.on_answer = None  # called after each answer, if set
        self._thread = green.spawn(self._poll)

    def _poll(self) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        while True:
            assert self.client.get("/").status_int == 200
            now_cpu, now_wall = time.process_time(), time.perf_counter()
            self.cpu_gaps.setdefault(self.phase, []).append(now_cpu - cpu)
            self.wall_gaps.setdefault(self.phase, []).append(now_wall - wall)
            if self.on_answer is not None:
                self.on_answer()
            cpu, wall = now_cpu, now_wall
            green.sleep(self.interval)

    def stop(self) -> None:
        green.kill(self._thread)

    def figures(self, phase: str) -> str:
        cpu, wall = self.cpu_gaps[phase], self.wall_gaps[phase]
        return (f"{len(cpu)} answers; CPU between answers: median "
                f"{_percentile(cpu, 0.5) * 1e3:.2f} ms, p99 {_percentile(cpu, 0.99) * 1e3:.2f}"
                f" ms, max {max(cpu) * 1e3:.1f} ms; wall p99 "
                f"{_percentile(wall, 0.99) * 1e3:.1f} ms, max {max(wall) * 1e3:.1f} ms")


def _one_process_cloud(computes: int) -> tuple[Cloud, Client]:
    """A one-process cloud on the virtual clock (green://, conductor, scheduler and
    computes on the same hub, zero latencies, unlimited quota) and a client of its API."""
    conf = zero_latency(new_conf())
    for name, value in UNLIMITED.items():
        conf.set_override(name, value, "quota")
    cloud = Cloud(conf=conf, computes=computes, virtual=True).start()
    return cloud, Client(APIApplication(cloud.api, conf))


def test_get_root_stays_responsive_during_the_largest_create():
    """A one-process cloud (green://, conductor, scheduler and computes in the same hub):
    while one request writes the largest ``max_count`` the bound allows, each ``GET /``
    waits for at most one row. Measured as the process's CPU time between consecutive
    answers (the machine's load does not inflate it), p99 under 100 ms."""
    with green.virtual_time(seed=7):
        cloud, client = _one_process_cloud(computes=4)
        count = cloud.conf.api.max_servers_per_request
        written: list[int] = []
        create = cloud.api.db.instance_create

        def counting_create(values):
            written.append(1)
            return create(values)

        cloud.api.db.instance_create = counting_create
        in_progress = 0

        def count_in_progress():
            nonlocal in_progress
            in_progress += 0 < len(written) < count

        poller = RootPoller(client)
        poller.on_answer = count_in_progress
        response = client.post("/v2.1/servers", _create_body(count), token="demo:demo",
                               version=NEW_VERSION)
        poller.stop()
        try:
            assert response.status_int == 202, response.text
            assert len(written) == count
            # GET / was answered between (nearly) every two rows.
            assert in_progress >= count - 2
            print(f"\nGET / during a {count}-server create: {poller.figures('request')}")
            assert _percentile(poller.cpu_gaps["request"], 0.99) < 0.1
        finally:
            cloud.stop()


def test_get_root_stays_responsive_while_the_cloud_builds_the_largest_create():
    """The same cloud then schedules and builds the servers (the conductor's batch, the
    scheduler's claims, the computes' builds) while ``GET /`` is sent back to back: the
    process's CPU time between consecutive answers stays under 100 ms at p99, and every
    server ends ACTIVE. (The poller only yields: on the virtual clock, a sleeping poller
    would wake only once everything else is idle.)"""
    with green.virtual_time(seed=7):
        cloud, client = _one_process_cloud(computes=20)
        count = cloud.conf.api.max_servers_per_request
        built = green.Event()
        answers = [0]

        def check_built():
            answers[0] += 1
            if (poller.phase == "build" and answers[0] % 50 == 0 and not built.ready()
                    and not cloud.db.instance_count({"vm_state": "building"})):
                built.send(True)

        poller = RootPoller(client)
        poller.on_answer = check_built
        response = client.post("/v2.1/servers", _create_body(count), token="demo:demo",
                               version=NEW_VERSION)
        poller.phase = "build"
        try:
            assert response.status_int == 202, response.text
            built.wait()
            poller.stop()
            assert cloud.db.instance_count({"vm_state": "active"}) == count
            print(f"\nGET / while {count} servers are scheduled and built: "
                  f"{poller.figures('build')}")
            p99 = _percentile(poller.cpu_gaps["build"], 0.99)
            assert p99 < 0.1  # the target
            # Steps of one instance keep it far lower (75 ms when the scheduler and the
            # conductor handled the batch in one go, 2 ms in steps, on a quiet machine).
            assert p99 < 0.025
        finally:
            poller.stop()
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
