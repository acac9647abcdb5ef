"""The dashboard's listener and live stream over a real socket: server-sent events,
shared by every listener, and ended at once when the cloud stops."""

from __future__ import annotations

import json

import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.dashboard import start_for
from nova_sim.deploy import Cloud, new_conf, zero_latency
from nova_sim.green import io as green_io
from nova_sim.image import CIRROS_IMAGE_ID


@pytest.fixture
def cloud():
    """A real-clock cloud (one compute, no periodic tasks) and its dashboard on a free
    port; the stream's own ticks are an hour apart: the tests tick by hand."""
    conf = zero_latency(new_conf())
    conf.set_override("port", 0, group="dashboard")
    cloud = Cloud(conf=conf, computes=1, periodic_enable=False).start()
    dashboard, why = start_for(cloud, conf)
    assert why is None
    dashboard.broadcaster.interval = 3600
    try:
        yield cloud, dashboard
    finally:
        cloud.stop()


class Stream:
    """An HTTP client of ``/api/events`` reading events one at a time."""

    def __init__(self, port: int, topics: str):
        self.sock = green_io.connect(("127.0.0.1", port), timeout=10)
        self.sock.sendall(f"GET /api/events?topics={topics} HTTP/1.1\r\n"
                          f"Host: 127.0.0.1:{port}\r\n\r\n".encode())
        self.data = b""
        self.head = self._until(b"\r\n\r\n")

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.data)
            self.data += chunk
        part, _sep, self.data = self.data.partition(marker)
        return part

    def event(self) -> tuple[str, dict]:
        """The next event's topic and data (chunk framing skipped)."""
        while True:
            block = self._until(b"\n\n")
            lines = dict(line.split(": ", 1) for line in block.decode().splitlines()
                         if ": " in line and not line.startswith(("retry",)))
            if "event" in lines:
                return lines["event"], json.loads(lines["data"])

    def rest(self) -> bytes:
        """Everything until the server closes the connection."""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return self.data
            self.data += chunk


def test_the_stream_sends_the_overview_then_new_messages(cloud):
    cloud, dashboard = cloud
    assert dashboard.port != 0 and dashboard.url == f"http://127.0.0.1:{dashboard.port}/"
    stream = Stream(dashboard.port, "overview,messages")
    assert stream.head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Type: text/event-stream" in stream.head
    assert b"Access-Control" not in stream.head
    topic, data = stream.event()  # at once: the current overview
    assert topic == "overview" and {s["binary"] for s in data["services"]} >= {
        "nova-conductor", "nova-scheduler", "nova-compute"}
    ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
    [instance] = cloud.api.create(ctxt, "1", CIRROS_IMAGE_ID, "streamed")
    cloud.wait_for_instance(instance["uuid"], "active")
    dashboard.broadcaster.tick()
    seen = {}
    while "messages" not in seen:
        topic, data = stream.event()
        seen[topic] = data
    methods = {m["method"] for m in seen["messages"]["messages"]}
    assert {"schedule_and_build_instances", "build_and_run_instance"} <= methods
    assert {m["request_id"] for m in seen["messages"]["messages"]} >= {ctxt.request_id}
    stream.sock.close()


def test_twenty_listeners_share_one_event_per_tick(cloud):
    cloud, dashboard = cloud
    made = []
    make = dashboard.broadcaster.make
    dashboard.broadcaster.make = lambda topic, state: made.append(topic) or make(topic, state)
    streams = [Stream(dashboard.port, "overview") for _ in range(20)]
    for stream in streams:
        assert stream.event()[0] == "overview"
    assert len(dashboard.broadcaster.listeners) == 20
    made.clear()
    dashboard.broadcaster.tick()
    assert made == ["overview"]
    for stream in streams:
        assert stream.event()[0] == "overview"
        stream.sock.close()


def test_stopping_the_cloud_ends_every_stream_at_once(cloud):
    cloud, dashboard = cloud
    streams = [Stream(dashboard.port, topics) for topics in
               ("overview", "messages", "greenthreads", "overview,messages,greenthreads")]
    for stream in streams[:1]:
        assert stream.event()[0] == "overview"
    stopped = green.Event()
    green.spawn(lambda: (cloud.stop(), stopped.send(True)))
    for stream in streams:
        # the generator returned: the chunked body's last chunk, then the close (a
        # stream killed after the stop's timeout would end without it)
        assert stream.rest().endswith(b"0\r\n\r\n")
    assert stopped.wait() is True
    assert dashboard.broadcaster.listeners == set() and dashboard.server.stopping
    assert cloud.companions == []


def test_a_taken_port_leaves_the_cloud_running_without_a_dashboard(cloud):
    cloud, dashboard = cloud
    cloud.conf.set_override("port", dashboard.port, group="dashboard")
    second, why = start_for(cloud, cloud.conf)
    assert second is None and f":{dashboard.port}" in why and "[dashboard] port" in why
    cloud.conf.set_override("enabled", False, group="dashboard")
    assert start_for(cloud, cloud.conf) == (None, "off ([dashboard] enabled = true turns "
                                                  "it on)")


def test_the_api_process_of_a_multi_process_cloud_serves_it(tmp_path):
    from nova_sim.db.migration import db_sync
    from nova_sim.deploy import create_service

    conf = new_conf()
    conf.set_override("transport_url", "memory://")
    url = f"sqlite:///{tmp_path}/cloud.db"
    db_sync(url)  # the API serves a synced database only (`nova-sim db sync`)
    conf.set_override("connection", url, group="database")
    conf.set_override("osapi_compute_listen_port", 0)
    conf.set_override("port", 0, group="dashboard")
    process = create_service("nova-api", conf=conf).start()
    try:
        dashboard, why = start_for(process, conf)
        assert why is None and process.companions == [dashboard]
        assert dashboard.sources.compute_api is process.service.compute_api
        overview = dashboard.sources.overview()
        assert overview["services"] == [] and overview["instances"]["total"] == 0
        assert [name for name, _pool in dashboard.sources.pools()] == [
            "nova-api: WSGI connections", "dashboard: WSGI connections"]
    finally:
        process.stop()
    assert process.companions == [] and dashboard.server.stopping


def test_the_blocking_detector_reports_a_greenthread_that_holds_the_hub(cloud):
    import time

    cloud, dashboard = cloud
    watchdog = dashboard.watchdog
    watchdog.resolution = 0.05

    def blocks():  # what eventlet's monkey patching exists to prevent
        while not watchdog.reported.is_set():
            time.sleep(0.01)

    green.spawn(blocks).wait()
    [report] = dashboard.sources.greenthreads()["blocking"]
    assert "blocking detected: the hub has not run for" in report
    assert "in blocks" in report  # the stack of what held the hub
