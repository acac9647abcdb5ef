"""Tests of nova_sim.db.Database: the contract the services build on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_sim import exception
from nova_sim.db import (
    Database,
    MarkerNotFound,
    RequestSpecNotFound,
    ServerGroupNotFound,
    format_timestamp,
    parse_timestamp,
    parse_url,
)
from nova_sim.db import floating_ips as floating_ips_module

SMALL = {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}


class FakeClock:
    def __init__(self, start: float = 1767225600.0):  # 2026-01-01T00:00:00
        self.value = start

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def db(database_url, clock):
    """The database API on each backend (SQLite in memory, MariaDB, PostgreSQL)."""
    database = Database(database_url, clock=clock)
    yield database
    database.close()


def add_host(db, host, vcpus=4, memory_mb=8192, disk_gb=100, cpu_ratio=1.0, ram_ratio=1.0):
    node = db.compute_node_create_or_update(
        {"host": host, "vcpus": vcpus, "memory_mb": memory_mb, "local_gb": disk_gb}
    )
    db.resource_provider_ensure(
        node["uuid"],
        host,
        {
            "VCPU": {"total": vcpus, "allocation_ratio": cpu_ratio},
            "MEMORY_MB": {"total": memory_mb, "allocation_ratio": ram_ratio},
            "DISK_GB": disk_gb,
        },
    )
    return node


# ------------------------------------------------------------------------ plumbing


def test_parse_url():
    assert parse_url("sqlite://") == ":memory:"
    assert parse_url("sqlite:///:memory:") == ":memory:"
    assert parse_url("sqlite:////tmp/x.db") == "/tmp/x.db"
    assert parse_url("sqlite:///rel.db") == "rel.db"
    assert parse_url("mysql+pymysql://u@h/nova") == "mysql+pymysql://u@h/nova"
    with pytest.raises(ValueError):
        parse_url("oracle://u@h/nova")
    with pytest.raises(ValueError):
        parse_url("not a url")


def test_timestamps_come_from_the_clock(db, clock):
    assert format_timestamp(1767225605.0) == "2026-01-01T00:00:05.000000"
    assert parse_timestamp("2026-01-01T00:00:05.000000") == 1767225605.0
    clock.value += 5
    service = db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
    assert service["created_at"] == "2026-01-01T00:00:05.000000"


def test_rows_are_json_dicts(db):
    db.ensure_default_flavors()
    flavor = db.flavor_get_by_flavor_id("2")
    instance = db.instance_create({"flavor": flavor, "metadata": {"a": "b"}})
    json.dumps(instance)
    assert instance["metadata"] == {"a": "b"}
    assert instance["flavor"]["name"] == "m1.small"
    assert instance["deleted"] is False and instance["locked"] is False


def test_unknown_column_raises(db):
    with pytest.raises(ValueError):
        db.instance_create({"no_such_column": 1})


def test_transactions_are_counted(db):
    before = (db.transactions, db.write_transactions)
    db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
    db.service_get_all()
    assert db.transactions == before[0] + 2
    assert db.write_transactions == before[1] + 1


# ------------------------------------------------------------------------ services


def test_service_heartbeat_and_update(db, clock):
    service = db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
    assert service["report_count"] == 0 and service["last_seen_up"] is None
    clock.value += 10
    service = db.service_heartbeat(service["id"])
    assert service["report_count"] == 1
    assert service["last_seen_up"] == "2026-01-01T00:00:10.000000"
    service = db.service_update(service["id"], {"disabled": True, "disabled_reason": "maint"})
    assert service["disabled"] is True
    assert db.service_get_by_host_and_binary("c1", "nova-compute")["id"] == service["id"]
    assert [s["host"] for s in db.service_get_all(binary="nova-compute", disabled=True)] == [
        "c1"
    ]
    with pytest.raises(exception.ComputeHostNotFound):
        db.service_get_by_host_and_binary("c2", "nova-compute")
    with pytest.raises(exception.ServiceNotFound):
        db.service_heartbeat(999)
    db.service_destroy(service["id"])
    assert db.service_get_all() == []


def test_compute_node_create_or_update(db, clock):
    node = db.compute_node_create_or_update(
        {"host": "c1", "vcpus": 4, "memory_mb": 8192, "local_gb": 100, "memory_mb_used": 512}
    )
    assert node["hypervisor_hostname"] == "c1" and node["free_ram_mb"] == 7680
    clock.value += 60
    again = db.compute_node_create_or_update({"host": "c1", "memory_mb_used": 2048})
    assert again["uuid"] == node["uuid"] and again["free_ram_mb"] == 6144
    assert again["hypervisor_type"] == "fake"
    assert len(db.compute_node_get_all()) == 1
    assert db.compute_node_get_all(updated_since=again["updated_at"]) == [again]
    assert db.compute_node_get_all(updated_since=format_timestamp(clock.value + 1)) == []


# ------------------------------------------------------------------------ flavors


def test_default_flavors_are_devstacks(db):
    db.ensure_default_flavors()
    db.ensure_default_flavors()  # idempotent
    flavors = {f["flavorid"]: f for f in db.flavor_get_all()}
    assert [(f["name"], f["vcpus"], f["memory_mb"], f["root_gb"]) for f in flavors.values()] == [
        ("m1.tiny", 1, 512, 1),
        ("m1.small", 1, 2048, 20),
        ("m1.medium", 2, 4096, 40),
        ("m1.large", 4, 8192, 80),
        ("m1.xlarge", 8, 16384, 160),
    ]
    assert flavors["1"]["is_public"] is True
    with pytest.raises(exception.FlavorNotFound):
        db.flavor_get_by_flavor_id("42")
    with pytest.raises(exception.Conflict):
        db.flavor_create({"name": "m1.tiny", "vcpus": 1, "memory_mb": 1})


# ------------------------------------------------------------------------ instances


def test_instance_update_expected_task_state(db):
    instance = db.instance_create({"vm_state": "building", "task_state": "scheduling"})
    uuid = instance["uuid"]
    updated = db.instance_update(
        uuid, {"task_state": "networking"}, expected_task_state=["scheduling", None]
    )
    assert updated["task_state"] == "networking"
    with pytest.raises(exception.UnexpectedTaskStateError):
        db.instance_update(uuid, {"task_state": "spawning"}, expected_task_state="scheduling")
    assert db.instance_get(uuid)["task_state"] == "networking"
    db.instance_update(uuid, {"task_state": None, "vm_state": "active"})
    assert db.instance_update(uuid, {"progress": 100}, expected_task_state=[None])["progress"]
    with pytest.raises(exception.UnexpectedTaskStateError):
        db.instance_update(uuid, {}, expected_vm_state="stopped")
    with pytest.raises(exception.InstanceNotFound):
        db.instance_update("nope", {"task_state": None})


def test_instance_destroy_is_soft(db, clock):
    instance = db.instance_create({"display_name": "a"})
    clock.value += 3
    gone = db.instance_destroy(instance["uuid"])
    assert gone["deleted"] is True and gone["deleted_at"] == format_timestamp(clock.value)
    with pytest.raises(exception.InstanceNotFound):
        db.instance_get(instance["uuid"])
    assert db.instance_get(instance["uuid"], read_deleted="yes")["display_name"] == "a"
    with pytest.raises(exception.InstanceNotFound):
        db.instance_destroy(instance["uuid"])
    assert db.instance_get_all_by_filters({}) == []
    assert len(db.instance_get_all_by_filters({"deleted": True})) == 1
    assert len(db.instance_get_all_by_filters({"deleted": None})) == 1


def test_instance_filters(db):
    for index in range(6):
        db.instance_create(
            {
                "uuid": f"00000000-0000-0000-0000-00000000000{index}",
                "display_name": f"vm-{index}",
                "project_id": "p1" if index < 4 else "p2",
                "host": "c1" if index % 2 else "c2",
                "vm_state": "active" if index < 3 else "error",
                "metadata": {"tier": "web" if index < 2 else "db"},
            }
        )
    names = lambda rows: sorted(r["display_name"] for r in rows)  # noqa: E731
    assert names(db.instance_get_all_by_filters({"project_id": "p2"})) == ["vm-4", "vm-5"]
    assert names(db.instance_get_all_by_filters({"host": "c1", "vm_state": "active"})) == [
        "vm-1"
    ]
    assert names(db.instance_get_all_by_filters({"vm_state": ["error"], "host": "c2"})) == [
        "vm-4"
    ]
    assert names(db.instance_get_all_by_filters({"name": "vm-[12]$"})) == ["vm-1", "vm-2"]
    assert names(db.instance_get_all_by_filters({"metadata": {"tier": "web"}})) == [
        "vm-0",
        "vm-1",
    ]
    assert db.instance_count({"project_id": "p1"}) == 4
    with pytest.raises(exception.InvalidInput):
        db.instance_get_all_by_filters({"bogus": 1})


def test_instance_pagination(db, clock):
    uuids = []
    for index in range(7):
        clock.value += 1
        uuids.append(db.instance_create({"display_name": f"vm-{index}"})["uuid"])
    # Default order: newest first.
    pages, marker = [], None
    while True:
        page = db.instance_get_all_by_filters({}, limit=3, marker=marker)
        if not page:
            break
        pages.append([row["display_name"] for row in page])
        marker = page[-1]["uuid"]
    assert pages == [["vm-6", "vm-5", "vm-4"], ["vm-3", "vm-2", "vm-1"], ["vm-0"]]
    ascending = db.instance_get_all_by_filters(
        {}, limit=2, marker=uuids[1], sort_keys=["display_name"], sort_dirs=["asc"]
    )
    assert [row["display_name"] for row in ascending] == ["vm-2", "vm-3"]
    with pytest.raises(MarkerNotFound):
        db.instance_get_all_by_filters({}, marker="missing")
    with pytest.raises(exception.InvalidInput):
        db.instance_get_all_by_filters({}, sort_keys=["password"])


def test_pagination_with_equal_sort_values(db):
    # Under the virtual clock many instances share created_at: id breaks the tie.
    for index in range(5):
        db.instance_create({"display_name": f"vm-{index}"})
    first = db.instance_get_all_by_filters({}, limit=2)
    rest = db.instance_get_all_by_filters({}, marker=first[-1]["uuid"])
    assert [r["display_name"] for r in first + rest] == [f"vm-{i}" for i in (4, 3, 2, 1, 0)]


def test_faults(db):
    instance = db.instance_create({})
    db.instance_fault_create(
        {"instance_uuid": instance["uuid"], "code": 500, "message": "first", "host": "c1"}
    )
    db.instance_fault_create(
        {"instance_uuid": instance["uuid"], "code": 500, "message": "NoValidHost"}
    )
    faults = db.instance_fault_get_by_instance_uuids([instance["uuid"], "other"])
    assert [f["message"] for f in faults[instance["uuid"]]] == ["NoValidHost"]
    assert faults["other"] == []
    every = db.instance_fault_get_by_instance_uuids([instance["uuid"]], latest=False)
    assert len(every[instance["uuid"]]) == 2


def test_actions_and_events(db, clock):
    uuid = db.instance_create({})["uuid"]
    db.action_start(
        {"instance_uuid": uuid, "request_id": "req-1", "action": "create", "project_id": "p"}
    )
    event = db.action_event_start(uuid, "req-1", "compute__do_build_and_run_instance", "c1")
    assert event["result"] is None
    clock.value += 2
    event = db.action_event_finish(
        uuid, "req-1", "compute__do_build_and_run_instance", result="Error", traceback="tb"
    )
    assert event["result"] == "Error" and event["finish_time"] == format_timestamp(clock.value)
    action = db.action_finish(uuid, "req-1")
    assert action["message"] == "Error" and action["finish_time"]
    db.action_start({"instance_uuid": uuid, "request_id": "req-2", "action": "stop"})
    assert [a["action"] for a in db.actions_get(uuid)] == ["stop", "create"]
    found = db.action_get_by_request_id(uuid, "req-1")
    assert [e["event"] for e in db.action_events_get(found["id"])] == [
        "compute__do_build_and_run_instance"
    ]
    with pytest.raises(exception.InstanceActionNotFound):
        db.action_get_by_request_id(uuid, "req-3")


# ------------------------------------------------------------------------ placement


def test_claims_never_overfill(db):
    node = add_host(db, "c1", vcpus=4, memory_mb=8192, disk_gb=100)
    results = [db.claim_resources(f"i{k}", node["uuid"], SMALL) for k in range(6)]
    assert results == [True, True, True, True, False, False]
    assert db.usages_get(node["uuid"]) == {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 80}
    assert db.allocation_candidates(SMALL) == []
    assert db.allocation_candidates({"DISK_GB": 20}) == [node["uuid"]]
    assert db.remove_allocations("i0") is True
    assert db.remove_allocations("i0") is False
    assert db.allocation_candidates(SMALL) == [node["uuid"]]


def test_claim_respects_ratios_reserved_and_max_unit(db):
    node = db.compute_node_create_or_update({"host": "c1"})
    db.resource_provider_ensure(
        node["uuid"],
        "c1",
        {
            "VCPU": {"total": 2, "allocation_ratio": 4.0, "max_unit": 2},
            "MEMORY_MB": {"total": 4096, "reserved": 1024},
        },
    )
    assert not db.claim_resources("big", node["uuid"], {"VCPU": 3})  # above max_unit
    assert [db.claim_resources(f"c{k}", node["uuid"], {"VCPU": 2}) for k in range(5)] == [
        True, True, True, True, False,
    ]
    assert db.claim_resources("m", node["uuid"], {"MEMORY_MB": 3072})
    assert not db.claim_resources("m2", node["uuid"], {"MEMORY_MB": 1})
    assert not db.claim_resources("d", node["uuid"], {"DISK_GB": 1})  # no inventory


def test_failed_claim_changes_nothing_and_claim_replaces(db):
    first = add_host(db, "c1", vcpus=2)
    second = add_host(db, "c2", vcpus=1)
    assert db.claim_resources("vm", first["uuid"], {"VCPU": 1}, "p", "u")
    assert db.claim_resources("other", second["uuid"], {"VCPU": 1})
    # No room on c2: the claim fails and vm keeps its allocation on c1.
    assert not db.claim_resources("vm", second["uuid"], {"VCPU": 1})
    assert [(a["rp_uuid"], a["used"]) for a in db.allocations_get("vm")] == [
        (first["uuid"], 1)
    ]
    assert db.usages_get(first["uuid"])["VCPU"] == 1
    # A claim elsewhere moves the consumer (reschedule to an alternate).
    db.remove_allocations("other")
    assert db.claim_resources("vm", second["uuid"], {"VCPU": 1})
    assert db.usages_get(first["uuid"])["VCPU"] == 0
    assert db.allocations_get("vm")[0]["project_id"] is None
    # A late cleanup on the old host does not drop the new claim.
    assert db.remove_allocations("vm", rp_uuid=first["uuid"]) is False
    assert db.usages_get(second["uuid"])["VCPU"] == 1


def test_inventory_update_keeps_usage_and_bumps_generation(db):
    node = add_host(db, "c1", vcpus=4)
    generation = db.resource_provider_get(node["uuid"])["generation"]
    assert db.claim_resources("vm", node["uuid"], SMALL)
    generation_after_claim = db.resource_provider_get(node["uuid"])["generation"]
    assert generation_after_claim == generation + 1
    unchanged = db.resource_provider_ensure(
        node["uuid"],
        "c1",
        {"VCPU": {"total": 4}, "MEMORY_MB": {"total": 8192}, "DISK_GB": 100},
    )
    assert unchanged == generation_after_claim
    assert db.resource_provider_ensure(node["uuid"], "c1", {"VCPU": 8}) == unchanged + 1
    provider = db.resource_provider_get(node["uuid"])
    assert set(provider["inventories"]) == {"VCPU"}
    assert provider["inventories"]["VCPU"]["used"] == 1
    assert db.provider_summaries()[node["uuid"]]["VCPU"]["capacity"] == 8


def test_allocation_candidates_at_scale_are_one_query(db):
    hosts = [add_host(db, f"c{k}", vcpus=1 + k % 4)["uuid"] for k in range(50)]
    before = db.transactions
    fit = db.allocation_candidates({"VCPU": 3, "MEMORY_MB": 1024})
    assert db.transactions == before + 1
    assert fit == [uuid for k, uuid in enumerate(hosts) if 1 + k % 4 >= 3]
    assert db.allocation_candidates({"VCPU": 3}, limit=2) == fit[:2]


RACE_SCRIPT = r"""
import json, sys
from nova_sim.db import Database
db = Database(sys.argv[1], busy_timeout=60)
providers = [rp["uuid"] for rp in db.resource_providers_get_all()]
sys.stdin.readline()  # wait for the go line, so that both processes race
won = 0
for k in range(int(sys.argv[3])):
    for rp in providers:
        if db.claim_resources(f"{sys.argv[2]}-{k}-{rp}", rp, {"VCPU": 1, "MEMORY_MB": 512}):
            won += 1
            break
print(json.dumps({"won": won}))
"""


@pytest.mark.slow  # two processes
def test_two_processes_racing_never_overfill(shared_database_url):
    url = shared_database_url
    db = Database(url)
    providers = [add_host(db, f"c{k}", vcpus=8, memory_mb=4096)["uuid"] for k in range(5)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_SCRIPT, url, name, "30"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b")
    ]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    won = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        won.append(json.loads(out)["won"])
    # 5 hosts x 8 instances fit (4096 MB / 512); 60 attempts in total.
    assert sum(won) == 40
    for rp in providers:
        usage = db.usages_get(rp)
        assert usage == {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 0}
        assert len(db.allocations_get(rp_uuid=rp)) == 16
    db.close()


# ------------------------------------------------------------------------ specs, groups


def test_request_specs(db):
    with pytest.raises(RequestSpecNotFound):
        db.request_spec_get("x")
    db.request_spec_save("x", {"flavor": {"vcpus": 1}, "num_instances": 1})
    db.request_spec_save("x", {"flavor": {"vcpus": 2}, "num_instances": 1})
    assert db.request_spec_get("x")["flavor"]["vcpus"] == 2


def test_server_groups(db):
    group = db.server_group_create({"name": "g", "policy": "anti-affinity", "project_id": "p"})
    assert group["members"] == []
    a = db.instance_create({"host": "c1"})["uuid"]
    b = db.instance_create({"host": "c2"})["uuid"]
    c = db.instance_create({})["uuid"]
    db.server_group_add_members(group["uuid"], [a, b, c, a])
    assert db.server_group_get(group["uuid"])["members"] == [a, b, c]
    assert db.server_group_member_hosts(group["uuid"]) == ["c1", "c2"]
    assert db.server_group_member_hosts(group["uuid"], exclude=[b]) == ["c1"]
    assert db.server_group_get_by_instance(b)["uuid"] == group["uuid"]
    db.instance_destroy(a)
    assert db.server_group_member_hosts(group["uuid"]) == ["c2"]
    assert [g["name"] for g in db.server_group_get_all("p")] == ["g"]
    with pytest.raises(exception.InvalidInput):
        db.server_group_create({"name": "bad", "policy": "nearby"})
    db.server_group_delete(group["uuid"])
    with pytest.raises(ServerGroupNotFound):
        db.server_group_get(group["uuid"])


def test_provider_changes_are_incremental(db):
    first = add_host(db, "c1")["uuid"]
    second = add_host(db, "c2")["uuid"]
    seq, providers, count = db.provider_changes(0)
    assert list(providers) == [first, second] and count == 2
    assert providers[first]["MEMORY_MB"]["capacity"] == 8192
    assert db.provider_changes(seq)[1] == {}
    assert db.claim_resources("vm", second, SMALL)
    seq2, changed, _ = db.provider_changes(seq)
    assert list(changed) == [second] and changed[second]["VCPU"]["used"] == 1
    assert seq2 > seq
    db.remove_allocations("vm")
    assert db.provider_changes(seq2)[1][second]["VCPU"]["used"] == 0
    db.resource_provider_delete(first)
    assert db.provider_changes(seq2)[2] == 1


def test_allocation_candidates_with_usage(db):
    first = add_host(db, "c1")["uuid"]
    db.claim_resources("vm", first, SMALL)
    rows = db.allocation_candidates(SMALL, usage_of=("VCPU", "MEMORY_MB", "CUSTOM_X"))
    assert rows == [(first, 1, 2048, None)]


def test_transaction_groups_calls_and_rolls_back(db):
    before = db.write_transactions
    with db.transaction():
        db.service_create({"binary": "nova-compute", "host": "c1", "topic": "compute"})
        db.service_create({"binary": "nova-compute", "host": "c2", "topic": "compute"})
    assert db.write_transactions == before + 1
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.service_create({"binary": "nova-compute", "host": "c3", "topic": "compute"})
            raise RuntimeError("boom")
    assert [s["host"] for s in db.service_get_all()] == ["c1", "c2"]


def test_file_of_another_schema_version_is_refused(tmp_path):
    import sqlite3

    from nova_sim.db import DatabaseSchemaError

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE services (id INTEGER PRIMARY KEY)")
    connection.commit()
    connection.close()
    with pytest.raises(DatabaseSchemaError, match="without a nova-sim schema revision"):
        Database(f"sqlite:///{path}")
    again = Database(f"sqlite:///{tmp_path}/new.db")
    again.close()
    Database(f"sqlite:///{tmp_path}/new.db").close()  # reopening our own file is fine


@settings(max_examples=60, deadline=None)
@given(
    operations=st.lists(
        st.tuples(
            st.sampled_from(["claim", "remove", "remove_on", "resize"]),
            st.integers(0, 5),  # consumer
            st.integers(0, 2),  # provider
            st.integers(1, 6),  # amount / new total
        ),
        max_size=40,
    )
)
def test_usage_always_matches_allocations_and_claims_never_overfill(operations):
    db = Database()
    providers = [add_host(db, f"c{k}", vcpus=4, memory_mb=4096)["uuid"] for k in range(3)]
    totals = {rp: 4 for rp in providers}
    for action, consumer, provider, amount in operations:
        rp, name = providers[provider], f"vm{consumer}"
        if action == "claim":
            used = db.usages_get(rp)["VCPU"]
            mine = sum(a["used"] for a in db.allocations_get(name, rp) if a["resource_class"]
                       == "VCPU")
            fits = used - mine + amount <= totals[rp]
            assert db.claim_resources(name, rp, {"VCPU": amount, "MEMORY_MB": 512}) == fits
        elif action == "remove":
            db.remove_allocations(name)
        elif action == "remove_on":
            db.remove_allocations(name, rp_uuid=rp)
        else:  # the compute reports another size; usage is kept
            totals[rp] = amount
            db.resource_provider_ensure(rp, "c", {"VCPU": amount, "MEMORY_MB": 4096,
                                                  "DISK_GB": 100})
        for each in providers:
            usage = db.usages_get(each)
            allocated = {}
            for allocation in db.allocations_get(rp_uuid=each):
                rc = allocation["resource_class"]
                allocated[rc] = allocated.get(rc, 0) + allocation["used"]
            assert usage == {rc: allocated.get(rc, 0) for rc in usage}
    db.close()


def test_database_is_a_context_manager(tmp_path):
    with Database(f"sqlite:///{tmp_path}/x.db") as db:
        db.ensure_default_flavors()
    with Database(f"sqlite:///{tmp_path}/x.db") as again:
        assert len(again.flavor_get_all()) == 5


def _blind_to_held_addresses(db, monkeypatch, times):
    """Make the first ``times`` address reads of ``floating_ip_allocate`` see no held
    address, as an allocation racing another one sees none of its rows."""
    real = db._tuples
    calls = {"blind": 0}

    def tuples(query, *args, **kwargs):
        if query is floating_ips_module._ADDRESSES and calls["blind"] < times:
            calls["blind"] += 1
            return []
        return real(query, *args, **kwargs)

    monkeypatch.setattr(db, "_tuples", tuples)
    return calls


def test_an_allocation_that_lost_its_address_takes_the_next(db, monkeypatch):
    pool = ["172.24.4.2", "172.24.4.3"]
    first = db.floating_ip_allocate("demo", "net-1", iter(pool))
    calls = _blind_to_held_addresses(db, monkeypatch, times=1)
    second = db.floating_ip_allocate("alt", "net-1", iter(pool))
    assert calls["blind"] == 1  # the first attempt hit the unique address, then a retry
    assert (first["address"], second["address"]) == ("172.24.4.2", "172.24.4.3")
    assert db.floating_ip_count("alt") == 1


def test_an_allocation_that_keeps_losing_gives_up_with_the_error(db, monkeypatch):
    db.floating_ip_allocate("demo", "net-1", ["172.24.4.2"])
    calls = _blind_to_held_addresses(db, monkeypatch, times=100)
    with pytest.raises(Exception) as raised:
        db.floating_ip_allocate("alt", "net-1", ["172.24.4.2"])
    assert db.is_duplicate_entry(raised.value)
    assert not db.is_duplicate_entry(ValueError("not a database error"))
    assert calls["blind"] == floating_ips_module.DUPLICATE_RETRIES + 1
    assert db.floating_ip_count("alt") == 0


def test_floating_ips_allocate_associate_and_release(db):
    pool = ["172.24.4.2", "172.24.4.3"]
    first = db.floating_ip_allocate("demo", "net-1", iter(pool))
    second = db.floating_ip_allocate("alt", "net-1", iter(pool))
    assert (first["address"], second["address"]) == ("172.24.4.2", "172.24.4.3")
    with pytest.raises(exception.NoMoreFloatingIps):
        db.floating_ip_allocate("demo", "net-1", iter(pool))
    assert db.floating_ip_allocate("demo", "net-2", iter([*pool, "172.24.4.4"]))[
        "address"] == "172.24.4.4"  # an address is held once, whatever the network
    assert [r["uuid"] for r in db.floating_ip_get_all("demo")][0] == first["uuid"]
    assert db.floating_ip_count("demo") == 2 and len(db.floating_ip_get_all()) == 3
    moved = db.floating_ip_associate(first["uuid"], "server-1", "10.0.0.5")
    assert (moved["instance_uuid"], moved["fixed_address"]) == ("server-1", "10.0.0.5")
    assert [r["uuid"] for r in db.floating_ip_get_by_instance("server-1")] == [first["uuid"]]
    assert db.floating_ip_get_by_address("172.24.4.4")["network_id"] == "net-2"
    cleared = db.floating_ip_associate(first["uuid"], None, None)
    assert cleared["instance_uuid"] is None
    db.floating_ip_destroy(first["uuid"])
    with pytest.raises(exception.FloatingIpNotFound):
        db.floating_ip_get(first["uuid"])
    with pytest.raises(exception.FloatingIpNotFound):
        db.floating_ip_destroy(first["uuid"])
    with pytest.raises(exception.FloatingIpNotFoundForAddress):
        db.floating_ip_get_by_address("192.0.2.1")


def test_volumes_attach_detach_and_destroy(db):
    made = db.volume_create({"project_id": "demo", "size": 2, "name": "v"})
    assert made["status"] == "available" and made["delete_on_termination"] is False
    attached = db.volume_attach(made["uuid"], "server-1", "/dev/vdb", True)
    assert attached["status"] == "in-use" and attached["delete_on_termination"] is True
    assert attached["attachment_id"] and attached["device"] == "/dev/vdb"
    assert [v["uuid"] for v in db.volume_get_by_instance("server-1")] == [made["uuid"]]
    assert [v["uuid"] for v in db.volume_get_all("demo")] == [made["uuid"]]
    assert db.volume_get_all("alt") == []
    detached = db.volume_detach(made["uuid"])
    assert detached["status"] == "available" and detached["instance_uuid"] is None
    db.volume_destroy(made["uuid"])
    with pytest.raises(exception.VolumeNotFound):
        db.volume_get(made["uuid"])
    with pytest.raises(exception.VolumeNotFound):
        db.volume_update(made["uuid"], {"name": "x"})
