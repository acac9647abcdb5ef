"""Two scheduler processes behind one RabbitMQ topic, racing on one database file.

The test process is the conductor: it makes 40 concurrent ``select_destinations`` calls
(greenthreads); the broker hands them to both scheduler processes; 24 fit. No host may
end up over its capacity, and both processes must have served calls. A unique exchange
and topic keep the test apart from anything else on the broker; both are deleted after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from scheduler_helpers import add_compute

from nova_sim import exception, green
from nova_sim.conf import new_conf
from nova_sim.context import RequestContext
from nova_sim.db import Database
from nova_sim.rpc import get_transport
from nova_sim.scheduler.rpcapi import SchedulerAPI

pytestmark = pytest.mark.slow  # scheduler processes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCHEDULER_PROCESS = r"""
import json, os, sys
from nova_sim import green, rpc
from nova_sim.conf import new_conf
from nova_sim.context import RequestContextSerializer
from nova_sim.db import Database
from nova_sim.scheduler.manager import SchedulerManager

db_url, rabbit_url, exchange, topic, name, stop_file = sys.argv[1:7]
conf = new_conf()
conf.set_override("control_exchange", exchange)
db = Database(db_url, busy_timeout=60)
manager = SchedulerManager(db=db, conf=conf)
served = [0]
select = manager.select_destinations

def counting_select(*args, **kwargs):
    served[0] += 1
    return select(*args, **kwargs)

manager.select_destinations = counting_select
transport = rpc.get_transport(rabbit_url, conf)
server = rpc.RPCServer(transport, rpc.Target(topic=topic, server=name), [manager],
                       serializer=RequestContextSerializer())
server.start()
print("ready", flush=True)
while not os.path.exists(stop_file):
    green.sleep(0.05)
server.stop()
server.wait()
transport.cleanup()
print(json.dumps({"served": served[0]}), flush=True)
"""


def _delete_broker_objects(rabbit_url, exchange, topic, servers):
    import kombu

    with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as connection:
        for name in [topic, *(f"{topic}.{server}" for server in servers)]:
            try:
                connection.channel().queue_delete(name)
            except Exception:  # noqa: BLE001 - not there
                pass
        for name in (exchange, f"{topic}_fanout"):
            try:
                connection.channel().exchange_delete(name)
            except Exception:  # noqa: BLE001 - not there
                pass


def test_two_scheduler_processes_over_rabbitmq_never_overfill(rabbit_url, tmp_path):
    tag = uuid.uuid4().hex[:8]
    exchange, topic = f"nova_sim_sched_{tag}", f"scheduler_{tag}"
    servers = (f"s1-{tag}", f"s2-{tag}")
    db_url = f"sqlite:///{tmp_path}/cloud.db"
    stop_file = tmp_path / "stop"
    db = Database(db_url)
    db.ensure_default_flavors()
    nodes = [add_compute(db, f"c{index}", vcpus=4, memory_mb=65536) for index in range(6)]
    env = dict(os.environ, PYTHONPATH=ROOT)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_PROCESS, db_url, rabbit_url, exchange, topic,
             name, str(stop_file)],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        for name in servers
    ]
    transport = None
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        conf = new_conf()
        conf.set_override("control_exchange", exchange)
        transport = get_transport(rabbit_url, conf, allowed_remote_exmods=["nova_sim.exception"])
        api = SchedulerAPI(transport, conf, topic=topic)
        spec = {"flavor": db.flavor_get_by_flavor_id("2"), "project_id": "p", "user_id": "u"}

        def boot(index):
            try:
                api.select_destinations(RequestContext(overwrite=False), spec, [f"vm{index}"],
                                        return_alternates=True)
                return "placed"
            except exception.NoValidHost:
                return "no valid host"

        pool = green.GreenPool(40)
        outcomes = list(pool.imap(boot, range(40)))
        assert outcomes.count("placed") == 24
        assert outcomes.count("no valid host") == 16
        for node in nodes:
            assert db.usages_get(node["uuid"])["VCPU"] == 4
    finally:
        stop_file.touch()
        served = []
        for process in processes:
            out, _ = process.communicate(timeout=60)
            served.append(json.loads(out.strip().splitlines()[-1])["served"])
        if transport is not None:
            transport.cleanup()
        _delete_broker_objects(rabbit_url, exchange, topic, servers)
        db.close()
    assert sum(served) == 40 and min(served) > 0, served
