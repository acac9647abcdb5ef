"""Fixtures of the trace tests: a traced boot of a one-process cloud on the virtual clock.

``boot_run`` (module scope): the records and request id of one boot through the REST API
(``nova_sim.deploy.trace_example.boot``), plus what the database said about it (the instance
actions and the instance's state history).
"""

from __future__ import annotations

import pytest

from nova_sim.deploy import trace_example
from nova_sim.trace import store
from nova_sim.trace.model import TraceSet


class BootRun:
    def __init__(self, seed: int = 11):
        self.actions: list[dict] = []
        self.events: list[dict] = []

        def inspect(cloud, uuids):
            self.uuid = uuids[0]
            [action] = cloud.db.actions_get(uuids[0])
            self.actions = [action]
            self.events = list(cloud.db.action_events_get(action["id"]))

        self.records, self.request_ids = trace_example.boot(seed=seed, inspect=inspect)
        self.request_id = self.request_ids[0]
        self.all = TraceSet(store.merge(self.records))
        self.traces = self.all.select(request_id=self.request_id)


@pytest.fixture(scope="module")
def boot_run() -> BootRun:
    return BootRun()
