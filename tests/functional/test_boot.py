"""Boot flows of a one-process cloud on the virtual clock."""

from __future__ import annotations

from nova_sim import exception, green
from nova_sim.compute import power_state
from nova_sim.deploy import new_conf, zero_latency
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.virt.fake import FakeDriver

M1_SMALL = "2"

BOOT_STATES = [
    ("building", "scheduling"),
    ("building", None),
    ("building", "networking"),
    ("building", "block_device_mapping"),
    ("building", "spawning"),
    ("active", None),
]


def boot(cloud, ctxt, name="vm", flavor=M1_SMALL, **kwargs):
    return cloud.api.create(ctxt, flavor, CIRROS_IMAGE_ID, name, **kwargs)


def settle(cloud, uuids, timeout=300.0):
    """Wait until no instance is building any more; returns the rows."""
    rows = []
    for uuid in uuids:
        deadline = green.now() + timeout
        while True:
            row = cloud.db.instance_get(uuid, read_deleted="yes")
            if row["vm_state"] != "building":
                break
            assert green.now() < deadline, f"{uuid} still building"
            green.sleep(0.1)
        rows.append(row)
    return rows


def test_boot_reaches_active_through_novas_state_sequence(make_cloud, ctxt):
    cloud = make_cloud(computes=2)
    [instance] = boot(cloud, ctxt)
    assert (instance["vm_state"], instance["task_state"]) == ("building", "scheduling")
    row = cloud.wait_for_instance(instance["uuid"], "active", None)
    assert cloud.states[instance["uuid"]] == BOOT_STATES
    assert row["power_state"] == power_state.RUNNING
    assert row["launched_at"] is not None
    assert row["host"] in cloud.compute_hosts and row["node"] == row["host"]
    [action] = cloud.db.actions_get(instance["uuid"])
    assert action["action"] == "create" and action["request_id"] == ctxt.request_id
    events = cloud.db.action_events_get(action["id"])
    assert [(e["event"], e["result"]) for e in events] == [
        ("compute__do_build_and_run_instance", "Success")
    ]


def test_boot_with_latency_takes_virtual_time_and_shows_build(make_cloud, ctxt):
    cloud = make_cloud(computes=1, spawn_latency="fixed:1.5")
    [instance] = boot(cloud, ctxt)
    started = green.now()
    green.sleep(1.0)
    assert cloud.db.instance_get(instance["uuid"])["task_state"] == "spawning"
    cloud.wait_for_instance(instance["uuid"], "active", poll=0.01)
    assert 1.5 <= green.now() - started < 1.6


def test_200_boots_on_10_hosts_leave_no_host_over_capacity(make_cloud, ctxt):
    # 25 m1.small fit on a host (RAM: 25 * 2048 + 512 reserved)
    cloud = make_cloud(computes=10, memory_mb=25 * 2048 + 512)
    instances = []
    for batch in range(20):  # 20 requests of 10 instances, as 20 API calls would
        instances += boot(cloud, ctxt, f"batch{batch}", min_count=10, max_count=10)
    rows = settle(cloud, [i["uuid"] for i in instances])
    assert [r["vm_state"] for r in rows].count("active") == 200
    per_host = {}
    for row in rows:
        per_host[row["host"]] = per_host.get(row["host"], 0) + row["memory_mb"]
    assert all(used <= 25 * 2048 for used in per_host.values())
    for node in cloud.db.compute_node_get_all():
        provider = cloud.db.resource_provider_get(node["uuid"])
        for inventory in provider["inventories"].values():
            assert inventory["used"] <= inventory["capacity"]


def test_more_boots_than_room_fill_hosts_exactly_and_fail_the_rest(make_cloud, ctxt):
    cloud = make_cloud(computes=3, memory_mb=4 * 2048 + 512)
    instances = []
    for number in range(20):
        instances += boot(cloud, ctxt, f"vm{number}")
    rows = settle(cloud, [i["uuid"] for i in instances])
    states = [r["vm_state"] for r in rows]
    assert states.count("active") == 12 and states.count("error") == 8
    for host in cloud.compute_hosts:
        assert sum(1 for r in rows if r["host"] == host and r["vm_state"] == "active") == 4


def test_a_multi_create_that_does_not_fit_fails_as_a_whole(make_cloud, ctxt):
    cloud = make_cloud(computes=2, memory_mb=2 * 2048 + 512)
    instances = boot(cloud, ctxt, min_count=5, max_count=5)
    rows = settle(cloud, [i["uuid"] for i in instances])
    assert [r["vm_state"] for r in rows] == ["error"] * 5  # Nova: all or nothing
    assert cloud.db.allocations_get() == []


def test_no_host_fits_goes_to_error_with_a_fault(make_cloud, ctxt):
    cloud = make_cloud(computes=2, memory_mb=4096)
    [instance] = boot(cloud, ctxt, flavor="5")  # m1.xlarge: 16384 MB
    row = cloud.wait_for_instance(instance["uuid"], "error")
    assert row["task_state"] is None and row["host"] is None
    shown = cloud.api.get(ctxt, instance["uuid"])
    assert "No valid host" in shown["fault"]["message"]
    assert shown["fault"]["code"] == 500
    assert cloud.db.allocations_get(consumer_uuid=instance["uuid"]) == []


def _drivers(big="compute1", failing=()):
    """Zero-latency drivers; ``big`` has the most free RAM (the scheduler's first choice)."""

    def factory(host):
        memory = 65536 if host == big else 32768
        return FakeDriver(zero_latency(new_conf()), host, memory_mb=memory,
                          failing_hosts=list(failing))

    return factory


def test_injected_spawn_failure_is_rescheduled_to_an_alternate(make_cloud, ctxt):
    cloud = make_cloud(computes=2, driver_factory=_drivers(failing=["compute1"]))
    [instance] = boot(cloud, ctxt)
    row = cloud.wait_for_instance(instance["uuid"], "active", None)
    assert row["host"] == "compute2"
    history = cloud.states[instance["uuid"]]
    assert history[:5] == BOOT_STATES[:5]
    assert ("building", "scheduling") in history[1:]  # back to the conductor
    assert history[-1] == ("active", None)
    allocations = cloud.db.allocations_get(consumer_uuid=instance["uuid"])
    node2 = cloud.db.compute_node_get_by_host_and_nodename("compute2", "compute2")
    assert {a["rp_uuid"] for a in allocations} == {node2["uuid"]}
    events = cloud.db.action_events_get(cloud.db.actions_get(instance["uuid"])[0]["id"])
    assert sorted(e["result"] for e in events) == ["Error", "Success"]


def test_failed_builds_are_reported_and_push_the_host_down(make_cloud, ctxt):
    """compute1 has the most room but its spawns fail: after one failed build it reports
    failed_builds=1 and the BuildFailureWeigher sends every later boot elsewhere; a
    success resets compute2's count to 0."""
    cloud = make_cloud(computes=2, driver_factory=_drivers(failing=["compute1"]))
    [first] = boot(cloud, ctxt, "first")
    assert cloud.wait_for_instance(first["uuid"], "active", None)["host"] == "compute2"
    node1 = cloud.db.compute_node_get_by_host_and_nodename("compute1", "compute1")
    assert node1["stats"]["failed_builds"] == 1
    later = [boot(cloud, ctxt, f"later-{i}")[0] for i in range(3)]
    rows = [cloud.wait_for_instance(vm["uuid"], "active", None) for vm in later]
    assert {row["host"] for row in rows} == {"compute2"}
    history = [cloud.states[vm["uuid"]] for vm in later]
    assert all(("building", "scheduling") not in states[1:] for states in history)
    node2 = cloud.db.compute_node_get_by_host_and_nodename("compute2", "compute2")
    assert node2["stats"]["failed_builds"] == 0


def test_all_alternates_failing_ends_in_error(make_cloud, ctxt):
    cloud = make_cloud(computes=3, failing_hosts=["compute1", "compute2", "compute3"])
    [instance] = boot(cloud, ctxt)
    row = cloud.wait_for_instance(instance["uuid"], "error")
    assert row["task_state"] is None
    fault = cloud.api.get(ctxt, instance["uuid"])["fault"]
    assert "Exceeded maximum number of retries" in fault["message"]
    assert cloud.db.allocations_get(consumer_uuid=instance["uuid"]) == []
    events = cloud.db.action_events_get(cloud.db.actions_get(instance["uuid"])[0]["id"])
    assert [e["result"] for e in events] == ["Error"] * 3  # max_attempts = 3 hosts tried


def test_max_attempts_one_means_no_reschedule(make_cloud, ctxt):
    cloud = make_cloud(computes=2, defaults={"scheduler.max_attempts": 1},
                       failing_hosts=["compute1", "compute2"])
    [instance] = boot(cloud, ctxt)
    cloud.wait_for_instance(instance["uuid"], "error")
    events = cloud.db.action_events_get(cloud.db.actions_get(instance["uuid"])[0]["id"])
    assert len(events) == 1


def test_unknown_flavor_or_image_raise_before_anything_is_written(make_cloud, ctxt):
    cloud = make_cloud(computes=1)
    for flavor, image in (("999", CIRROS_IMAGE_ID), (M1_SMALL, "no-such-image")):
        try:
            cloud.api.create(ctxt, flavor, image, "vm")
        except (exception.FlavorNotFound, exception.ImageNotFound):
            pass
        else:
            raise AssertionError("expected a NotFound")
    assert cloud.db.instance_get_all_by_filters({}) == []


def test_build_semaphore_limits_concurrent_builds(make_cloud, ctxt):
    cloud = make_cloud(computes=1, defaults={"max_concurrent_builds": 2},
                       spawn_latency="fixed:1")
    started = green.now()
    instances = boot(cloud, ctxt, min_count=6, max_count=6)
    spawning_at_once = 0
    while True:
        rows = [cloud.db.instance_get(i["uuid"]) for i in instances]
        spawning_at_once = max(spawning_at_once,
                               sum(1 for r in rows if r["task_state"] == "spawning"))
        if all(r["vm_state"] == "active" for r in rows):
            break
        green.sleep(0.05)
    assert spawning_at_once == 2
    assert 3.0 <= green.now() - started < 3.2  # three waves of two one-second spawns


def test_one_request_may_put_more_than_max_unit_instances_on_a_host(make_cloud, ctxt):
    cloud = make_cloud(computes=1, memory_mb=30 * 2048 + 512)
    instances = boot(cloud, ctxt, min_count=20, max_count=20)
    rows = settle(cloud, [i["uuid"] for i in instances])
    assert [r["vm_state"] for r in rows] == ["active"] * 20
