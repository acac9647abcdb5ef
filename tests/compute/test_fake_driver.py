"""The fake hypervisor: capacity, latency on the hub clock, seeded failure injection."""

from __future__ import annotations

import pytest

from nova_sim import exception, green
from nova_sim.compute import power_state
from nova_sim.deploy import new_conf
from nova_sim.virt.fake import FakeDriver, InjectedSpawnFailure

INSTANCE = {"uuid": "u1", "display_name": "vm", "vcpus": 2, "memory_mb": 1024, "root_gb": 10}


def test_capacity_comes_from_the_fake_driver_options():
    conf = new_conf()
    conf.set_override("vcpus", 8, group="fake_driver")
    driver = FakeDriver(conf, "c1")
    resources = driver.get_available_resource("c1")
    assert (resources["vcpus"], resources["memory_mb"], resources["local_gb"]) == (
        8, 65536, 1024)
    assert driver.get_available_nodes() == ["c1"]


def test_operations_sleep_their_latency_on_the_virtual_clock():
    conf = new_conf()
    conf.set_override("spawn_latency", "fixed:1.5", group="fake_driver")
    conf.set_override("stop_latency", "uniform:0.2,0.5", group="fake_driver")
    with green.virtual_time(seed=1):
        driver = FakeDriver(conf, "c1")
        driver.spawn(None, dict(INSTANCE))
        assert green.now() == 1.5
        assert driver.get_info(INSTANCE).state == power_state.RUNNING
        driver.power_off(INSTANCE)
        assert 1.7 <= green.now() <= 2.0
        assert driver.get_info(INSTANCE).state == power_state.SHUTDOWN
        driver.reboot(None, INSTANCE, reboot_type="HARD")
        assert driver.get_info(INSTANCE).state == power_state.RUNNING
        assert driver.get_available_resource("c1")["memory_mb_used"] == 1024
        driver.destroy(None, INSTANCE)
        assert driver.list_instance_uuids() == []
        with pytest.raises(exception.InstanceNotFound):
            driver.get_info(INSTANCE)


def test_failure_injection_is_seeded_and_per_host():
    def failures(seed):
        with green.virtual_time(seed=seed):
            driver = FakeDriver(new_conf(), "c1", spawn_failure_rate=0.3)
            result = []
            for number in range(50):
                try:
                    driver.spawn(None, {**INSTANCE, "uuid": f"u{number}"})
                    result.append(False)
                except InjectedSpawnFailure:
                    result.append(True)
            return result

    first = failures(7)
    assert first == failures(7)
    assert 5 <= sum(first) <= 25
    always = FakeDriver(new_conf(), "bad", failing_hosts=["bad"])
    with green.virtual_time():
        with pytest.raises(InjectedSpawnFailure):
            always.spawn(None, dict(INSTANCE))
