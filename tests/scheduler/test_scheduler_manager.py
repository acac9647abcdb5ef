"""select_destinations: candidates, filters, weighers, subset pick, claims, alternates."""

from __future__ import annotations

import pytest
from scheduler_helpers import add_compute

from nova_sim import exception
from nova_sim.db import Database
from nova_sim.scheduler.utils import claim_resources


def hosts_of(host_lists):
    return [[selection["service_host"] for selection in hosts] for hosts in host_lists]


def test_spreads_by_free_ram_and_returns_claimed_host_with_alternates(db, make_manager, small):
    add_compute(db, "c1", memory_mb=8192)
    add_compute(db, "c2", memory_mb=16384)
    add_compute(db, "c3", memory_mb=4096)
    add_compute(db, "c4", memory_mb=6144)
    manager = make_manager()
    host_lists = manager.select_destinations(
        None, small, ["vm1"], return_objects=True, return_alternates=True
    )
    assert hosts_of(host_lists) == [["c2", "c1", "c4"]]  # max_attempts 3: 2 alternates
    chosen = host_lists[0][0]
    assert chosen["allocation_request"] == {
        "allocations": {chosen["compute_node_uuid"]: {"resources": {
            "VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}}}
    }
    assert chosen["nodename"] == "c2" and chosen["availability_zone"] == "nova"
    # Only the chosen host is claimed; alternates are not.
    allocations = db.allocations_get("vm1")
    assert {a["rp_uuid"] for a in allocations} == {chosen["compute_node_uuid"]}
    assert allocations[0]["project_id"] == "p1"
    for alternate in host_lists[0][1:]:
        assert db.allocations_get(rp_uuid=alternate["compute_node_uuid"]) == []


def test_no_alternates_unless_asked_and_legacy_format(db, make_manager, small):
    add_compute(db, "c1")
    add_compute(db, "c2")
    manager = make_manager()
    assert hosts_of(manager.select_destinations(None, small, ["a"], return_objects=True)) == [
        ["c1"]
    ]
    assert manager.select_destinations(None, small, ["b"]) == [
        {"host": "c2", "nodename": "c2", "limits": {}}
    ]


def test_max_attempts_sets_the_number_of_alternates(db, make_manager, small):
    for index in range(6):
        add_compute(db, f"c{index}")
    manager = make_manager(scheduler__max_attempts=5)
    host_lists = manager.select_destinations(
        None, small, ["a"], return_objects=True, return_alternates=True
    )
    assert len(host_lists[0]) == 5
    manager = make_manager(scheduler__max_attempts=1)
    host_lists = manager.select_destinations(
        None, small, ["b"], return_objects=True, return_alternates=True
    )
    assert len(host_lists[0]) == 1


def test_multi_instance_request_spreads_and_alternates_exclude_chosen(db, make_manager, small):
    for index in range(5):
        add_compute(db, f"c{index}")
    manager = make_manager()
    host_lists = manager.select_destinations(
        None, small, ["a", "b", "c"], return_objects=True, return_alternates=True
    )
    chosen = [hosts[0] for hosts in hosts_of(host_lists)]
    assert len(set(chosen)) == 3  # consume_from_request moves the next one elsewhere
    for hosts in hosts_of(host_lists):
        assert len(hosts) == 3 and not set(hosts[1:]) & set(chosen)
    for uuid in ("a", "b", "c"):
        assert len(db.allocations_get(uuid)) == 3


def test_claims_never_overfill_and_no_valid_host_when_full(db, make_manager, small):
    # 10 hosts of 4 vCPUs (ratio 1): 40 m1.small fit, the 41st does not.
    nodes = [add_compute(db, f"c{index}", vcpus=4, memory_mb=65536) for index in range(10)]
    manager = make_manager()
    for index in range(40):
        manager.select_destinations(None, small, [f"vm{index}"], return_objects=True)
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, small, ["vm40"], return_objects=True)
    for node in nodes:
        assert db.usages_get(node["uuid"])["VCPU"] == 4
    assert db.allocations_get("vm40") == []


def test_failed_request_removes_its_claims(db, make_manager, small):
    add_compute(db, "c1", vcpus=1)
    add_compute(db, "c2", vcpus=1)
    manager = make_manager()
    with pytest.raises(exception.NoValidHost) as raised:
        manager.select_destinations(None, small, ["a", "b", "c"], return_objects=True)
    assert "not enough hosts" in str(raised.value)
    assert db.allocations_get() == []


def test_no_candidates_is_no_valid_host(db, make_manager):
    add_compute(db, "c1", vcpus=4)
    manager = make_manager()
    huge = {"flavor": db.flavor_get_by_flavor_id("5")}  # 8 vCPUs
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, huge, ["a"], return_objects=True)


def test_lost_claim_race_tries_the_next_host(tmp_path, clock, conf, small):
    url = f"sqlite:///{tmp_path}/race.db"
    db = Database(url, clock=clock)
    db.ensure_default_flavors()
    first = add_compute(db, "c1", vcpus=1, memory_mb=16384)
    add_compute(db, "c2", vcpus=1, memory_mb=8192)
    other = Database(url, clock=clock)  # another scheduler process, same file
    from nova_sim.scheduler.manager import SchedulerManager

    manager = SchedulerManager(db=db, conf=conf)
    refresh = manager.host_manager.refresh

    def refresh_then_lose_the_race():
        refresh()
        assert other.claim_resources("intruder", first["uuid"], {"VCPU": 1})

    manager.host_manager.refresh = refresh_then_lose_the_race
    host_lists = manager.select_destinations(None, small, ["vm"], return_objects=True)
    assert hosts_of(host_lists) == [["c2"]]  # c1 weighed best but its claim failed
    assert db.usages_get(first["uuid"])["VCPU"] == 1
    other.close()
    db.close()


def test_without_instance_uuids_nothing_is_claimed(db, make_manager, small):
    add_compute(db, "c1")
    manager = make_manager()
    result = manager.select_destinations(None, dict(small, num_instances=2), None,
                                         return_objects=True)
    assert len(result) == 2 and db.allocations_get() == []


def test_host_subset_size_picks_among_the_best(db, make_manager, small):
    for index, memory in enumerate((16384, 12288, 8192, 4096)):
        add_compute(db, f"c{index}", memory_mb=memory, vcpus=64)
    seen = set()
    manager = make_manager(filter_scheduler__host_subset_size=2)
    for _ in range(30):
        host_lists = manager.select_destinations(None, small, None, return_objects=True)
        seen.add(host_lists[0][0]["service_host"])
    assert seen == {"c0", "c1"}
    manager = make_manager(filter_scheduler__host_subset_size=1)
    picks = {
        manager.select_destinations(None, small, None, return_objects=True)[0][0][
            "service_host"
        ]
        for _ in range(10)
    }
    assert picks == {"c0"}


def test_host_subset_pick_is_repeatable_with_a_seed(db, conf, small):
    import random

    from nova_sim.scheduler.manager import SchedulerManager

    for index in range(6):
        add_compute(db, f"c{index}", vcpus=64, memory_mb=65536)
    conf.set_override("host_subset_size", 6, "filter_scheduler")

    def run(seed):
        manager = SchedulerManager(db=db, conf=conf, random=random.Random(seed))
        return [
            manager.select_destinations(None, small, None, return_objects=True)[0][0][
                "service_host"
            ]
            for _ in range(12)
        ]

    assert run(3) == run(3)
    assert len(set(run(3))) > 1


def test_negative_ram_multiplier_stacks(db, make_manager, small):
    add_compute(db, "c1", memory_mb=8192)
    add_compute(db, "c2", memory_mb=16384)
    manager = make_manager(
        filter_scheduler__ram_weight_multiplier=-1.0,
        filter_scheduler__cpu_weight_multiplier=0.0,
        filter_scheduler__disk_weight_multiplier=0.0,
    )
    picks = [
        manager.select_destinations(None, small, [f"vm{i}"], return_objects=True)[0][0][
            "service_host"
        ]
        for i in range(3)
    ]
    assert picks == ["c1", "c1", "c1"]


def test_build_failures_push_a_host_down(db, make_manager, small):
    add_compute(db, "c1", memory_mb=16384, stats={"failed_builds": 1})
    add_compute(db, "c2", memory_mb=4096)
    manager = make_manager()
    assert hosts_of(manager.select_destinations(None, small, ["a"], return_objects=True,
                                                return_alternates=True)) == [["c2", "c1"]]


def test_down_and_disabled_hosts_are_skipped(db, clock, make_manager, small):
    add_compute(db, "c1", memory_mb=16384)
    add_compute(db, "c2", memory_mb=8192)
    add_compute(db, "c3", memory_mb=4096)
    manager = make_manager()
    assert hosts_of(manager.select_destinations(None, small, None, return_objects=True)) == [
        ["c1"]
    ]
    # c1 stops heartbeating; the others go on. 61 s later c1 is down.
    clock.value += 61
    for service in db.service_get_all():
        if service["host"] != "c1":
            db.service_heartbeat(service["id"])
    assert hosts_of(manager.select_destinations(None, small, None, return_objects=True)) == [
        ["c2"]
    ]
    c2 = db.service_get_by_host_and_binary("c2", "nova-compute")
    db.service_update(c2["id"], {"disabled": True, "disabled_reason": "maintenance"})
    assert hosts_of(manager.select_destinations(None, small, None, return_objects=True)) == [
        ["c3"]
    ]
    c3 = db.service_get_by_host_and_binary("c3", "nova-compute")
    db.service_update(c3["id"], {"forced_down": True})
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, small, None, return_objects=True)


def test_service_up_exactly_at_service_down_time(db, clock, make_manager, small):
    add_compute(db, "c1")
    manager = make_manager()
    clock.value += 60
    assert manager.select_destinations(None, small, None)[0]["host"] == "c1"
    clock.value += 0.5
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, small, None)


def test_availability_zone_filter(db, make_manager, small):
    add_compute(db, "c1", memory_mb=16384)
    add_compute(db, "c2", zone="az2")
    manager = make_manager()
    assert manager.select_destinations(None, small, None)[0]["host"] == "c1"
    zoned = dict(small, availability_zone="az2")
    host_lists = manager.select_destinations(None, zoned, None, return_objects=True)
    assert hosts_of(host_lists) == [["c2"]] and host_lists[0][0]["availability_zone"] == "az2"
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, dict(small, availability_zone="nowhere"), None)


def test_anti_affinity_group(db, make_manager, small):
    for index in range(3):
        add_compute(db, f"c{index}", vcpus=16, memory_mb=65536)
    group = db.server_group_create({"name": "g", "policy": "anti-affinity"})
    manager = make_manager()
    spec = dict(small, scheduler_hints={"group": group["uuid"]})
    host_lists = manager.select_destinations(None, spec, ["a", "b", "c"], return_objects=True)
    assert sorted(hosts[0] for hosts in hosts_of(host_lists)) == ["c0", "c1", "c2"]
    # Record the members where they landed, as the conductor does.
    for uuid, hosts in zip(("a", "b", "c"), hosts_of(host_lists), strict=True):
        db.instance_create({"uuid": uuid, "host": hosts[0]})
    db.server_group_add_members(group["uuid"], ["a", "b", "c"])
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, spec, ["d"], return_objects=True)


def test_affinity_group(db, make_manager, small):
    for index in range(3):
        add_compute(db, f"c{index}", vcpus=16, memory_mb=65536)
    group = db.server_group_create({"name": "g", "policy": "affinity"})
    manager = make_manager()
    spec = dict(small, scheduler_hints={"group": group["uuid"]})
    host_lists = manager.select_destinations(None, spec, ["a", "b"], return_objects=True)
    assert len({hosts[0] for hosts in hosts_of(host_lists)}) == 1
    first = host_lists[0][0]["service_host"]
    db.instance_create({"uuid": "a", "host": first})
    db.server_group_add_members(group["uuid"], ["a"])
    later = manager.select_destinations(None, spec, ["c"], return_objects=True)
    assert later[0][0]["service_host"] == first


def test_image_properties_and_capabilities(db, make_manager, small):
    add_compute(db, "c1", memory_mb=16384, stats={"supported_instances": [["aarch64", "fake",
                                                                            "hvm"]]})
    add_compute(db, "c2")
    manager = make_manager()
    arm = dict(small, image={"id": "i", "properties": {"hw_architecture": "aarch64"}})
    assert manager.select_destinations(None, arm, None)[0]["host"] == "c1"
    x86 = dict(small, image={"id": "i", "properties": {"architecture": "x86_64"}})
    assert manager.select_destinations(None, x86, None)[0]["host"] == "c2"
    flavor = dict(small["flavor"], extra_specs={"capabilities:vcpus_total": ">= 8"})
    add_compute(db, "c3", vcpus=8)
    assert manager.select_destinations(None, dict(small, flavor=flavor), None)[0]["host"] == (
        "c3"
    )


def test_force_and_ignore_hosts(db, make_manager, small):
    add_compute(db, "c1", memory_mb=16384)
    add_compute(db, "c2")
    c2 = db.service_get_by_host_and_binary("c2", "nova-compute")
    db.service_update(c2["id"], {"disabled": True})
    manager = make_manager()
    # Forced hosts skip the filters (an admin's "az:host" boot), as in Nova.
    assert manager.select_destinations(None, dict(small, force_hosts=["c2"]), None)[0][
        "host"
    ] == "c2"
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, dict(small, ignore_hosts=["c1"]), None)


def test_unknown_filter_stops_start_up(make_manager):
    with pytest.raises(ValueError, match="NoSuchFilter"):
        make_manager(filter_scheduler__enabled_filters=["ComputeFilter", "NoSuchFilter"])


def test_cache_follows_new_hosts_and_reports(db, make_manager, small, clock):
    add_compute(db, "c1")
    manager = make_manager()
    assert manager.select_destinations(None, small, None)[0]["host"] == "c1"
    add_compute(db, "c2", memory_mb=32768)
    assert manager.select_destinations(None, small, None)[0]["host"] == "c2"
    # Another scheduler (or a deleted instance) changes usage: seen at once.
    c2 = manager.host_manager.hosts("c2")[0]
    assert db.claim_resources("elsewhere", c2.uuid, {"MEMORY_MB": 30000})
    assert manager.select_destinations(None, small, None)[0]["host"] == "c1"
    db.remove_allocations("elsewhere")
    assert manager.select_destinations(None, small, None)[0]["host"] == "c2"
    # A deleted service takes its node out.
    clock.value += 1
    db.service_destroy(db.service_get_by_host_and_binary("c2", "nova-compute")["id"])
    assert manager.select_destinations(None, small, None)[0]["host"] == "c1"
    assert [s.host for s in manager.host_manager.host_states.values()] == ["c1"]


def test_reschedule_claims_an_alternate(db, make_manager, small):
    add_compute(db, "c1", memory_mb=16384)
    add_compute(db, "c2")
    manager = make_manager()
    host_lists = manager.select_destinations(None, small, ["vm"], return_objects=True,
                                             return_alternates=True)
    chosen, alternate = host_lists[0]
    assert claim_resources(db, "vm", alternate, "p1", "u1")
    assert [a["rp_uuid"] for a in db.allocations_get("vm")] == [alternate[
        "compute_node_uuid"]] * 3
    assert db.usages_get(chosen["compute_node_uuid"])["VCPU"] == 0


def test_instance_info_casts(db, make_manager):
    add_compute(db, "c1")
    manager = make_manager()
    manager.host_manager.refresh()
    manager.update_instance_info(None, "c1", [{"uuid": "a"}, {"uuid": "b"}])
    manager.delete_instance_info(None, "c1", "a")
    assert manager.host_manager.hosts("c1")[0].instances == {"b"}
    manager.sync_instance_info(None, "c1", ["x", "y"])
    assert manager.host_manager.hosts("c1")[0].instances == {"x", "y"}


def test_anti_affinity_max_server_per_host(db, make_manager, small):
    for index in range(2):
        add_compute(db, f"c{index}", vcpus=16, memory_mb=65536)
    group = db.server_group_create(
        {"name": "g", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}
    )
    manager = make_manager()
    spec = dict(small, scheduler_hints={"group": group["uuid"]})
    host_lists = manager.select_destinations(None, spec, ["a", "b", "c", "d"],
                                             return_objects=True)
    chosen = sorted(hosts[0] for hosts in hosts_of(host_lists))
    assert chosen == ["c0", "c0", "c1", "c1"]
    for uuid, hosts in zip("abcd", hosts_of(host_lists), strict=True):
        db.instance_create({"uuid": uuid, "host": hosts[0]})
    db.server_group_add_members(group["uuid"], list("abcd"))
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, spec, ["e"], return_objects=True)


@pytest.mark.parametrize("policy, member_on", [("soft-affinity", "c1"),
                                               ("soft-anti-affinity", "c0")])
def test_soft_policies_weigh(db, make_manager, small, policy, member_on):
    add_compute(db, "c0", memory_mb=32768)  # the RAM weigher alone would pick c0
    add_compute(db, "c1", memory_mb=16384)
    group = db.server_group_create({"name": "g", "policy": policy})
    db.instance_create({"uuid": "m1", "host": member_on})
    db.server_group_add_members(group["uuid"], ["m1"])
    manager = make_manager(filter_scheduler__ram_weight_multiplier=0.5)
    assert manager.select_destinations(None, small, None)[0]["host"] == "c0"
    spec = dict(small, scheduler_hints={"group": group["uuid"]})
    assert manager.select_destinations(None, spec, None)[0]["host"] == "c1"


def test_one_request_may_put_more_than_max_unit_instances_on_a_host(db, make_manager):
    # max_unit (16 vCPUs) caps one allocation, not the sum of a request's allocations.
    add_compute(db, "c1", vcpus=16, cpu_ratio=4.0, memory_mb=65536)
    tiny = {"flavor": db.flavor_get_by_flavor_id("1")}
    manager = make_manager()
    uuids = [f"vm{index}" for index in range(20)]
    host_lists = manager.select_destinations(None, tiny, uuids, return_objects=True)
    assert {hosts[0] for hosts in hosts_of(host_lists)} == {"c1"}
    assert db.usages_get(host_lists[0][0]["compute_node_uuid"])["VCPU"] == 20


def test_optional_filters_io_ops_num_instances_and_host_hints(db, make_manager, small):
    add_compute(db, "c1", memory_mb=32768, stats={"io_workload": 8, "num_instances": 3})
    add_compute(db, "c2", memory_mb=16384, stats={"num_instances": 50})
    add_compute(db, "c3", memory_mb=8192)
    manager = make_manager(filter_scheduler__enabled_filters=[
        "ComputeFilter", "IoOpsFilter", "NumInstancesFilter", "SameHostFilter",
        "DifferentHostFilter",
    ])
    # c1 has 8 operations in progress (max 8), c2 holds 50 instances (max 50).
    assert manager.select_destinations(None, small, None)[0]["host"] == "c3"
    db.instance_create({"uuid": "on-c3", "host": "c3"})
    different = dict(small, scheduler_hints={"different_host": ["on-c3"]})
    with pytest.raises(exception.NoValidHost):
        manager.select_destinations(None, different, None)
    same = dict(small, scheduler_hints={"same_host": "on-c3"})
    assert manager.select_destinations(None, same, None)[0]["host"] == "c3"
