"""Fixtures of the scheduler tests: a database with compute hosts, and a manager."""

from __future__ import annotations

import random

import pytest
from scheduler_helpers import FakeClock

from nova_sim.conf import new_conf
from nova_sim.db import Database
from nova_sim.scheduler.manager import SchedulerManager


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
