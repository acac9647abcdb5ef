"""One boot traced across processes: conductor, scheduler and a compute, each its own
``nova-sim`` process over RabbitMQ with ``[trace] enabled``, the test process as the API.
Each process writes its own span file, complete within 2 s of the work while it runs;
``nova-sim trace merge`` and ``show`` put the request back together, parents across the
process boundaries included."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import uuid

import kombu
import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.compute.api import API
from nova_sim.deploy import new_conf, open_database
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.service import get_transport
from nova_sim.trace import cli, store
from nova_sim.trace.model import TraceSet
from nova_sim.trace.tracer import Tracer

pytestmark = pytest.mark.slow  # four service processes

REPO = pathlib.Path(__file__).resolve().parents[2]


def poll(predicate, timeout, what, processes):
    """Poll on the real clock (the services are other processes: nothing to wait on)."""
    deadline = green.now() + timeout
    while not predicate():
        for process in processes:
            assert process.poll() is None, f"{process.args[-3:]} exited"
        assert green.now() < deadline, f"timed out waiting for {what}"
        green.sleep(0.1)


def cleanup_broker(rabbit_url, exchange, hosts):
    with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        names = [f"{topic}.{host}" for topic in ("conductor", "scheduler", "compute")
                 for host in hosts]
        for name in names + ["conductor", "scheduler", "compute"]:
            try:
                channel.queue_delete(name, if_unused=name in ("conductor", "scheduler",
                                                              "compute"))
            except Exception:  # noqa: BLE001 - not there, or in use by someone else
                channel = connection.channel()
        try:
            channel.exchange_delete(exchange)
        except Exception:  # noqa: BLE001 - best effort
            pass


def test_a_boot_traced_across_four_processes(rabbit_url, tmp_path):
    tag = uuid.uuid4().hex[:8]
    exchange, controller, compute = f"nova_sim_trace_{tag}", f"ctl-{tag}", f"cmp-{tag}"
    traces = tmp_path / "traces"
    config = tmp_path / "nova-sim.conf"
    config.write_text(
        f"[DEFAULT]\ntransport_url = {rabbit_url}\ncontrol_exchange = {exchange}\n"
        f"host = {controller}\nperiodic_enable = false\nreport_interval = 2\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nova-sim.db'}\n"
        "[fake_driver]\nspawn_latency = fixed:0.2\n"
        f"[trace]\nenabled = true\noutput_dir = {traces}\n")
    conf = new_conf()
    conf([f"--config-file={config}"], project="nova-sim", default_config_files=[])
    db = open_database(conf)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    processes = []
    logs = []
    for args in (["conductor"], ["scheduler"], ["compute", "--host", compute]):
        log = open(tmp_path / f"{args[0]}.log", "w")
        logs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "nova_sim.cmd.main", "--config-file", str(config), *args],
            env=env, stdout=log, stderr=log, cwd=str(REPO)))
    transport = get_transport(conf)
    tracer = Tracer(service="nova-api", host=controller, output_dir=str(traces),
                    context_getter=nova_context.get_current).install()
    try:
        # a heartbeat comes after a service's start-up, queues bound, has finished
        poll(lambda: {n["host"] for n in db.compute_node_get_all()} == {compute}
             and len(db.service_get_all()) == 3
             and all(s["report_count"] for s in db.service_get_all()),
             150, "the services", processes)
        api = API(conf, db, transport)
        ctxt = nova_context.RequestContext(user_id="t", project_id="t", overwrite=False)
        with tracer.start_span("wsgi.request", {"method": "POST", "path": "/v2.1/servers",
                                                "request_id": ctxt.request_id}):
            [instance] = api.create(ctxt, "1", CIRROS_IMAGE_ID, "traced")
        poll(lambda: db.instance_get(instance["uuid"])["vm_state"] == "active", 60,
             "ACTIVE", processes)
        [action] = db.actions_get(instance["uuid"])
        poll(lambda: all(e["result"] for e in db.action_events_get(action["id"])), 30,
             "the build event", processes)
        # every process, busy or idle, writes what it finished within 2 s of the work,
        # while it keeps running: the whole flow, no span without its parent
        poll(lambda: _complete(traces, ctxt.request_id), 2.0,
             "the whole trace in the span files of the running processes", processes)
    finally:
        tracer.uninstall()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # a graceful stop writes the spans
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
        transport.cleanup()
        db.close()
        cleanup_broker(rabbit_url, exchange, [controller, compute])
    files = sorted(path.name.split("-")[1] for path in traces.iterdir())
    assert files == ["api", "compute", "conductor", "scheduler"]
    merged = tmp_path / "merged.jsonl"
    assert cli.main(["merge", *map(str, traces.iterdir()), "-o", str(merged)]) == 0
    flow = TraceSet(store.read_files([str(merged)])).select(request_id=ctxt.request_id)
    assert len(flow.trace_ids()) == 1
    where = {(s["name"], s["service"], s["host"]) for s in flow.spans}
    assert {("wsgi.request", "nova-api", controller),
            ("rpc.server schedule_and_build_instances", "nova-conductor", controller),
            ("rpc.server select_destinations", "nova-scheduler", controller),
            ("rpc.server build_and_run_instance", "nova-compute", compute),
            ("compute.build_and_run_instance", "nova-compute", compute),
            ("driver.spawn", "nova-compute", compute),
            ("conductor.Instance.save", "nova-conductor", controller)} <= where
    # every receiver hangs under its sender, whichever process either lives in
    for span in flow.spans:
        if span["name"].startswith("rpc.server "):
            sender = flow.by_id[span["parent_id"]]
            assert sender["name"].split(" ", 1)[1] == span["name"].split(" ", 1)[1]
            assert sender["start"] <= span["start"]
    [build] = [s for s in flow.spans if s["name"] == "compute.build_and_run_instance"]
    assert [s["name"] for s in [build] + [flow.by_id[p] for p in _ancestors(flow, build)]] \
        == ["compute.build_and_run_instance", "rpc.server build_and_run_instance",
            "rpc.cast build_and_run_instance", "conductor.cast_build",
            "conductor.schedule_and_build_instances",
            "rpc.server schedule_and_build_instances",
            "rpc.cast schedule_and_build_instances", "api.create", "wsgi.request"]
    assert cli.main(["show", ctxt.request_id, "-i", str(traces)]) == 0


def _complete(traces, request_id):
    """Whether the span files hold the whole boot: the compute's build and its driver
    spawn, and every span's parent (the API's wsgi.request is the root)."""
    flow = TraceSet(store.read_files([str(traces)])).select(request_id=request_id)
    names = {s["name"] for s in flow.spans}
    return ({"compute.build_and_run_instance", "driver.spawn", "wsgi.request"} <= names
            and flow.roots == [s for s in flow.spans if s["name"] == "wsgi.request"]
            and not flow.missing_parents())


def _ancestors(flow, span):
    out = []
    parent = span["parent_id"]
    while parent in flow.by_id:
        out.append(parent)
        parent = flow.by_id[parent]["parent_id"]
    return out
