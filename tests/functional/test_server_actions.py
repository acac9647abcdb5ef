"""Pause, suspend, rescue, snapshots, backups, rebuild, shelve and the console, as whole
flows on the virtual clock: the states the database goes through, the action records and
events, the images, the RPC messages (casts and the one call) and the host's usage."""

from __future__ import annotations

import pytest

from nova_sim import exception, green
from nova_sim.compute import power_state
from nova_sim.image import CIRROS_IMAGE_ID

M1_SMALL = "2"


def boot_active(cloud, ctxt, name="vm"):
    [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, name)
    row = cloud.wait_for_instance(instance["uuid"], "active", None)
    cloud.states.history[row["uuid"]] = []
    return row


def events_of(cloud, uuid, action_name):
    [action] = [a for a in cloud.db.actions_get(uuid) if a["action"] == action_name]
    return [(e["event"], e["result"]) for e in cloud.db.action_events_get(action["id"])]


def test_pause_unpause_suspend_resume(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.pause(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "paused", None)
    assert row["power_state"] == power_state.PAUSED
    with pytest.raises(exception.InstanceInvalidState):
        cloud.api.suspend(ctxt, uuid)  # only from active
    cloud.api.unpause(ctxt, uuid)
    cloud.wait_for_instance(uuid, "active", None)
    cloud.api.suspend(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "suspended", None)
    assert row["power_state"] == power_state.SUSPENDED
    cloud.api.resume(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "active", None)
    assert row["power_state"] == power_state.RUNNING
    assert cloud.states[uuid] == [
        ("active", "pausing"), ("paused", None), ("paused", "unpausing"), ("active", None),
        ("active", "suspending"), ("suspended", None), ("suspended", "resuming"),
        ("active", None),
    ]
    assert [a["action"] for a in cloud.db.actions_get(uuid)][:4] == [
        "resume", "suspend", "unpause", "pause"]
    assert events_of(cloud, uuid, "pause") == [("compute_pause_instance", "Success")]


def test_rescue_and_unrescue(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.rescue(ctxt, uuid, rescue_password="secret")
    row = cloud.wait_for_instance(uuid, "rescued", None)
    assert row["power_state"] == power_state.RUNNING
    driver = cloud.computes[row["host"]].manager.driver
    assert driver.instances[uuid]["rescued"] is True
    with pytest.raises(exception.InstanceInvalidState):
        cloud.api.rescue(ctxt, uuid)
    cloud.api.unrescue(ctxt, uuid)
    cloud.wait_for_instance(uuid, "active", None)
    assert "rescued" not in driver.instances[uuid]
    assert cloud.states[uuid] == [("active", "rescuing"), ("rescued", None),
                                  ("rescued", "unrescuing"), ("active", None)]


def test_snapshot_makes_an_active_image(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    image = cloud.api.snapshot(ctxt, uuid, "snap", extra_properties={"purpose": "test"})
    assert image["status"] == "queued" and image["owner"] == "demo"
    assert cloud.db.instance_get(uuid)["task_state"] == "image_snapshot_pending"
    cloud.wait_for_instance(uuid, "active", None)
    stored = cloud.api.image_get(ctxt, image["id"])
    assert stored["status"] == "active" and stored["size"] > 0
    assert stored["properties"]["instance_uuid"] == uuid
    assert stored["properties"]["image_type"] == "snapshot"
    assert stored["properties"]["purpose"] == "test"
    assert cloud.states[uuid] == [
        ("active", "image_snapshot_pending"), ("active", "image_snapshot"),
        ("active", "image_pending_upload"), ("active", "image_uploading"),
        ("active", None)]
    assert events_of(cloud, uuid, "createImage") == [("compute_snapshot_instance", "Success")]
    # the snapshot boots
    [second] = cloud.api.create(ctxt, M1_SMALL, image["id"], "from-snap")
    assert cloud.wait_for_instance(second["uuid"], "active", None)["image_ref"] == image["id"]


def test_a_snapshot_in_a_wrong_state_leaves_no_image(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.rescue(ctxt, uuid)
    cloud.wait_for_instance(uuid, "rescued", None)
    before = len(cloud.api.image_list(ctxt))
    with pytest.raises(exception.InstanceInvalidState):
        cloud.api.snapshot(ctxt, uuid, "snap")
    assert len(cloud.api.image_list(ctxt)) == before


def test_backups_rotate(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    made = []
    for index in range(3):  # within the same second: the oldest still goes first
        made.append(cloud.api.backup(ctxt, uuid, f"b{index}", "daily", 2)["id"])
        cloud.wait_for_instance(uuid, "active", None)
    left = [i["id"] for i in cloud.api.image_list(ctxt)
            if i["properties"].get("backup_type") == "daily"]
    assert left == made[1:]
    cloud.api.backup(ctxt, uuid, "none", "daily", 0)
    cloud.wait_for_instance(uuid, "active", None)
    assert not [i for i in cloud.api.image_list(ctxt)
                if i["properties"].get("backup_type") == "daily"]


def test_rebuild_goes_through_novas_states(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    row = boot_active(cloud, ctxt)
    uuid = row["uuid"]
    image = cloud.api.snapshot(ctxt, uuid, "snap")
    cloud.wait_for_instance(uuid, "active", None)
    cloud.states.history[uuid] = []
    green.sleep(10)
    cloud.api.rebuild(ctxt, uuid, image["id"], name="renamed", metadata={"a": "b"})
    rebuilt = cloud.wait_for_instance(uuid, "active", None)
    assert rebuilt["image_ref"] == image["id"] and rebuilt["display_name"] == "renamed"
    assert rebuilt["metadata"] == {"a": "b"}
    assert rebuilt["launched_at"] > row["launched_at"]
    assert cloud.states[uuid] == [
        ("active", "rebuilding"), ("active", "rebuild_block_device_mapping"),
        ("active", "rebuild_spawning"), ("active", None)]
    assert events_of(cloud, uuid, "rebuild") == [("compute_rebuild_instance", "Success")]


def test_rebuild_of_a_stopped_instance_ends_stopped(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.stop(ctxt, uuid)
    cloud.wait_for_instance(uuid, "stopped", None)
    cloud.states.history[uuid] = []
    cloud.api.rebuild(ctxt, uuid, CIRROS_IMAGE_ID)
    row = cloud.wait_for_instance(uuid, "stopped", None)
    assert row["power_state"] == power_state.SHUTDOWN
    assert cloud.states[uuid][-3:] == [("active", None), ("active", "powering-off"),
                                       ("stopped", None)]
    with pytest.raises(exception.ImageNotFound):
        cloud.api.rebuild(ctxt, uuid, "no-such-image")


def test_shelve_offloads_and_unshelve_schedules_again(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    row = boot_active(cloud, ctxt)
    uuid, host = row["uuid"], row["host"]
    cloud.api.shelve(ctxt, uuid)
    offloaded = cloud.wait_for_instance(uuid, "shelved_offloaded", None)
    assert offloaded["host"] is None and offloaded["node"] is None
    assert offloaded["power_state"] == power_state.NOSTATE
    image_id = offloaded["system_metadata"]["shelved_image_id"]
    assert offloaded["system_metadata"]["shelved_host"] == host
    assert cloud.api.image_get(ctxt, image_id)["status"] == "active"
    assert not [a for a in cloud.db.allocations_get() if a["consumer_uuid"] == uuid]
    assert uuid not in cloud.computes[host].manager.driver.instances
    assert cloud.states[uuid] == [
        ("active", "shelving"), ("active", "shelving_image_pending_upload"),
        ("active", "shelving_image_uploading"), ("shelved", "shelving_offloading"),
        ("shelved_offloaded", None)]
    cloud.states.history[uuid] = []
    cloud.api.unshelve(ctxt, uuid)
    back = cloud.wait_for_instance(uuid, "active", None)
    assert back["host"] in cloud.computes and back["power_state"] == power_state.RUNNING
    assert "shelved_image_id" not in back["system_metadata"]
    with pytest.raises(exception.ImageNotFound):
        cloud.api.image_get(ctxt, image_id)
    assert [a for a in cloud.db.allocations_get() if a["consumer_uuid"] == uuid]
    assert cloud.states[uuid] == [("shelved_offloaded", "unshelving"),
                                  ("shelved_offloaded", "spawning"), ("active", None)]
    assert events_of(cloud, uuid, "unshelve") == [
        ("compute_unshelve_instance", "Success"), ("conductor_unshelve_instance", "Success")]


def test_unshelve_to_a_named_host_lands_there(make_cloud, ctxt):
    cloud = make_cloud(computes=3)
    uuid = boot_active(cloud, ctxt)["uuid"]
    for wanted in sorted(cloud.computes):
        cloud.api.shelve(ctxt, uuid)
        cloud.wait_for_instance(uuid, "shelved_offloaded", None)
        cloud.api.unshelve(ctxt, uuid, host=wanted)
        assert cloud.wait_for_instance(uuid, "active", None)["host"] == wanted
    # the spec keeps no destination: a plain unshelve is scheduled anywhere
    assert "requested_destination" not in cloud.db.request_spec_get(uuid)


def test_shelve_kept_on_the_host_then_offloaded_by_the_periodic_task(make_cloud, ctxt):
    cloud = make_cloud(computes=1, defaults={"shelved_offload_time": 600,
                                             "shelved_poll_interval": 300})
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.shelve(ctxt, uuid)
    shelved = cloud.wait_for_instance(uuid, "shelved", None)
    assert shelved["host"] == "compute1" and shelved["power_state"] == power_state.SHUTDOWN
    image_id = shelved["system_metadata"]["shelved_image_id"]
    cloud.api.unshelve(ctxt, uuid)  # still on its host: powered on there
    started = cloud.wait_for_instance(uuid, "active", None)
    assert ("shelved", "powering-on") in cloud.states[uuid]
    assert "shelved_image_id" not in started["system_metadata"]
    with pytest.raises(exception.ImageNotFound):  # the snapshot went with the shelve
        cloud.api.image_get(ctxt, image_id)
    cloud.api.shelve(ctxt, uuid)
    cloud.wait_for_instance(uuid, "shelved", None)
    offloaded = cloud.wait_for_instance(uuid, "shelved_offloaded", None, timeout=1200)
    assert offloaded["host"] is None
    image_id = offloaded["system_metadata"]["shelved_image_id"]
    cloud.api.delete(ctxt, uuid)  # no host: deleted at once, with its shelved image
    with pytest.raises(exception.ImageNotFound):
        cloud.api.image_get(ctxt, image_id)


def test_console_output_is_a_call(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.inject_network_info(ctxt, uuid)
    green.sleep(1)
    assert events_of(cloud, uuid, "inject_network_info") == [
        ("compute_inject_network_info", "Success")]
    full = cloud.api.get_console_output(ctxt, uuid)
    assert uuid in full and len(full.split("\n")) > 10
    tail = cloud.api.get_console_output(ctxt, uuid, tail_length=10)
    assert tail.split("\n") == full.split("\n")[-10:]


def test_locked_instance_refuses_the_owner_not_the_admin(make_cloud, ctxt):
    from nova_sim.context import RequestContext

    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.lock(ctxt, uuid, reason="maintenance")
    row = cloud.api.get(ctxt, uuid)
    assert row["locked"] and row["locked_by"] == "owner"
    assert row["locked_reason"] == "maintenance"
    for action in (cloud.api.pause, cloud.api.stop, cloud.api.shelve, cloud.api.delete):
        with pytest.raises(exception.InstanceIsLocked):
            action(ctxt, uuid)
    admin = RequestContext(user_id="admin", project_id="admin", is_admin=True,
                           overwrite=False)
    cloud.api.pause(admin, uuid)
    cloud.wait_for_instance(uuid, "paused", None)
    cloud.api.unlock(ctxt, uuid)
    assert not cloud.api.get(ctxt, uuid)["locked"]
    assert [a["action"] for a in cloud.db.actions_get(uuid)][:3] == ["unlock", "pause",
                                                                      "lock"]


def rpc_messages(records):
    """(kind, method, topic) of the RPC spans, object calls left out."""
    found = []
    for record in records:
        name = record.get("name") or ""
        if not name.startswith("rpc.") or "object_" in name:
            continue
        kind, method = name.split(" ", 1)
        found.append((kind, method, (record.get("attributes") or {}).get("topic")))
    return found


def test_the_rpc_flows_of_unshelve_rebuild_and_console(make_cloud, ctxt):
    from nova_sim import context as nova_context
    from nova_sim.trace.tracer import Tracer

    cloud = make_cloud(computes=2)
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.shelve(ctxt, uuid)
    cloud.wait_for_instance(uuid, "shelved_offloaded", None)
    tracer = Tracer(service="nova-api", host="controller", seed=1,
                    context_getter=nova_context.get_current).install()
    try:
        cloud.api.unshelve(ctxt, uuid)
        cloud.wait_for_instance(uuid, "active", None)
        cloud.api.rebuild(ctxt, uuid, CIRROS_IMAGE_ID)
        cloud.wait_for_instance(uuid, "active", None)
        cloud.api.get_console_output(ctxt, uuid, tail_length=3)
    finally:
        tracer.uninstall()
    messages = rpc_messages(tracer.records())
    # the API casts to the conductor, which calls the scheduler and casts to a compute
    for expected in [
        ("rpc.cast", "unshelve_instance", "conductor"),
        ("rpc.server", "unshelve_instance", "conductor"),
        ("rpc.call", "select_destinations", "scheduler"),
        ("rpc.cast", "unshelve_instance", "compute"),
        ("rpc.server", "unshelve_instance", "compute"),
        ("rpc.cast", "rebuild_instance", "conductor"),
        ("rpc.cast", "rebuild_instance", "compute"),
        ("rpc.server", "rebuild_instance", "compute"),
        ("rpc.call", "get_console_output", "compute"),
    ]:
        assert expected in messages, expected
    # a rebuild is not scheduled: one select_destinations, the unshelve's
    assert messages.count(("rpc.call", "select_destinations", "scheduler")) == 1


def node_usage_row(cloud, host):
    node = cloud.db.compute_node_get_by_host_and_nodename(host, host)
    return cloud.db.usages_get(node["uuid"])


def test_resize_then_confirm_moves_the_instance(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    row = boot_active(cloud, ctxt)  # m1.small: 1 vCPU, 2048 MB
    uuid, source = row["uuid"], row["host"]
    cloud.api.resize(ctxt, uuid, "3")  # m1.medium: 2 vCPUs, 4096 MB
    resized = cloud.wait_for_instance(uuid, "resized", None)
    dest = resized["host"]
    assert dest != source and resized["flavor"]["name"] == "m1.medium"
    assert resized["vcpus"] == 2 and resized["power_state"] == power_state.RUNNING
    migration = resized["system_metadata"]["migration"]
    assert (migration["status"], migration["source_compute"], migration["dest_compute"]) == (
        "finished", source, dest)
    # the source's allocation is held by the migration until the confirm
    assert node_usage_row(cloud, source)["VCPU"] == 1
    assert node_usage_row(cloud, dest)["VCPU"] == 2
    assert cloud.states[uuid] == [
        ("active", "resize_prep"), ("active", "resize_migrating"),
        ("active", "resize_migrated"), ("active", "resize_finish"), ("resized", None)]
    cloud.api.confirm_resize(ctxt, uuid)
    confirmed = cloud.wait_for_instance(uuid, "active", None)
    green.sleep(1)
    assert confirmed["host"] == dest
    assert node_usage_row(cloud, source)["VCPU"] == 0
    assert uuid not in cloud.computes[source].manager.driver.instances
    assert cloud.db.instance_get(uuid)["system_metadata"]["migration"]["status"] == (
        "confirmed")
    assert events_of(cloud, uuid, "resize") == [
        ("compute_finish_resize", "Success"), ("compute_resize_instance", "Success"),
        ("compute_prep_resize", "Success"), ("conductor_migrate_server", "Success")]
    with pytest.raises(exception.InstanceInvalidState):  # no longer resized
        cloud.api.confirm_resize(ctxt, uuid)


def test_resize_then_revert_goes_back(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    row = boot_active(cloud, ctxt)
    uuid, source = row["uuid"], row["host"]
    cloud.api.stop(ctxt, uuid)
    cloud.wait_for_instance(uuid, "stopped", None)
    cloud.api.resize(ctxt, uuid, "3")
    resized = cloud.wait_for_instance(uuid, "resized", None)
    assert resized["power_state"] == power_state.SHUTDOWN  # it was stopped
    dest = resized["host"]
    cloud.states.history[uuid] = []
    cloud.api.revert_resize(ctxt, uuid)
    back = cloud.wait_for_instance(uuid, "stopped", None)
    green.sleep(1)
    assert back["host"] == source and back["flavor"]["name"] == "m1.small"
    assert back["vcpus"] == 1
    assert cloud.states[uuid] == [("resized", "resize_reverting"), ("stopped", None)]
    assert node_usage_row(cloud, dest)["VCPU"] == 0
    assert node_usage_row(cloud, source)["VCPU"] == 1
    assert uuid not in cloud.computes[dest].manager.driver.instances


def test_resize_refusals_and_no_valid_host(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    uuid = boot_active(cloud, ctxt)["uuid"]
    with pytest.raises(exception.CannotResizeToSameFlavor):
        cloud.api.resize(ctxt, uuid, "2")
    with pytest.raises(exception.CannotResizeDisk):
        cloud.api.resize(ctxt, uuid, "1")  # m1.tiny: 1 GB disk < 20 GB
    cloud.api.resize(ctxt, uuid, "3")  # the only host is the source: no valid host
    row = cloud.wait_for_instance(uuid, "active", None)
    green.sleep(1)
    assert row["host"] == "compute1" and row["flavor"]["name"] == "m1.small"
    [fault] = cloud.db.instance_fault_get_by_instance_uuids([uuid])[uuid]
    assert "No valid host" in fault["message"]
    assert node_usage_row(cloud, "compute1")["VCPU"] == 1  # the allocation moved back
    assert events_of(cloud, uuid, "resize") == [("conductor_migrate_server", "Error")]


def test_resize_to_the_same_host_when_allowed(make_cloud, ctxt):
    cloud = make_cloud(computes=1, defaults={"allow_resize_to_same_host": True})
    uuid = boot_active(cloud, ctxt)["uuid"]
    cloud.api.resize(ctxt, uuid, "3")
    resized = cloud.wait_for_instance(uuid, "resized", None)
    assert resized["host"] == "compute1"
    cloud.api.confirm_resize(ctxt, uuid)
    row = cloud.wait_for_instance(uuid, "active", None)
    green.sleep(1)
    assert row["flavor"]["name"] == "m1.medium"
    assert uuid in cloud.computes["compute1"].manager.driver.instances
    assert node_usage_row(cloud, "compute1")["VCPU"] == 2


def test_cold_migrate_keeps_the_flavor(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    row = boot_active(cloud, ctxt)
    admin = nova_admin()
    cloud.api.resize(admin, row["uuid"])
    migrated = cloud.wait_for_instance(row["uuid"], "resized", None)
    assert migrated["host"] != row["host"] and migrated["flavor"]["name"] == "m1.small"
    assert migrated["system_metadata"]["migration"]["migration_type"] == "migration"
    assert [a["action"] for a in cloud.db.actions_get(row["uuid"])][0] == "migrate"


def nova_admin():
    from nova_sim.context import RequestContext

    return RequestContext(user_id="admin", project_id="admin", is_admin=True,
                          overwrite=False)


def test_compute_restart_with_actions_in_flight(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    paused = boot_active(cloud, ctxt, "paused")["uuid"]
    cloud.api.pause(ctxt, paused)
    cloud.wait_for_instance(paused, "paused", None)
    snapping = boot_active(cloud, ctxt, "snapping")["uuid"]
    rebuilding = boot_active(cloud, ctxt, "rebuilding")["uuid"]
    cloud.computes["compute1"].stop()
    # tasks the restart catches, written straight into the database
    cloud.db.instance_update(snapping, {"task_state": "image_uploading"})
    cloud.db.instance_update(rebuilding, {"task_state": "rebuild_spawning"})
    cloud.add_compute("compute1")  # a new process: its fake hypervisor starts empty
    driver = cloud.computes["compute1"].manager.driver
    assert driver.get_info({"uuid": paused}).state == power_state.PAUSED
    assert cloud.db.instance_get(snapping)["task_state"] is None
    assert cloud.db.instance_get(rebuilding)["vm_state"] == "error"
