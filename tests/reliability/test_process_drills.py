"""Process drills on a multi-process cloud over RabbitMQ (conductor, scheduler and a
compute, each its own ``nova-sim`` process, on one SQLite file; a virtual host of this
run's own; fails, not skips, under NOVA_SIM_REQUIRE_RABBIT=1).

What a user must see:

- ``kill -9`` of a compute with builds in flight: the compute is shown down once
  ``service_down_time`` has passed without a heartbeat; restarted, it puts the instances
  that were building on it in ERROR with no task (Nova's ``_init_instance``, which adds
  no fault either), and is shown up again.
- SIGTERM of a compute with builds in flight: the builds finish (ACTIVE) within the
  graceful time, and the process exits with status 0.

The services are other processes: waiting polls the shared database on the real clock.
"""

from __future__ import annotations

import uuid

import pytest
from integration.test_services_rabbit import (
    _delete_broker_objects,
    launch_service,
    stop_cloud,
    wait_until,
)

from nova_sim import context as nova_context
from nova_sim.compute.api import API
from nova_sim.deploy import new_conf, open_database
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.service import get_transport

pytestmark = [pytest.mark.slow, pytest.mark.reliability, pytest.mark.timeout(300)]

BOOTS = 3


@pytest.fixture
def drill_cloud(rabbit_url, tmp_path):
    """Conductor, scheduler and one compute whose spawns take ``spawn`` seconds; the
    compute's heartbeat every second, shown down after 4 s without one."""
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova_sim_drill_{tag}"
    hosts = {"controller": f"ctl-{tag}", "c1": f"c1-{tag}"}
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\n"
        f"transport_url = {rabbit_url}\ncontrol_exchange = {exchange}\n"
        f"host = {hosts['controller']}\nperiodic_fuzzy_delay = 0\n"
        "report_interval = 1\nservice_down_time = 4\ngraceful_shutdown_timeout = 60\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nova-sim.db'}\n"
        "[fake_driver]\nspawn_latency = fixed:8\n")
    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)
    processes = []

    def launch(*args):
        processes.append(launch_service(config, tmp_path, *args))
        return processes[-1][0]

    launch("conductor")
    launch("scheduler")
    transport = get_transport(conf)
    try:
        yield conf, db, transport, hosts, launch
    finally:
        stop_cloud(processes, transport, db)
        _delete_broker_objects(rabbit_url, exchange, hosts)


def _boot_and_wait_spawning(conf, db, transport, host):
    """Boot BOOTS servers; return them once the compute is spawning them all."""
    api = API(conf, db, transport)
    ctxt = nova_context.RequestContext(user_id="drill", project_id="drill", overwrite=False)

    def compute_ready():
        return any(node["host"] == host for node in db.compute_node_get_all())

    wait_until(compute_ready, 150, "the compute to register")
    instances = api.create(ctxt, "1", CIRROS_IMAGE_ID, "drill", min_count=BOOTS,
                           max_count=BOOTS)

    def spawning():
        rows = [db.instance_get(i["uuid"]) for i in instances]
        return all(r["host"] == host and r["task_state"] == "spawning" for r in rows)

    wait_until(spawning, 60, "the builds to reach the compute")
    return api, ctxt, instances


def _service_up(api, ctxt, host):
    return {s["host"]: s["up"] for s in api.service_list(ctxt)}.get(host)


def test_kill_9_of_a_compute_with_builds_in_flight(drill_cloud):
    conf, db, transport, hosts, launch = drill_cloud
    compute = launch("compute", "--host", hosts["c1"])
    api, ctxt, instances = _boot_and_wait_spawning(conf, db, transport, hosts["c1"])
    assert _service_up(api, ctxt, hosts["c1"])
    compute.kill()  # SIGKILL: no graceful anything
    compute.wait()
    wait_until(lambda: _service_up(api, ctxt, hosts["c1"]) is False, 30,
               "the compute to be shown down")
    assert all(db.instance_get(i["uuid"])["vm_state"] == "building" for i in instances)
    launch("compute", "--host", hosts["c1"])  # restarted: init_host

    def all_error():
        rows = [db.instance_get(i["uuid"]) for i in instances]
        return all(r["vm_state"] == "error" for r in rows)

    wait_until(all_error, 60, "the interrupted builds to be set to ERROR")
    for instance in instances:
        shown = api.get(ctxt, instance["uuid"])
        assert shown["vm_state"] == "error" and shown["task_state"] is None
    wait_until(lambda: _service_up(api, ctxt, hosts["c1"]), 30,
               "the restarted compute to be shown up")


def test_sigterm_of_a_compute_lets_its_builds_finish(drill_cloud):
    conf, db, transport, hosts, launch = drill_cloud
    compute = launch("compute", "--host", hosts["c1"])
    api, ctxt, instances = _boot_and_wait_spawning(conf, db, transport, hosts["c1"])
    compute.terminate()  # SIGTERM
    assert compute.wait(timeout=60) == 0
    rows = [db.instance_get(i["uuid"]) for i in instances]
    assert [(r["vm_state"], r["task_state"]) for r in rows] == [("active", None)] * BOOTS
