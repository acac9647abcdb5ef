"""Delete, stop, start and reboot flows, heartbeats and restarts on the virtual clock."""

from __future__ import annotations

import pytest

from nova_sim import exception, green
from nova_sim.compute import power_state
from nova_sim.image import CIRROS_IMAGE_ID

M1_SMALL = "2"


def boot_active(cloud, ctxt, name="vm"):
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, name)
    return cloud.wait_for_instance(instance["uuid"], "active", None)


def node_usage(cloud, host):
    node = cloud.db.compute_node_get_by_host_and_nodename(host, host)
    return node, cloud.db.usages_get(node["uuid"])


def test_delete_frees_the_resources(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    row = boot_active(cloud, ctxt)
    node, usage = node_usage(cloud, row["host"])
    assert usage["MEMORY_MB"] == 2048 and usage["VCPU"] == 1
    assert node["memory_mb_used"] == 2048 + 512
    cloud.api.delete(ctxt, row["uuid"])
    assert cloud.db.instance_get(row["uuid"])["task_state"] == "deleting"
    gone = cloud.wait_for_instance(row["uuid"], "deleted")
    assert gone["deleted"] and gone["terminated_at"] is not None
    node, usage = node_usage(cloud, row["host"])
    assert usage["MEMORY_MB"] == 0 and usage["VCPU"] == 0
    assert node["memory_mb_used"] == 512 and node["running_vms"] == 0
    assert cloud.computes[row["host"]].manager.driver.list_instance_uuids() == []
    with pytest.raises(exception.InstanceNotFound):
        cloud.api.get(ctxt, row["uuid"])
    assert [a["action"] for a in cloud.db.actions_get(row["uuid"])] == ["delete", "create"]


def test_stop_start_and_reboots_go_through_novas_states(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.states.history[uuid] = []

    cloud.api.stop(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "stopped", None)
    assert row["power_state"] == power_state.SHUTDOWN
    cloud.api.start(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "active", None)
    assert row["power_state"] == power_state.RUNNING
    cloud.api.reboot(ctxt, uuid, "SOFT")
    cloud.wait_for_instance(uuid, "active", None)
    cloud.api.reboot(ctxt, uuid, "HARD")
    cloud.wait_for_instance(uuid, "active", None)
    assert cloud.states[uuid] == [
        ("active", "powering-off"), ("stopped", None),
        ("stopped", "powering-on"), ("active", None),
        ("active", "rebooting"), ("active", "reboot_pending"), ("active", "reboot_started"),
        ("active", None),
        ("active", "rebooting_hard"), ("active", "reboot_pending_hard"),
        ("active", "reboot_started_hard"), ("active", None),
    ]
    actions = [a["action"] for a in cloud.db.actions_get(uuid)]
    assert actions == ["reboot", "reboot", "start", "stop", "create"]


def test_wrong_state_is_instance_invalid_state(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    with pytest.raises(exception.InstanceInvalidState) as error:
        cloud.api.start(ctxt, uuid)
    assert error.value.code == 409
    cloud.api.stop(ctxt, uuid)
    with pytest.raises(exception.InstanceInvalidState):  # task_state powering-off
        cloud.api.stop(ctxt, uuid)
    cloud.wait_for_instance(uuid, "stopped", None)
    with pytest.raises(exception.InstanceInvalidState):
        cloud.api.stop(ctxt, uuid)
    with pytest.raises(exception.InstanceInvalidState):
        cloud.api.reboot(ctxt, uuid, "SOFT")
    cloud.api.reboot(ctxt, uuid, "HARD")  # allowed from stopped
    row = cloud.wait_for_instance(uuid, "active", None)
    assert row["power_state"] == power_state.RUNNING
    with pytest.raises(exception.InvalidInput):
        cloud.api.reboot(ctxt, uuid, "SIDEWAYS")


def test_delete_before_scheduling_is_local(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm")
    cloud.api.delete(ctxt, instance["uuid"])  # no host yet: deleted here and now
    assert cloud.db.instance_get(instance["uuid"], read_deleted="yes")["deleted"]
    green.sleep(5)
    assert cloud.db.allocations_get() == []
    assert all(not s.manager.driver.list_instance_uuids() for s in cloud.computes.values())


def test_delete_during_build_cleans_up(make_cloud, ctxt):
    cloud = make_cloud(computes=1, spawn_latency="fixed:2")
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm")
    green.sleep(1)
    assert cloud.db.instance_get(instance["uuid"])["task_state"] == "spawning"
    cloud.api.delete(ctxt, instance["uuid"])
    cloud.wait_for_instance(instance["uuid"], "deleted")
    green.sleep(5)
    assert cloud.db.allocations_get() == []
    assert cloud.computes["compute1"].manager.driver.list_instance_uuids() == []


def test_other_projects_cannot_see_an_instance(make_cloud, ctxt):
    from nova_sim.context import RequestContext

    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    other = RequestContext(user_id="bob", project_id="other", overwrite=False)
    with pytest.raises(exception.InstanceNotFound):
        cloud.api.get(other, uuid)
    assert cloud.api.get_all(other) == []
    assert [i["uuid"] for i in cloud.api.get_all(ctxt)] == [uuid]
    assert cloud.api.get(cloud.admin_context(), uuid)["uuid"] == uuid


@pytest.mark.parametrize("driver", ["db", "mc"])
def test_compute_that_stops_heartbeating_is_down_after_60s_and_skipped(make_cloud, ctxt,
                                                                       driver):
    cloud = make_cloud(computes=2, defaults={"servicegroup_driver": driver})
    green.sleep(15)
    assert all(s["up"] for s in cloud.api.service_list(ctxt, binary="nova-compute"))
    compute1 = cloud.computes["compute1"]
    compute1.servicegroup_api.leave(compute1)  # alive and consuming, but silent
    stopped_at = green.now()
    green.sleep(50)
    assert {s["host"]: s["up"] for s in cloud.api.service_list(ctxt)}["compute1"]
    green.sleep(stopped_at + 61 - green.now())
    states = {s["host"]: s["state"] for s in cloud.api.service_list(ctxt)}
    assert states == {"nova-sim": "up", "compute1": "down", "compute2": "up"}
    instances = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm", min_count=4,
                                 max_count=4)
    for instance in instances:
        row = cloud.wait_for_instance(instance["uuid"], "active", None)
        assert row["host"] == "compute2"


def test_delete_on_a_down_compute_is_local(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.computes["compute1"].kill()
    green.sleep(120)
    cloud.api.delete(ctxt, uuid)
    assert cloud.db.instance_get(uuid, read_deleted="yes")["deleted"]
    assert cloud.db.allocations_get() == []


def test_an_hour_of_periodic_tasks_and_heartbeats(make_cloud, ctxt):
    cloud = make_cloud(computes=3)
    boot_active(cloud, ctxt)
    start = green.now()
    green.sleep(3600)
    assert green.now() - start == 3600
    for service in cloud.computes.values():
        assert 355 <= service.service_ref["report_count"] <= 362
        assert 60 <= service.periodic_runner.runs <= 130
        last_run = service.manager._periodic_last_run
        assert green.now() - last_run["update_available_resource"] <= 60
        assert green.now() - last_run["_sync_power_states"] <= 600
    for row in cloud.api.service_list(ctxt):
        assert row["up"]


def test_compute_restart_reconciles_with_the_database(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    kept = boot_active(cloud, ctxt, "kept")["uuid"]
    stopped = boot_active(cloud, ctxt, "stopped")["uuid"]
    cloud.api.stop(ctxt, stopped)
    cloud.wait_for_instance(stopped, "stopped", None)
    service = cloud.computes["compute1"]
    service.stop()
    # a build caught by the restart, written straight into the database
    stuck = cloud.db.instance_create({
        "display_name": "stuck", "vm_state": "building", "task_state": "spawning",
        "host": "compute1", "node": "compute1", "project_id": "demo",
    })
    cloud.add_compute("compute1")  # a new process: its fake hypervisor starts empty
    driver = cloud.computes["compute1"].manager.driver
    assert sorted(driver.list_instance_uuids()) == sorted([kept, stopped])
    assert driver.get_info({"uuid": stopped}).state == power_state.SHUTDOWN
    assert cloud.db.instance_get(stuck["uuid"])["vm_state"] == "error"


def test_sync_power_states_notices_a_guest_that_shut_down(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    driver = cloud.computes["compute1"].manager.driver
    driver.instances[uuid]["power_state"] = power_state.SHUTDOWN
    green.sleep(650)
    row = cloud.db.instance_get(uuid)
    assert (row["vm_state"], row["power_state"]) == ("stopped", power_state.SHUTDOWN)


def test_actions_on_an_instance_that_never_got_a_host(make_cloud, ctxt):
    cloud = make_cloud(computes=1, memory_mb=1024)  # nothing fits: NoValidHost
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm")
    cloud.wait_for_instance(instance["uuid"], "error")
    for action in (lambda: cloud.api.stop(ctxt, instance["uuid"]),
                   lambda: cloud.api.reboot(ctxt, instance["uuid"], "HARD")):
        with pytest.raises(exception.InstanceInvalidState):
            action()
    cloud.api.delete(ctxt, instance["uuid"])  # no host: deleted locally at once
    assert cloud.db.instance_get(instance["uuid"], read_deleted="yes")["deleted"]
    actions = [a["action"] for a in cloud.api.actions_list(ctxt, instance["uuid"])]
    assert actions == ["delete", "create"]


def test_hard_reboot_may_overtake_a_soft_one(make_cloud, ctxt):
    cloud = make_cloud(computes=1, reboot_latency="fixed:5")
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.reboot(ctxt, uuid, "SOFT")
    green.sleep(1)
    assert cloud.db.instance_get(uuid)["task_state"] == "reboot_started"
    cloud.api.reboot(ctxt, uuid, "HARD")  # allowed while a soft reboot runs
    row = cloud.wait_for_instance(uuid, "active", None)
    assert row["power_state"] == power_state.RUNNING
    assert cloud.states[uuid][-4:] == [
        ("active", "rebooting_hard"), ("active", "reboot_pending_hard"),
        ("active", "reboot_started_hard"), ("active", None),
    ]


def test_a_reboot_stuck_past_reboot_timeout_becomes_a_hard_reboot(make_cloud, ctxt):
    cloud = make_cloud(computes=1, defaults={"reboot_timeout": 120})
    uuid = boot_active(cloud, ctxt)["uuid"]
    # a soft reboot whose cast was lost: the API moved the state, no compute took it
    cloud.states.history[uuid] = []
    cloud.db.instance_update(uuid, {"task_state": "rebooting"})
    row = cloud.wait_for_instance(uuid, "active", None, timeout=400, poll=1)
    assert cloud.states[uuid][:2] == [("active", "rebooting"), ("active", "rebooting_hard")]
    assert row["power_state"] == power_state.RUNNING
