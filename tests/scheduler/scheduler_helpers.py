"""Helpers of the scheduler tests (a module of its own: ``conftest`` is an ambiguous name
to import when several test directories have one)."""

from __future__ import annotations

from nova_sim.scheduler.utils import compute_node_inventory


class FakeClock:
    """Seconds since the epoch that a test moves by hand."""

    def __init__(self, start: float = 1767225600.0):
        self.value = start

    def __call__(self) -> float:
        return self.value


def add_compute(db, host, vcpus=4, memory_mb=8192, local_gb=100, cpu_ratio=1.0,
                ram_ratio=1.0, zone=None, stats=None, heartbeat=True):
    """A nova-compute service, its node and its resource provider (as the conductor
    records a compute's start-up and first report)."""
    service = db.service_create(
        {"binary": "nova-compute", "host": host, "topic": "compute",
         "availability_zone": zone}
    )
    if heartbeat:
        db.service_heartbeat(service["id"])
    node = db.compute_node_create_or_update(
        {"host": host, "vcpus": vcpus, "memory_mb": memory_mb, "local_gb": local_gb,
         "cpu_allocation_ratio": cpu_ratio, "ram_allocation_ratio": ram_ratio,
         "service_id": service["id"], "stats": stats or {}}
    )
    db.resource_provider_ensure(node["uuid"], host, compute_node_inventory(node))
    return node
