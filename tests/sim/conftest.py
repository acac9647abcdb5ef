"""Helpers of the simulator's tests: tasks from dicts, small clouds, one-call runs."""

from __future__ import annotations

import pytest

from nova_sim.sim import cloudspec, engine
from nova_sim.sim.task import task_from_config

IMAGE = {"name": "^cirros.*-disk$"}
FLAVOR = {"name": "m1.tiny"}


def workload(scenario, runner=None, args=None, contexts=None, sla=None):
    """A v2 task with one workload (image and flavor filled in for booting scenarios)."""
    entry = {"scenario": {scenario: args if args is not None else {
        "image": IMAGE, "flavor": FLAVOR}}}
    if runner is not None:
        entry["runner"] = runner
    if contexts is not None:
        entry["contexts"] = contexts
    if sla is not None:
        entry["sla"] = sla
    return task_from_config({"version": 2, "title": "t", "subtasks": [
        {"title": "s", "workloads": [entry]}]})


def small_cloud(hosts=2, faults=None, options=None, **group):
    """A checked cloud spec of ``hosts`` hosts (group ``g``)."""
    return cloudspec.parse_cloud({
        "host_groups": [{"name": "g", "count": hosts, **group}],
        "options": options or {},
        "faults": faults or [],
    })


@pytest.fixture
def run():
    def runner(task, cloud=None, seed=1, **kwargs):
        result = engine.run_task(task, cloud or small_cloud(), seed=seed, **kwargs)
        return result.workloads[0]
    return runner
