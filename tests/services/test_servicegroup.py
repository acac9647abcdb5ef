"""The service group drivers (db and mc) and what a compute's heartbeat costs, on the
virtual clock."""

from __future__ import annotations

import types

import pytest

from nova_sim import green, rpc, servicegroup
from nova_sim.conf import ConfigError
from nova_sim.deploy.cloud import Cloud, ProcessService, new_conf, zero_latency
from nova_sim.servicegroup.drivers.mc import MemoryCache, get_cache


class Recorder:
    """RPC instrument: every request sent and every reply sent."""

    def __init__(self):
        self.sent: list[dict] = []
        self.replies: list[tuple[dict, dict]] = []

    def message_sent(self, kind, target, message):
        self.sent.append(message)

    def reply_sent(self, target, message, reply):
        self.replies.append((message, reply))


def make_cloud(driver: str, computes: int = 2) -> Cloud:
    conf = zero_latency(new_conf())
    conf.set_override("servicegroup_driver", driver)
    return Cloud(conf=conf, computes=computes, virtual=True).start()


def heartbeats(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["method"] == "object_action"
            and m["args"]["objinst"]["nova_object.name"] == "Service"]


@pytest.fixture
def vclock():
    with green.virtual_time(seed=5) as hub:
        yield hub


def test_db_heartbeat_is_one_conductor_call_answering_what_the_save_changed(vclock):
    cloud = make_cloud("db", computes=1)
    recorder = Recorder()
    rpc.add_instrument(recorder)
    try:
        green.sleep(60)
    finally:
        rpc.remove_instrument(recorder)
    beats = heartbeats(recorder.sent)
    assert len(beats) == 6  # every report_interval (10 s)
    assert [b["args"]["objinst"]["nova_object.changes"] for b in beats] == [
        {"report_count": n} for n in range(1, 7)]
    # one context for all the heartbeats of the service, as Nova's service_ref keeps
    assert len({b["_context_request_id"] for b in beats}) == 1
    replies = [reply for message, reply in recorder.replies if heartbeats([message])]
    assert len(replies) == 6
    for reply in replies:
        updates, _ = reply["result"]
        assert sorted(updates) == ["last_seen_up", "report_count", "updated_at"]
    row = cloud.db.service_get_by_host_and_binary("compute1", "nova-compute")
    assert row["report_count"] == 6
    service_ref = cloud.computes["compute1"].service_ref
    assert service_ref["report_count"] == 6 and service_ref["host"] == "compute1"
    assert service_ref["last_seen_up"] == row["last_seen_up"]
    cloud.stop()


def test_mc_heartbeats_write_nothing_and_send_no_rpc(vclock):
    cloud = make_cloud("mc", computes=2)
    recorder = Recorder()
    rpc.add_instrument(recorder)
    transactions = cloud.db.write_transactions
    try:
        green.sleep(60)
    finally:
        rpc.remove_instrument(recorder)
    assert heartbeats(recorder.sent) == []
    assert cloud.db.write_transactions == transactions  # idle computes changed nothing
    rows = cloud.db.service_get_all()
    assert {row["report_count"] for row in rows} == {0}
    api = cloud.api.servicegroup_api
    assert api.driver_name == "mc"
    assert all(api.service_is_up(row) for row in rows)
    assert not api.service_is_up({**rows[0], "forced_down": True})
    cloud.stop()


def test_mc_service_is_down_once_its_key_expires(vclock):
    cloud = make_cloud("mc", computes=1)
    green.sleep(6)
    compute = cloud.computes["compute1"]
    compute.servicegroup_api.leave(compute)
    row = cloud.db.service_get_by_host_and_binary("compute1", "nova-compute")
    api = cloud.api.servicegroup_api
    last_seen = get_cache().get("compute:compute1")
    green.sleep(last_seen + 60 - green.wallclock())  # still up 60 s after the last one
    assert api.service_is_up(row) and api.host_is_up("compute", "compute1")
    green.sleep(1)
    assert not api.service_is_up(row) and not api.host_is_up("compute", "compute1")
    cloud.stop()


def test_memory_cache_expiry():
    now = [100.0]
    cache = MemoryCache(lambda: now[0])
    cache.set("compute:h1", "seen", 60)
    now[0] = 160.0
    assert cache.get("compute:h1") == "seen"
    now[0] = 160.5
    assert cache.get("compute:h1") is None
    cache.set("compute:h1", "again", 60)
    cache.delete("compute:h1")
    assert cache.get("compute:h1") is None


def test_unknown_driver_and_db_only_questions():
    with pytest.raises(ConfigError, match="servicegroup_driver"):
        servicegroup.API(types.SimpleNamespace(servicegroup_driver="zk"))
    with pytest.raises(TypeError):
        servicegroup.API(new_conf()).host_is_up("compute", "h1")
    assert servicegroup.API(new_conf()).uses_service_rows


def test_a_process_per_service_refuses_mc():
    conf = new_conf()
    conf.set_override("servicegroup_driver", "mc")
    with pytest.raises(ConfigError, match="needs db"):
        ProcessService("nova-compute", "h1", conf).start()
