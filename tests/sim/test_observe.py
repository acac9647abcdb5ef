"""The sampler's host figures: what a plain pass over every host gives, at any moment."""

from __future__ import annotations

from types import SimpleNamespace

from nova_sim import green
from nova_sim.sim import observe

FLAVOR = {"ram": 2048, "vcpus": 2}


def _driver(group, vcpus, memory_mb):
    return SimpleNamespace(group=group, vcpus=vcpus, memory_mb=memory_mb, instances={},
                           operations=0)


def _reference(drivers, conf):
    """Every host's use, summed in the drivers' order (the figures' definition)."""
    cpu_ratio, ram_ratio = conf.cpu_allocation_ratio, conf.ram_allocation_ratio
    used_vcpus = total_vcpus = used_ram = total_ram = free_ram = stranded_ram = 0
    aggregates: dict = {}
    for driver in drivers.values():
        vcpus = sum(g["vcpus"] for g in driver.instances.values())
        ram = sum(g["memory_mb"] for g in driver.instances.values())
        use = aggregates.setdefault("agg-" + driver.group, [0, 0, 0, 0])
        use[0] += vcpus
        use[1] += driver.vcpus
        use[2] += ram
        use[3] += driver.memory_mb
        used_vcpus += vcpus
        used_ram += ram
        total_vcpus += driver.vcpus
        total_ram += driver.memory_mb
        free = max(0, driver.memory_mb * ram_ratio - conf.reserved_host_memory_mb - ram)
        free_ram += free
        if not (free >= FLAVOR["ram"] and driver.vcpus * cpu_ratio - vcpus >= FLAVOR["vcpus"]):
            stranded_ram += free
    return {
        "hypervisor_operations": sum(d.operations for d in drivers.values()),
        "vcpu_used": round(used_vcpus / total_vcpus, 6),
        "ram_used": round(used_ram / total_ram, 6),
        "fragmentation": round(stranded_ram / free_ram, 6) if free_ram else 0.0,
        "by_aggregate": {name: {"vcpu_used": round(u[0] / u[1], 6),
                                "ram_used": round(u[2] / u[3], 6)}
                         for name, u in sorted(aggregates.items())},
    }


def test_samples_match_a_pass_over_every_host():
    conf = SimpleNamespace(cpu_allocation_ratio=4.0, ram_allocation_ratio=1.5,
                           initial_cpu_allocation_ratio=16.0,
                           initial_ram_allocation_ratio=1.5, reserved_host_memory_mb=512)
    drivers = {f"h{n}": _driver("big" if n % 3 else "small", 8 if n % 3 else 2,
                                16384 if n % 3 else 3072) for n in range(12)}
    sim = SimpleNamespace(
        drivers=drivers, cloud=SimpleNamespace(conf=conf),
        spec=SimpleNamespace(host_groups=[SimpleNamespace(name="big", aggregate="agg-big"),
                                          SimpleNamespace(name="small",
                                                          aggregate="agg-small")]))
    observer = observe.RPCObserver()
    with green.virtual_time():
        sampler = observe.Sampler(sim, observer, 1.0, FLAVOR)
        moments = []
        for step in range(6):
            if step == 1:
                drivers["h1"].instances["a"] = {"vcpus": 2, "memory_mb": 2048}
                drivers["h0"].instances["b"] = {"vcpus": 1, "memory_mb": 1024}
                drivers["h0"].operations = 1
            if step == 2:  # a host filled up: its free RAM is stranded
                drivers["h0"].instances["c"] = {"vcpus": 1, "memory_mb": 1536}
            if step == 3:
                drivers["h1"].instances.clear()
                drivers["h0"].operations = 0
            if step == 4:  # a host more
                drivers["h12"] = _driver("small", 2, 3072)
                drivers["h12"].instances["d"] = {"vcpus": 2, "memory_mb": 512}
            if step == 5:  # another allocation ratio
                conf.ram_allocation_ratio = 1.0
            sample = sampler.sample()
            figures = {key: sample[key] for key in (
                "hypervisor_operations", "vcpu_used", "ram_used", "fragmentation",
                "by_aggregate")}
            assert figures == _reference(drivers, conf), step
            moments.append(figures)
    assert moments[0]["vcpu_used"] == 0.0 and moments[1]["vcpu_used"] > 0
    assert moments[2]["fragmentation"] > moments[1]["fragmentation"]
    assert moments[1]["hypervisor_operations"] == 1
