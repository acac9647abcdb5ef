"""Two scheduler processes racing to fill the same hosts on one database: an SQLite file,
MariaDB and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from scheduler_helpers import add_compute

from nova_sim.db import Database

pytestmark = pytest.mark.slow  # scheduler processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCHEDULER_SCRIPT = r"""
import json, sys
from nova_sim import exception
from nova_sim.conf import new_conf
from nova_sim.db import Database
from nova_sim.scheduler.manager import SchedulerManager

url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = Database(url, busy_timeout=60)
manager = SchedulerManager(db=db, conf=new_conf())
spec = {"flavor": db.flavor_get_by_flavor_id("2"), "project_id": "p", "user_id": "u"}
sys.stdin.readline()  # both start together
placed = failed = 0
for index in range(count):
    try:
        manager.select_destinations(None, spec, [f"{name}-{index}"], return_objects=True,
                                    return_alternates=True)
        placed += 1
    except exception.NoValidHost:
        failed += 1
print(json.dumps({"placed": placed, "failed": failed}))
"""


def test_two_scheduler_processes_never_overfill_a_host(shared_database_url):
    url = shared_database_url
    db = Database(url)
    db.ensure_default_flavors()
    # 6 hosts x 4 vCPUs (ratio 1) = 24 m1.small; the schedulers ask for 40.
    nodes = [add_compute(db, f"c{index}", vcpus=4, memory_mb=65536) for index in range(6)]
    env = dict(os.environ, PYTHONPATH=ROOT)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_SCRIPT, url, name, "20"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )
        for name in ("s1", "s2")
    ]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=90)
        assert process.returncode == 0
        results.append(json.loads(out))
    assert sum(r["placed"] for r in results) == 24
    assert sum(r["failed"] for r in results) == 16
    for node in nodes:
        assert db.usages_get(node["uuid"])["VCPU"] == 4
        assert len({a["consumer_uuid"] for a in db.allocations_get(rp_uuid=node["uuid"])}) == 4
    db.close()
