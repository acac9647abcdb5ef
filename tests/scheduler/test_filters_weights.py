"""Filters and weighers on hand-made HostStates."""

from __future__ import annotations

import pytest

from nova_sim.scheduler.filters import all_filters
from nova_sim.scheduler.filters.compute_capabilities_filter import extra_specs_match
from nova_sim.scheduler.filters.compute_filter import ComputeFilter
from nova_sim.scheduler.host_manager import HostState
from nova_sim.scheduler.weights import all_weighers, normalize, weigh_hosts
from nova_sim.scheduler.weights.io_ops import IoOpsWeigher
from nova_sim.scheduler.weights.ram import RAMWeigher


def state(host, free_ram=4096, io_ops=0, heartbeat=1000.0, disabled=False, forced=False):
    host_state = HostState(host, host, f"uuid-{host}")
    host_state.update_from_service(
        {"id": 1, "disabled": disabled, "forced_down": forced,
         "last_seen_up": None, "created_at": "1970-01-01T00:16:40.000000"},
        "nova",
    )
    host_state.last_heartbeat = heartbeat
    host_state.total_usable_ram_mb = free_ram
    host_state.num_io_ops = io_ops
    return host_state


def test_normalize():
    assert normalize([]) == []
    assert normalize([5, 5, 5]) == [0.0, 0.0, 0.0]
    assert normalize([0, 5, 10]) == [0.0, 0.5, 1.0]


def test_weigh_hosts_sums_multiplied_normalised_values():
    a, b, c = state("a", free_ram=1000, io_ops=0), state("b", 3000, 4), state("c", 2000, 1)
    ordered = weigh_hosts([RAMWeigher(1.0), IoOpsWeigher(-1.0)], [a, b, c], {})
    # a: 0 + 0 = 0; b: 1 - 1 = 0; c: 0.5 - 0.25 = 0.25
    assert [h.host for h in ordered] == ["c", "a", "b"]
    assert c.weight == pytest.approx(0.25)
    # Equal weights keep the candidates' order (stable sort).
    assert [h.host for h in weigh_hosts([RAMWeigher(0.0)], [b, a, c], {})] == ["b", "a", "c"]


def test_compute_filter_window():
    up = state("up", heartbeat=1000.0)
    late = state("late", heartbeat=939.0)
    disabled = state("off", heartbeat=1000.0, disabled=True)
    forced = state("forced", heartbeat=1000.0, forced=True)
    never = HostState("never", "never", "u")
    check = ComputeFilter(clock=lambda: 1000.0, service_down_time=60)
    passed = check.filter_all([up, late, disabled, forced, never], {})
    assert [h.host for h in passed] == ["up"]
    assert ComputeFilter(clock=lambda: 999.0 + 61, service_down_time=60).host_passes(up, {})


def test_extra_specs_operators():
    assert extra_specs_match(16, ">= 8") and not extra_specs_match(4, ">= 8")
    assert extra_specs_match(16, "= 8")
    assert extra_specs_match("fake", "s== fake") and extra_specs_match("fake", "fake")
    assert extra_specs_match("kvm", "<or> fake <or> kvm")
    assert not extra_specs_match("qemu", "<or> fake <or> kvm")


def test_registries_hold_novas_names():
    assert {
        "AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
    } <= set(all_filters())
    assert set(all_weighers()) == {
        "RAMWeigher", "CPUWeigher", "DiskWeigher", "IoOpsWeigher", "NumInstancesWeigher",
        "BuildFailureWeigher", "ServerGroupSoftAffinityWeigher",
        "ServerGroupSoftAntiAffinityWeigher",
    }
    assert {cls.option for cls in all_weighers().values()} == {
        "ram_weight_multiplier", "cpu_weight_multiplier", "disk_weight_multiplier",
        "io_ops_weight_multiplier", "num_instances_weight_multiplier",
        "build_failure_weight_multiplier", "soft_affinity_weight_multiplier",
        "soft_anti_affinity_weight_multiplier",
    }
