"""The conductor's object calls over RPC, as a compute makes them (no compute database)."""

from __future__ import annotations

import pytest

from nova_sim import context as nova_context
from nova_sim import exception, green
from nova_sim.conductor.manager import ConductorManager
from nova_sim.conductor.rpcapi import ConductorAPI
from nova_sim.deploy import new_conf, open_database
from nova_sim.service import Service, get_transport


@pytest.fixture
def conductor():
    with green.virtual_time(seed=5):
        conf = new_conf()
        db = open_database(conf, "sqlite://")
        transport = get_transport(conf, "green://")
        manager = ConductorManager(conf, db, transport, scheduler_api=object())
        service = Service("nova-conductor", "ctl", "conductor", manager, conf, transport,
                          db=db).start()
        ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
        yield ConductorAPI(transport, conf), db, ctxt
        service.stop()


def test_instance_save_checks_the_expected_task_state_atomically(conductor):
    api, db, ctxt = conductor
    row = db.instance_create({"vm_state": "building", "task_state": "scheduling"})
    instance = {"uuid": row["uuid"]}
    api.instance_save(ctxt, instance, {"task_state": None},
                      expected_task_state=["scheduling", None])
    assert instance["task_state"] is None and instance["vm_state"] == "building"
    with pytest.raises(exception.UnexpectedTaskStateError) as error:
        api.instance_save(ctxt, instance, {"task_state": "spawning"},
                          expected_task_state=["block_device_mapping"])
    assert error.value.kwargs["actual"] is None  # rebuilt as itself, kwargs included
    assert db.instance_get(row["uuid"])["task_state"] is None
    db.instance_destroy(row["uuid"])
    with pytest.raises(exception.InstanceNotFound):
        api.instance_save(ctxt, instance, {"task_state": "spawning"})


def test_action_events_faults_and_instances_by_host(conductor):
    api, db, ctxt = conductor
    row = db.instance_create({"vm_state": "active", "host": "c1", "node": "c1"})
    db.instance_create({"vm_state": "active", "host": "c2", "node": "c2"})
    assert api.action_event_start(ctxt, row["uuid"], "compute_x") is False  # no action
    db.action_start({"instance_uuid": row["uuid"], "request_id": ctxt.request_id,
                     "action": "stop"})
    assert api.action_event_start(ctxt, row["uuid"], "compute_stop_instance", "c1")
    assert api.action_event_finish(ctxt, row["uuid"], "compute_stop_instance", "Error", "tb")
    action = db.action_get_by_request_id(row["uuid"], ctxt.request_id)
    [event] = db.action_events_get(action["id"])
    assert (event["event"], event["result"], event["host"]) == (
        "compute_stop_instance", "Error", "c1")
    api.instance_fault_create(ctxt, row["uuid"], 500, "boom", host="c1")
    assert db.instance_fault_get_by_instance_uuids([row["uuid"]])[row["uuid"]][0][
        "message"] == "boom"
    assert [i["uuid"] for i in api.instance_get_all_by_host(ctxt, "c1")] == [row["uuid"]]


def test_service_row_heartbeat_and_compute_node_report(conductor):
    api, db, ctxt = conductor
    service = api.service_get_or_create(ctxt, "c1", "nova-compute", "compute")
    assert service == api.service_get_or_create(ctxt, "c1", "nova-compute", "compute")
    assert service["availability_zone"] == "nova"
    beat = api.service_heartbeat(ctxt, service)
    assert beat["report_count"] == 1 and beat["last_seen_up"] is not None
    node = api.compute_node_update(
        ctxt, {"host": "c1", "hypervisor_hostname": "c1", "vcpus": 4, "memory_mb": 4096,
               "local_gb": 100},
        {"VCPU": {"total": 4, "allocation_ratio": 4.0}, "MEMORY_MB": 4096, "DISK_GB": 100},
    )
    provider = db.resource_provider_get(node["uuid"])
    assert provider["inventories"]["VCPU"]["capacity"] == 16
    assert db.claim_resources("i1", node["uuid"], {"MEMORY_MB": 1024})
    assert api.remove_allocations(ctxt, "i1", node["uuid"]) is True
    assert db.allocations_get() == []


def test_unknown_object_method_is_an_error_reply(conductor):
    api, db, ctxt = conductor
    with pytest.raises(NotImplementedError):
        api.object_class_action(ctxt, "Flavor", "get_all")
