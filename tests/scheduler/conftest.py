"""Fixtures of the scheduler tests: a database with compute hosts, and a manager."""

from __future__ import annotations

import random

import pytest

from nova_sim.conf import new_conf
from nova_sim.db import Database
from nova_sim.scheduler.manager import SchedulerManager
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


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def db(clock):
    database = Database(clock=clock)
    database.ensure_default_flavors()
    yield database
    database.close()


@pytest.fixture
def conf():
    return new_conf()


@pytest.fixture
def make_manager(db, conf):
    def make(**overrides):
        for key, value in overrides.items():
            group, _, name = key.rpartition("__")
            conf.set_override(name, value, group or None)
        return SchedulerManager(db=db, conf=conf, random=random.Random(42))

    return make


@pytest.fixture
def small(db):
    return {"flavor": db.flavor_get_by_flavor_id("2"), "project_id": "p1", "user_id": "u1"}
