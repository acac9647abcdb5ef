"""Fixtures for whole-cloud flows on the virtual clock.

``make_cloud(computes=..., **fake_driver_options)`` starts a one-process cloud (green://,
in-memory SQLite, zero-latency fake driver unless told otherwise) on a seeded virtual
clock; ``states`` records every (vm_state, task_state) an instance goes through in the
database, in order.
"""

from __future__ import annotations

import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.deploy import Cloud, new_conf, zero_latency


def make_conf(defaults: dict | None = None, **fake_driver):
    """A fresh conf with zero latencies, then the given [fake_driver] / [DEFAULT] options."""
    conf = zero_latency(new_conf())
    for name, value in fake_driver.items():
        conf.set_override(name, value, group="fake_driver")
    for name, value in (defaults or {}).items():
        group = None
        if "." in name:
            group, name = name.split(".", 1)
        conf.set_override(name, value, group=group)
    return conf


class StateRecorder:
    """Wraps ``db.instance_create`` / ``instance_update`` / ``instance_save`` to record
    each instance's (vm_state, task_state) history as the database saw it."""

    def __init__(self, db):
        self.history: dict[str, list[tuple]] = {}
        create, update, save = db.instance_create, db.instance_update, db.instance_save

        def recording_create(values):
            row = create(values)
            self._note(row)
            return row

        def recording_update(uuid, values, *args, **kwargs):
            row = update(uuid, values, *args, **kwargs)
            self._note(row)
            return row

        def recording_save(uuid, values, *args, **kwargs):
            row = save(uuid, values, *args, **kwargs)
            self._note(row)
            return row

        db.instance_create = recording_create
        db.instance_update = recording_update
        db.instance_save = recording_save

    def _note(self, row):
        states = self.history.setdefault(row["uuid"], [])
        state = (row["vm_state"], row["task_state"])
        if not states or states[-1] != state:
            states.append(state)

    def __getitem__(self, uuid):
        return self.history.get(uuid, [])


@pytest.fixture
def virtual_clock():
    with green.virtual_time(seed=42) as hub:
        yield hub


@pytest.fixture
def ctxt(virtual_clock):
    return nova_context.RequestContext(user_id="alice", project_id="demo", overwrite=False)


@pytest.fixture
def make_cloud(virtual_clock):
    clouds = []

    def factory(computes=2, defaults=None, driver_factory=None, **fake_driver):
        conf = make_conf(defaults, **fake_driver)
        cloud = Cloud(conf=conf, computes=computes, virtual=True,
                      driver_factory=driver_factory)
        cloud.start()
        cloud.states = StateRecorder(cloud.db)
        clouds.append(cloud)
        return cloud

    yield factory
    for cloud in clouds:
        cloud.stop()
