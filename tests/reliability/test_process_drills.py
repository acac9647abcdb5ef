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
- ``kill -9`` of the conductor with builds in flight: the compute's calls to it time out
  (the builds fail, the heartbeat fails, both logged; the compute is shown down, its
  heartbeat going through the conductor), the boots cast meanwhile wait in its queue.
  Restarted, it builds those (ACTIVE); the failed builds end in ERROR with a fault.
- ``kill -9`` of the scheduler: boots time out in the conductor's call after
  ``rpc_response_timeout`` and go to ERROR with a fault, logged by the conductor;
  restarted, it places new boots.
- 10 broker restarts during 100 boots, with ``amqp_durable_queues``: none is left in BUILD;
  any that failed (a call whose reply queue the restart took) is in ERROR with a fault.
  A restart is played on this run's virtual host only (every connection to it closed by
  the broker, its non-durable queues deleted), so that the broker other runs share is
  not restarted under them.

The services are other processes: waiting polls the shared database on the real clock.
"""

from __future__ import annotations

import collections
import dataclasses
import pathlib
import subprocess
import uuid
from typing import Any, Callable

import kombu
import pytest
from integration.test_services_rabbit import (
    _delete_broker_objects,
    launch_service,
    stop_cloud,
    wait_until,
)

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.compute.api import API
from nova_sim.deploy import new_conf, open_database
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.service import get_transport

pytestmark = [pytest.mark.slow, pytest.mark.reliability, pytest.mark.timeout(300)]

BOOTS = 3


@dataclasses.dataclass
class Drill:
    """A drill's cloud: its options, database, transport (the test process is the API),
    host names, broker URL and log directory; ``launch(*args)`` starts one more service
    process (``nova-sim ARGS...``), ``services`` holds the last started per service
    (``conductor``, ``scheduler``, ``compute c1-...``)."""

    conf: Any
    db: Any
    transport: Any
    hosts: dict[str, str]
    url: str
    log_dir: pathlib.Path
    launch: Callable[..., subprocess.Popen]
    services: dict[str, subprocess.Popen]

    def log(self, *args: str) -> str:
        """What the service started with ``args`` wrote to its log so far."""
        return (self.log_dir / f"{'-'.join(args)}.log").read_text()


@pytest.fixture
def drill_cloud(rabbit_url, tmp_path, request):
    """Conductor and scheduler (``launch`` starts more services) on a cloud whose spawns
    take 8 s (or, parametrized indirectly, with these extra config lines); heartbeats
    every second, a service shown down after 4 s without one (by default)."""
    extra = getattr(request, "param", "[DEFAULT]\nservice_down_time = 4\n"
                    "[fake_driver]\nspawn_latency = fixed:8\n")
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova_sim_drill_{tag}"
    hosts = {"controller": f"ctl-{tag}", "c1": f"c1-{tag}", "c2": f"c2-{tag}"}
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\n"
        f"transport_url = {rabbit_url}\ncontrol_exchange = {exchange}\n"
        f"host = {hosts['controller']}\nperiodic_fuzzy_delay = 0\n"
        "report_interval = 1\ngraceful_shutdown_timeout = 60\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nova-sim.db'}\n" + extra)
    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)
    processes = []
    services: dict[str, subprocess.Popen] = {}

    def launch(*args):
        processes.append(launch_service(config, tmp_path, *args))
        services[" ".join(a for a in args if a != "--host")] = processes[-1][0]
        return processes[-1][0]

    launch("conductor")
    launch("scheduler")
    transport = get_transport(conf)
    try:
        yield Drill(conf, db, transport, hosts, rabbit_url, tmp_path, launch, services)
    finally:
        stop_cloud(processes, transport, db)
        _delete_broker_objects(rabbit_url, exchange, hosts)


def _api(drill):
    """The compute API of the test process, and a context of the drill's project."""
    ctxt = nova_context.RequestContext(user_id="drill", project_id="drill", overwrite=False)
    return API(drill.conf, drill.db, drill.transport), ctxt


def _wait_for_compute(db, host):
    wait_until(lambda: any(node["host"] == host for node in db.compute_node_get_all()),
               150, "the compute to register")


def _boot_and_wait_spawning(drill, host):
    """Boot BOOTS servers; return them once the compute is spawning them all."""
    db = drill.db
    api, ctxt = _api(drill)
    _wait_for_compute(db, host)
    instances = api.create(ctxt, "1", CIRROS_IMAGE_ID, "drill", min_count=BOOTS,
                           max_count=BOOTS)

    def spawning():
        rows = [db.instance_get(i["uuid"]) for i in instances]
        return all(r["host"] == host and r["task_state"] == "spawning" for r in rows)

    wait_until(spawning, 60, "the builds to reach the compute")
    return api, ctxt, instances


def _service_up(api, ctxt, host, binary="nova-compute"):
    return {(s["host"], s["binary"]): s["up"] for s in api.service_list(ctxt)}.get(
        (host, binary))


def test_kill_9_of_a_compute_with_builds_in_flight(drill_cloud):
    db, hosts, launch = drill_cloud.db, drill_cloud.hosts, drill_cloud.launch
    compute = launch("compute", "--host", hosts["c1"])
    api, ctxt, instances = _boot_and_wait_spawning(drill_cloud, hosts["c1"])
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
    db, hosts, launch = drill_cloud.db, drill_cloud.hosts, drill_cloud.launch
    compute = launch("compute", "--host", hosts["c1"])
    api, ctxt, instances = _boot_and_wait_spawning(drill_cloud, hosts["c1"])
    compute.terminate()  # SIGTERM
    assert compute.wait(timeout=60) == 0
    rows = [db.instance_get(i["uuid"]) for i in instances]
    assert [(r["vm_state"], r["task_state"]) for r in rows] == [("active", None)] * BOOTS


def _states(db, instances):
    return [(row["vm_state"], row["task_state"])
            for row in (db.instance_get(i["uuid"]) for i in instances)]


@pytest.mark.parametrize("drill_cloud", [
    "[DEFAULT]\nservice_down_time = 4\nrpc_response_timeout = 6\n"
    "instance_build_timeout = 30\n[fake_driver]\nspawn_latency = fixed:3\n"],
    indirect=True, ids=["rpc_response_timeout=6"])
def test_kill_9_of_the_conductor_with_boots_in_flight(drill_cloud):
    """The compute's calls to a dead conductor time out (its builds in flight fail, its
    heartbeat too, both logged); casts to it wait in its queue. Restarted, the conductor
    serves what waited (those boots end ACTIVE), the failed builds end in ERROR with a
    fault (set by the compute once its calls are answered again, else by its
    ``instance_build_timeout`` check), and the services are shown up again."""
    drill = drill_cloud
    db, c1 = drill.db, drill.hosts["c1"]
    controller = drill.hosts["controller"]
    drill.launch("compute", "--host", c1)
    api, ctxt, in_flight = _boot_and_wait_spawning(drill, c1)
    conductor = drill.services["conductor"]
    conductor.kill()  # SIGKILL
    conductor.wait()
    queued = api.create(ctxt, "1", CIRROS_IMAGE_ID, "queued", min_count=BOOTS,
                        max_count=BOOTS)  # the cast waits in the conductor's queue

    def builds_failed():
        log = drill.log("compute", "--host", c1)
        return all(f"Build of instance {i['uuid']} failed" in log for i in in_flight)

    wait_until(builds_failed, 60, "the compute's builds to fail on the dead conductor")
    log = drill.log("compute", "--host", c1)
    assert "MessagingTimeout" in log
    assert f"Heartbeat of nova-compute on {c1} failed" in log
    # Nobody could write: the builds in flight are still BUILD, the queued ones too.
    assert all(vm == "building" for vm, _ in _states(db, in_flight + queued))
    wait_until(lambda: _service_up(api, ctxt, controller, "nova-conductor") is False
               and _service_up(api, ctxt, c1) is False, 30,
               "the conductor and the compute (its heartbeat goes through the "
               "conductor) to be shown down")

    drill.launch("conductor")
    restarted = green.now()
    wait_until(lambda: all(vm == "active" for vm, _ in _states(db, queued)), 60,
               "the boots queued meanwhile to be built")
    wait_until(lambda: all(vm == "error" for vm, _ in _states(db, in_flight)), 120,
               "the failed builds to be set to ERROR")
    settled = green.now() - restarted
    faults = []
    for instance in in_flight:
        shown = api.get(ctxt, instance["uuid"])
        assert shown["task_state"] is None and shown["fault"]["message"], shown
        faults.append(shown["fault"]["message"][:50])
    print(f"\nkill -9 of the conductor: {BOOTS} queued boots ACTIVE, {BOOTS} builds in "
          f"flight ERROR {faults}, {settled:.0f} s after the restart")
    wait_until(lambda: _service_up(api, ctxt, controller, "nova-conductor")
               and _service_up(api, ctxt, c1), 30, "the services to be shown up again")
    assert f"Recovered from being unable to report status of {c1}" in drill.log(
        "compute", "--host", c1)


@pytest.mark.parametrize("drill_cloud", [
    "[DEFAULT]\nservice_down_time = 4\nrpc_response_timeout = 5\n"
    "[fake_driver]\nspawn_latency = fixed:0.5\n"],
    indirect=True, ids=["rpc_response_timeout=5"])
def test_kill_9_of_the_scheduler(drill_cloud):
    """Boots while the scheduler is dead: the conductor's ``select_destinations`` call
    gets no answer and no heartbeat, times out after ``rpc_response_timeout`` (the call
    monitor's timeout), and the servers go to ERROR with a fault; the conductor logs it.
    Restarted, the scheduler places new boots (ACTIVE)."""
    drill = drill_cloud
    db, c1 = drill.db, drill.hosts["c1"]
    controller = drill.hosts["controller"]
    drill.launch("compute", "--host", c1)
    _wait_for_compute(db, c1)
    api, ctxt = _api(drill)
    scheduler = drill.services["scheduler"]
    scheduler.kill()  # SIGKILL
    scheduler.wait()
    wait_until(lambda: _service_up(api, ctxt, controller, "nova-scheduler") is False, 30,
               "the scheduler to be shown down")
    started = green.now()
    unplaced = api.create(ctxt, "1", CIRROS_IMAGE_ID, "unplaced", min_count=BOOTS,
                          max_count=BOOTS)
    wait_until(lambda: all(vm == "error" for vm, _ in _states(db, unplaced)), 60,
               "the boots to fail")
    took = green.now() - started
    assert took < 30  # the 5 s call-monitor timeout, not long_rpc_timeout (1800 s)
    for instance in unplaced:
        shown = api.get(ctxt, instance["uuid"])
        assert shown["task_state"] is None
        assert "Timed out waiting for a reply" in shown["fault"]["message"], shown["fault"]
    log = drill.log("conductor")
    assert "Scheduling of" in log and "MessagingTimeout" in log

    drill.launch("scheduler")
    wait_until(lambda: _service_up(api, ctxt, controller, "nova-scheduler"), 60,
               "the restarted scheduler to be shown up")
    placed = api.create(ctxt, "1", CIRROS_IMAGE_ID, "placed", min_count=BOOTS,
                        max_count=BOOTS)
    wait_until(lambda: all(vm == "active" for vm, _ in _states(db, placed)), 60,
               "the boots after the restart to be built")
    # The request that timed out was still in the scheduler's queue (its expiration is
    # the call's long_rpc_timeout): the restarted scheduler served it, and the claims it
    # made for the ERROR servers are theirs until they are deleted.
    stale = sum(bool(db.allocations_get(consumer_uuid=i["uuid"])) for i in unplaced)
    for instance in unplaced:
        api.delete(ctxt, instance["uuid"])
    assert not any(db.allocations_get(consumer_uuid=i["uuid"]) for i in unplaced)
    print(f"\nkill -9 of the scheduler: {BOOTS} boots ERROR after {took:.1f} s, {BOOTS} "
          f"ACTIVE after the restart; ERROR servers holding an allocation until deleted: "
          f"{stale}")


def _restart_vhost(url: str) -> None:
    """A broker restart as the clients of one virtual host see it: the broker closes
    their connections, and their non-durable queues are gone."""
    vhost = url.rsplit("/", 1)[1]
    subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "--vhost", vhost,
                    "drill: broker restart"], check=True, capture_output=True, timeout=60)
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost,
                             "--no-table-headers", "name", "durable"], check=True,
                            capture_output=True, text=True, timeout=60)
    with kombu.Connection(url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        for line in listed.stdout.splitlines():
            name, durable = line.split("\t")
            if durable != "true":
                try:
                    channel.queue_delete(name)
                except Exception:  # noqa: BLE001 - already gone
                    channel = connection.channel()


@pytest.mark.parametrize("drill_cloud", [
    "rpc_response_timeout = 10\n[oslo_messaging_rabbit]\namqp_durable_queues = true\n"
    "rabbit_retry_interval = 1\n[fake_driver]\nspawn_latency = fixed:0.5\n"],
    indirect=True, ids=["amqp_durable_queues"])
def test_10_broker_restarts_during_100_boots_leave_none_in_build(drill_cloud):
    db, hosts, launch = drill_cloud.db, drill_cloud.hosts, drill_cloud.launch
    for host in ("c1", "c2"):  # room for the 100
        launch("compute", "--host", hosts[host])
    api, ctxt = _api(drill_cloud)
    wait_until(lambda: len(db.compute_node_get_all()) == 2, 150,
               "the computes to register")
    booted = []
    for number in range(100):
        if number % 10 == 5:
            _restart_vhost(drill_cloud.url)
        [instance] = api.create(ctxt, "1", CIRROS_IMAGE_ID, f"drill-{number}")
        booted.append(instance["uuid"])
        green.sleep(0.05)

    seen = {"states": None, "since": green.now()}

    def settled():
        """All ACTIVE or ERROR, or no state changed for 30 s (the rest stays in BUILD)."""
        rows = [db.instance_get(uuid) for uuid in booted]
        states = [(r["vm_state"], r["task_state"]) for r in rows]
        if states != seen["states"]:
            seen.update(states=states, since=green.now())
        done = all(r["vm_state"] in ("active", "error") for r in rows)
        return rows if done or green.now() - seen["since"] > 30 else None

    rows = wait_until(settled, 240, "the boots to settle")
    counts = collections.Counter((r["vm_state"], r["task_state"]) for r in rows)
    print(f"\n100 boots, 10 broker restarts (amqp_durable_queues): {dict(counts)}")
    errors = [api.get(ctxt, r["uuid"]) for r in rows if r["vm_state"] == "error"]
    assert all(shown["fault"] for shown in errors)  # every failed boot says why
    assert counts[("active", None)] + len(errors) == len(rows)  # none left in BUILD
