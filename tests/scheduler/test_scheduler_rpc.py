"""The scheduler over RPC (green://, virtual clock): SchedulerAPI -> SchedulerManager."""

from __future__ import annotations

import random

import pytest
from scheduler_helpers import add_compute

from nova_sim import exception, green, rpc
from nova_sim.conf import new_conf
from nova_sim.context import RequestContext, RequestContextSerializer
from nova_sim.db import Database
from nova_sim.scheduler.manager import SchedulerManager
from nova_sim.scheduler.rpcapi import SchedulerAPI


@pytest.fixture
def cloud():
    with green.virtual_time(seed=11):
        conf = new_conf()
        db = Database(clock=green.wallclock)
        db.ensure_default_flavors()
        manager = SchedulerManager(db=db, conf=conf, random=random.Random(5))
        transport = rpc.get_transport(
            "green://scheduler-tests", allowed_remote_exmods=["nova_sim.exception"]
        )
        server = rpc.RPCServer(
            transport, rpc.Target(topic="scheduler", server="scheduler1"), [manager],
            serializer=RequestContextSerializer(),
        )
        server.start()
        yield db, manager, transport, conf
        server.stop()
        server.wait()
        db.close()


def spec_of(db):
    return {"flavor": db.flavor_get_by_flavor_id("1"), "project_id": "p", "user_id": "u"}


def test_select_destinations_call(cloud):
    db, manager, transport, conf = cloud
    add_compute(db, "c1", memory_mb=16384)
    add_compute(db, "c2")
    api = SchedulerAPI(transport, conf)
    ctxt = RequestContext(user_id="u", project_id="p", overwrite=False)
    host_lists = api.select_destinations(ctxt, spec_of(db), ["vm1"], return_alternates=True)
    assert [[s["service_host"] for s in hosts] for hosts in host_lists] == [["c1", "c2"]]
    assert db.allocations_get("vm1")[0]["rp_uuid"] == host_lists[0][0]["compute_node_uuid"]


def test_no_valid_host_crosses_rpc_as_itself(cloud):
    db, manager, transport, conf = cloud
    api = SchedulerAPI(transport, conf)
    with pytest.raises(exception.NoValidHost):
        api.select_destinations(RequestContext(overwrite=False), spec_of(db), ["vm1"])


def test_version_cap_below_4_5_gets_the_old_format(cloud):
    db, manager, transport, conf = cloud
    add_compute(db, "c1")
    api = SchedulerAPI(transport, conf, version_cap="4.4")
    result = api.select_destinations(RequestContext(overwrite=False), spec_of(db), ["vm1"])
    assert result == [{"host": "c1", "nodename": "c1", "limits": {}}]


def test_instance_info_fanout_casts(cloud):
    db, manager, transport, conf = cloud
    add_compute(db, "c1")
    manager.host_manager.refresh()
    api = SchedulerAPI(transport, conf)
    ctxt = RequestContext(overwrite=False)
    api.update_instance_info(ctxt, "c1", [{"uuid": "a"}, {"uuid": "b"}])
    api.delete_instance_info(ctxt, "c1", "a")
    green.sleep(1)
    assert manager.host_manager.hosts("c1")[0].instances == {"b"}
    api.sync_instance_info(ctxt, "c1", ["z"])
    green.sleep(1)
    assert manager.host_manager.hosts("c1")[0].instances == {"z"}


def test_silent_compute_is_down_after_service_down_time_virtual_seconds(cloud):
    db, manager, transport, conf = cloud
    add_compute(db, "c1", memory_mb=16384)
    quiet = add_compute(db, "c2")
    api = SchedulerAPI(transport, conf)
    ctxt = RequestContext(overwrite=False)
    c1 = db.service_get_by_host_and_binary("c1", "nova-compute")

    def heartbeat():  # c1 reports every 10 s (report_interval); c2 stays silent
        while True:
            green.sleep(10)
            db.service_heartbeat(c1["id"])

    beating = green.spawn(heartbeat)
    spec = dict(spec_of(db), ignore_hosts=["c1"])
    start = green.now()
    assert api.select_destinations(ctxt, spec, None)[0][0]["service_host"] == "c2"
    green.sleep(60)
    assert green.now() - start == 60
    assert api.select_destinations(ctxt, spec, None)[0][0]["service_host"] == "c2"
    green.sleep(1)
    with pytest.raises(exception.NoValidHost):
        api.select_destinations(ctxt, spec, None)
    assert api.select_destinations(ctxt, spec_of(db), None)[0][0]["service_host"] == "c1"
    assert quiet["host"] == "c2"
    beating.kill()
