"""Faults on the timeline: each kind shows in the run and in its results."""

from __future__ import annotations

import pytest

from nova_sim.sim import cloudspec

from .conftest import small_cloud, workload

BOOTS = workload("NovaServers.boot_server", {"rps": {"times": 6, "rps": 1}})


def test_compute_crash_and_restart_puts_builds_in_error(run):
    # one host, spawns of 5 s: the crash at 2.5 s catches builds in flight
    cloud = small_cloud(hosts=1, options={"fake_driver": {"spawn_latency": "fixed:5"}},
                        faults=[{"kind": "compute_crash", "hosts": ["g-1"], "at": 2.5,
                                 "until": 20}])
    result = run(workload("NovaServers.boot_server", {"rps": {"times": 3, "rps": 1}}), cloud)
    assert [(e["kind"], e["event"], e["time"]) for e in result.faults] == [
        ("compute_crash", "start", 2.5), ("compute_crash", "end", 20.0)]
    errors = [it["error"][0] if it["error"] else None for it in result.iterations]
    # caught mid-build: init_host at 20 s sets them to ERROR, which the poll sees
    assert errors.count("GetResourceErrorStatus") >= 2


def test_compute_slow_makes_spawns_longer(run):
    base = small_cloud(hosts=1, options={"fake_driver": {"spawn_latency": "fixed:1"}})
    slow = small_cloud(hosts=1, options={"fake_driver": {"spawn_latency": "fixed:1"}},
                       faults=[{"kind": "compute_slow", "group": "g", "factor": 4}])
    fast, slower = run(BOOTS, base).nova, run(BOOTS, slow).nova
    assert set(fast["phases"]["spawn"]) == {1.0} and set(slower["phases"]["spawn"]) == {4.0}
    assert slower["hypervisor_busy_fraction"] > fast["hypervisor_busy_fraction"] > 0


def test_bus_down_holds_messages_until_it_is_back(run):
    cloud = small_cloud(faults=[{"kind": "bus_down", "at": 0.5, "until": 30}])
    result = run(BOOTS, cloud)
    assert result.nova["bus_held_messages"] > 0
    late = [it for it in result.iterations if it["timestamp"] - result.start_time >= 1]
    assert all(it["duration"] >= 25 for it in late)


def test_bus_slow_and_db_slow_add_time(run):
    base = run(BOOTS).nova["phases"]["boot"]
    for fault in ({"kind": "bus_slow", "delay": 0.05}, {"kind": "db_slow", "delay": 0.05}):
        slower = run(BOOTS, small_cloud(faults=[fault])).nova["phases"]["boot"]
        assert sum(slower) / len(slower) > sum(base) / len(base) + 0.2, fault


def test_build_failures_reschedule_per_host_group(run):
    cloud = cloudspec.parse_cloud({
        "host_groups": [{"name": "bad", "count": 1}, {"name": "good", "count": 1}],
        "faults": [{"kind": "build_failures", "group": "bad", "probability": 1.0}]})
    result = run(BOOTS, cloud)
    assert all(not it["error"] for it in result.iterations)
    assert result.nova["reschedules"] > 0


@pytest.mark.parametrize("fault, message", [
    ({"kind": "meteor"}, "unsupported fault kind 'meteor'"),
    ({"kind": "bus_down", "at": 1}, "needs 'until'"),
    ({"kind": "compute_crash", "hosts": ["nope"]}, "unknown host 'nope'"),
    ({"kind": "db_slow", "at": 5, "until": 2}, "until must be after at"),
])
def test_bad_faults_are_refused(fault, message):
    with pytest.raises(cloudspec.CloudError, match=message):
        small_cloud(faults=[fault])


def test_cloud_file_checks_options():
    with pytest.raises(cloudspec.CloudError, match=r"\[filter_scheduler\] nope"):
        small_cloud(options={"filter_scheduler": {"nope": 1}})
    with pytest.raises(cloudspec.CloudError, match="unsupported key 'racks'"):
        cloudspec.parse_cloud({"racks": 2})


def test_a_fault_still_on_when_the_load_ends_is_ended_then(run):
    cloud = small_cloud(faults=[{"kind": "db_slow", "at": 1, "until": 1000, "delay": 0.01}])
    result = run(workload("NovaServers.boot_server", {"serial": {"times": 1}}), cloud)
    assert [(e["event"], e["time"]) for e in result.faults] == [
        ("start", 1.0), ("end", result.load_duration)]
    assert 3.0 < result.load_duration < 4.0  # the slow database's toll
