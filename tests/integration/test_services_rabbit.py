"""A multi-process cloud over RabbitMQ: conductor, scheduler and two computes, each its own
``nova-sim`` process, sharing one config file (the controllers share one database file).

The test process is the API: it boots an instance through ``nova_sim.compute.api.API``,
waits until it is ACTIVE on one of the computes, deletes it and waits until it is gone.
A second test runs two scheduler processes on one database file and races them for a
few hosts. Everything lives under a unique ``control_exchange`` and unique host names; the
exchange and the queues are deleted afterwards. Waiting polls the shared database on the real clock
(the services are other processes: there is no event to wait on).
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import uuid

import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.compute.api import API
from nova_sim.deploy import new_conf, open_database
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.service import get_transport

pytestmark = pytest.mark.slow  # one process per service

REPO = pathlib.Path(__file__).resolve().parents[2]
LATENCIES = ("spawn_latency", "reboot_latency", "stop_latency", "start_latency",
             "delete_latency")


LOGS: list[pathlib.Path] = []


def _log_tails(lines=15):
    text = []
    for path in LOGS:
        try:
            tail = path.read_text().splitlines()[-lines:]
        except OSError:
            continue
        text.append(f"--- {path.name}\n" + "\n".join(tail))
    return "\n".join(text)


def wait_until(predicate, timeout=60.0, what="condition"):
    deadline = green.now() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if green.now() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{_log_tails()}")
        green.sleep(0.1)


@pytest.fixture
def multi_process_cloud(rabbit_url, tmp_path):
    _check_no_other_cloud(rabbit_url)
    LOGS.clear()
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova_sim_it_{tag}"
    hosts = {"controller": f"ctl-{tag}", "c1": f"c1-{tag}", "c2": f"c2-{tag}"}
    db_path = tmp_path / "nova-sim.db"
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        "[DEFAULT]\n"
        f"transport_url = {rabbit_url}\n"
        f"control_exchange = {exchange}\n"
        f"host = {hosts['controller']}\n"
        "periodic_fuzzy_delay = 0\n"
        "report_interval = 2\n"
        f"[database]\nconnection = sqlite:///{db_path}\n"
        "[fake_driver]\n" + "".join(f"{name} = fixed:0\n" for name in LATENCIES)
    )
    processes = []

    def launch(*args):
        processes.append(launch_service(config, tmp_path, *args))

    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    # The database (and its flavors) exist before the services start.
    db = open_database(conf)
    launch("conductor")
    launch("scheduler")
    launch("compute", "--host", hosts["c1"])
    launch("compute", "--host", hosts["c2"])
    transport = get_transport(conf)
    try:
        yield conf, db, transport, hosts, processes
    finally:
        stop_cloud(processes, transport, db)
        _delete_broker_objects(rabbit_url, exchange, hosts)


def launch_service(config, log_dir, *args):
    """Start ``nova-sim --config-file CONFIG ARGS...`` with its output in a log of
    ``log_dir`` (listed in LOGS); returns ``(process, log file)``."""
    command = [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config),
               *args]
    path = log_dir / f"{'-'.join(args)}.log"
    LOGS.append(path)
    log = open(path, "w")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=str(REPO)), log


def stop_cloud(processes, transport, db, timeout=30):
    """SIGTERM the service processes, wait for them (kill after ``timeout`` seconds),
    close their logs, the transport and the database."""
    for process, _ in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, log in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    try:
        transport.cleanup()
    except Exception:  # noqa: BLE001 - best effort
        pass
    db.close()


def _other_cloud_consumers(rabbit_url):
    """Topics whose shared queue someone consumes on this broker (queues are named by
    topic, whatever the exchange: another cloud there would take our messages)."""
    import kombu

    busy = []
    url = rabbit_url.replace("rabbit://", "amqp://", 1)
    with kombu.Connection(url) as connection:
        for topic in ("conductor", "scheduler", "compute"):
            channel = connection.channel()
            try:
                _, _, consumers = channel.queue_declare(topic, passive=True)
            except Exception:  # noqa: BLE001 - no such queue: fine
                continue
            if consumers:
                busy.append(topic)
    return busy


def _check_no_other_cloud(rabbit_url, patience=120.0):
    """Wait (up to ``patience`` seconds) for another cloud on the broker to go; fail
    clearly if it stays."""
    deadline = green.now() + patience
    while True:
        busy = _other_cloud_consumers(rabbit_url)
        if not busy:
            return
        assert green.now() < deadline, (
            f"another nova-sim cloud consumes {busy} on this broker; this test needs "
            "the broker to itself"
        )
        green.sleep(1.0)


def _delete_broker_objects(rabbit_url, exchange, hosts):
    import kombu

    url = rabbit_url.replace("rabbit://", "amqp://", 1)
    with kombu.Connection(url) as connection:
        channel = connection.channel()
        for topic in ("conductor", "scheduler", "compute"):
            for host in hosts.values():
                try:
                    channel.queue_delete(f"{topic}.{host}")
                except Exception:  # noqa: BLE001 - not there
                    channel = connection.channel()
            try:  # the shared topic queues, only if nobody else uses them
                channel.queue_delete(topic, if_unused=True)
            except Exception:  # noqa: BLE001 - in use or not there
                channel = connection.channel()
        try:
            channel.exchange_delete(exchange)
        except Exception:  # noqa: BLE001
            pass


def test_boot_and_delete_across_processes_over_rabbitmq(multi_process_cloud):
    conf, db, transport, hosts, processes = multi_process_cloud
    computes = {hosts["c1"], hosts["c2"]}

    def ready():
        for process, log in processes:
            if process.poll() is not None:
                log.flush()
                raise AssertionError(f"a service exited: {process.args}")
        nodes = {node["host"] for node in db.compute_node_get_all()}
        services = {s["binary"] for s in db.service_get_all()}
        return computes <= nodes and {"nova-conductor", "nova-scheduler"} <= services

    wait_until(ready, 150, "the services to register")
    api = API(conf, db, transport)
    ctxt = nova_context.RequestContext(user_id="it", project_id="it", overwrite=False)
    [instance] = api.create(ctxt, "1", CIRROS_IMAGE_ID, "over-rabbit")

    def active():
        row = db.instance_get(instance["uuid"])
        assert row["vm_state"] != "error", api.get(ctxt, instance["uuid"])["fault"]
        return row if row["vm_state"] == "active" else None

    row = wait_until(active, 60, "the instance to become ACTIVE")
    assert row["host"] in computes and row["power_state"] == 1
    assert len(db.allocations_get(consumer_uuid=instance["uuid"])) == 3
    [action] = db.actions_get(instance["uuid"])

    def finished_events():  # the event is finished just after the ACTIVE save
        events = db.action_events_get(action["id"])
        return events if all(e["result"] for e in events) else None

    events = wait_until(finished_events, 30, "the build event to finish")
    assert [(e["event"], e["result"]) for e in events] == [
        ("compute__do_build_and_run_instance", "Success")]

    api.delete(ctxt, instance["uuid"])
    wait_until(lambda: db.instance_get(instance["uuid"], read_deleted="yes")["deleted"], 60,
               "the instance to be deleted")
    # the compute removes the allocations just after the instance row goes
    wait_until(lambda: db.allocations_get(consumer_uuid=instance["uuid"]) == [], 30,
               "the allocations to be removed")
    up = {s["host"]: s["up"] for s in api.service_list(ctxt)}
    assert all(up[host] for host in computes)


def test_two_scheduler_processes_racing_never_overfill_a_host(rabbit_url, tmp_path):
    """Two ``nova-sim scheduler`` processes share the ``scheduler`` queue (the broker
    hands requests to them in turn) and one database file; many concurrent requests for
    few hosts: every host ends exactly full, none over."""
    from nova_sim import exception
    from nova_sim.scheduler.rpcapi import SchedulerAPI

    _check_no_other_cloud(rabbit_url)
    LOGS.clear()
    tag = uuid.uuid4().hex[:8]
    exchange = f"nova_sim_it_{tag}"
    db_path = tmp_path / "nova-sim.db"
    common = tmp_path / "common.conf"
    common.write_text(
        "[DEFAULT]\n"
        f"transport_url = {rabbit_url}\n"
        f"control_exchange = {exchange}\n"
        "periodic_fuzzy_delay = 0\n"
        f"[database]\nconnection = sqlite:///{db_path}\n"
    )
    conf = new_conf()
    conf([f"--config-file={common}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)
    hosts = [f"h{n}-{tag}" for n in range(1, 5)]
    flavor = db.flavor_get_by_flavor_id("2")  # m1.small: 1 vCPU, 2048 MB, 20 GB
    for host in hosts:  # four hosts with room for exactly four m1.small each
        service = db.service_create({"host": host, "binary": "nova-compute",
                                     "topic": "compute", "availability_zone": "nova"})
        db.service_heartbeat(service["id"])
        node = db.compute_node_create_or_update({
            "host": host, "hypervisor_hostname": host, "vcpus": 4, "memory_mb": 65536,
            "local_gb": 1000, "cpu_allocation_ratio": 1.0, "service_id": service["id"],
        })
        db.resource_provider_ensure(node["uuid"], host, {
            "VCPU": {"total": 4, "allocation_ratio": 1.0},
            "MEMORY_MB": 65536, "DISK_GB": 1000,
        })
    env = dict(os.environ, PYTHONPATH=str(REPO))
    processes = []
    for name in ("sched-a", "sched-b"):
        own = tmp_path / f"{name}.conf"
        own.write_text(f"[DEFAULT]\nhost = {name}-{tag}\n")
        path = tmp_path / f"{name}.log"
        LOGS.append(path)
        log = open(path, "w")
        processes.append((subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(common),
             "--config-file", str(own), "--debug", "scheduler"],
            env=env, stdout=log, stderr=log, cwd=str(REPO)), log))
    transport = get_transport(conf)
    try:
        def both_consuming():
            import kombu

            with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as conn:
                try:
                    _, _, consumers = conn.channel().queue_declare("scheduler", passive=True)
                except Exception:  # noqa: BLE001 - not declared yet
                    return False
            return consumers == 2

        wait_until(both_consuming, 150, "both schedulers to consume")
        api = SchedulerAPI(transport, conf)
        ctxt = nova_context.RequestContext(user_id="it", project_id="it", overwrite=False)
        spec = {"flavor": flavor, "project_id": "it", "user_id": "it",
                "image": {"id": CIRROS_IMAGE_ID, "properties": {}}}
        outcomes = []

        def request():
            try:
                outcomes.append(api.select_destinations(ctxt, spec, [str(uuid.uuid4())],
                                                        return_alternates=True)[0][0])
            except exception.NoValidHost:
                outcomes.append(None)

        pool = green.GreenPool(30)
        for _ in range(30):
            pool.spawn_n(request)
        pool.waitall()
        placed = [o["service_host"] for o in outcomes if o]
        assert len(outcomes) == 30 and len(placed) == 16
        assert sorted(set(placed)) == sorted(hosts)
        for node in db.compute_node_get_all():
            assert db.usages_get(node["uuid"])["VCPU"] == 4
        # every request is logged at debug as it starts (a success logs nothing else, and
        # only a NoValidHost names select_destinations)
        served = [path.read_text().count("Starting to schedule for instances")
                  for path in LOGS]
        assert all(served), f"both schedulers should have served requests: {served}"
    finally:
        stop_cloud(processes, transport, db)
        _delete_broker_objects(rabbit_url, exchange,
                               {"a": f"sched-a-{tag}", "b": f"sched-b-{tag}"})
