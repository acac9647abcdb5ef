"""The service framework and the service group on the virtual clock."""

from __future__ import annotations

import pytest

from nova_sim import context as nova_context
from nova_sim import green, periodic, rpc, servicegroup
from nova_sim.db.api import Database, format_timestamp
from nova_sim.deploy import new_conf
from nova_sim.service import Service, get_transport


class SlowManager(periodic.PeriodicTasks):
    target = rpc.Target(version="1.0")

    def __init__(self):
        super().__init__()
        self.hooks = []
        self.ticks = 0
        self.additional_endpoints = []

    def init_host(self, service_ref):
        self.hooks.append(("init_host", service_ref["binary"]))

    def pre_start_hook(self):
        self.hooks.append("pre_start_hook")

    def post_start_hook(self):
        self.hooks.append("post_start_hook")

    def cleanup_host(self):
        self.hooks.append("cleanup_host")

    def slow(self, ctxt, seconds):
        green.sleep(seconds)
        return f"slept {seconds}"

    @periodic.periodic_task(spacing=10)
    def tick(self, ctxt):
        self.ticks += 1


@pytest.fixture
def setup():
    with green.virtual_time(seed=3):
        conf = new_conf()
        conf.set_override("periodic_fuzzy_delay", 0)
        db = Database("sqlite://", clock=green.wallclock)
        transport = get_transport(conf, "green://")
        yield conf, db, transport
        db.close()


def client(transport, timeout=30):
    return rpc.RPCClient(transport, rpc.Target(topic="slow", version="1.0"), timeout=timeout)


def test_start_runs_hooks_serves_topic_and_topic_host(setup):
    conf, db, transport = setup
    manager = SlowManager()
    service = Service("nova-slow", "host1", "slow", manager, conf, transport, db=db).start()
    assert manager.hooks == [("init_host", "nova-slow"), "pre_start_hook", "post_start_hook"]
    ctxt = nova_context.get_admin_context()
    assert client(transport).call(ctxt, "slow", seconds=1) == "slept 1"
    assert client(transport).prepare(server="host1").call(ctxt, "slow", seconds=0) == "slept 0"
    row = db.service_get_by_host_and_binary("host1", "nova-slow")
    assert row["topic"] == "slow" and not row["disabled"]
    service.stop()
    assert manager.hooks[-1] == "cleanup_host"


def test_heartbeat_and_periodic_tasks_run_on_schedule(setup):
    conf, db, transport = setup
    manager = SlowManager()
    service = Service("nova-slow", "host1", "slow", manager, conf, transport, db=db).start()
    green.sleep(4.9)
    assert db.service_get(service.service_ref["id"])["report_count"] == 0
    green.sleep(0.2)  # first heartbeat after 5 s, then every report_interval (10 s)
    assert db.service_get(service.service_ref["id"])["report_count"] == 1
    green.sleep(100)
    assert db.service_get(service.service_ref["id"])["report_count"] == 11
    assert manager.ticks == 10
    service.stop()
    green.sleep(100)
    assert db.service_get(service.service_ref["id"])["report_count"] == 11
    assert manager.ticks == 10


def test_graceful_stop_lets_in_flight_work_finish_and_stops_consuming(setup):
    conf, db, transport = setup
    service = Service("nova-slow", "host1", "slow", SlowManager(), conf, transport,
                      db=db).start()
    ctxt = nova_context.get_admin_context()
    results = []
    green.spawn_n(lambda: results.append(client(transport).call(ctxt, "slow", seconds=5)))
    green.sleep(1)
    started = green.now()
    assert service.stop() is True
    assert green.now() - started == pytest.approx(4, abs=0.01)
    assert results == ["slept 5"]
    with pytest.raises(rpc.MessagingTimeout):
        client(transport, timeout=2).call(ctxt, "slow", seconds=0)


def test_graceful_stop_gives_up_after_its_timeout(setup):
    conf, db, transport = setup
    service = Service("nova-slow", "host1", "slow", SlowManager(), conf, transport, db=db,
                      graceful_shutdown_timeout=2).start()
    ctxt = nova_context.get_admin_context()
    client(transport).cast(ctxt, "slow", seconds=100)
    green.sleep(1)
    started = green.now()
    assert service.stop() is False
    assert green.now() - started == pytest.approx(2, abs=0.01)


def test_is_up_rule():
    now = 1_000_000.0
    seen = {"last_seen_up": format_timestamp(now - 60)}
    assert servicegroup.is_up(seen, 60, now=now)
    assert not servicegroup.is_up(seen, 59.9, now=now)
    assert not servicegroup.is_up({**seen, "forced_down": True}, 60, now=now)
    assert not servicegroup.is_up({}, 60, now=now)
    assert servicegroup.is_up({"updated_at": format_timestamp(now)}, 60, now=now)


def test_heartbeat_goes_on_while_a_graceful_stop_waits(setup):
    conf, db, transport = setup
    service = Service("nova-slow", "host1", "slow", SlowManager(), conf, transport, db=db,
                      graceful_shutdown_timeout=0).start()
    ctxt = nova_context.get_admin_context()
    client(transport).cast(ctxt, "slow", seconds=40)
    green.sleep(1)
    stopper = green.spawn(service.stop)
    green.sleep(30)
    beats = db.service_get(service.service_ref["id"])["report_count"]
    assert beats >= 3  # still beating: the stop waits for the 40 s cast
    assert stopper.wait() is True
    green.sleep(30)
    assert db.service_get(service.service_ref["id"])["report_count"] <= beats + 1


def test_a_service_without_database_needs_a_conductor_api(setup):
    """A compute has no database: whoever builds it passes the conductor's API (the
    service layer does not import the services); with neither, it refuses at once."""
    conf, _db, transport = setup
    with pytest.raises(ValueError, match="needs a database or a conductor API"):
        Service("nova-compute", "c1", "compute", SlowManager(), conf, transport)
