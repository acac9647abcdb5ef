"""The cost model on the virtual clock: each hook, queueing, errors, calibration."""

from __future__ import annotations

import json
import os
import statistics
import time
import types

import pytest

from nova_sim import green, periodic, rpc
from nova_sim.cmd.simulate import calibrate, default_costs_path
from nova_sim.db.api import Database
from nova_sim.green.costs import HOOK_NAMES, hooks
from nova_sim.servicegroup.drivers.db import DbDriver
from nova_sim.sim import cloudspec, costs, engine

from .conftest import small_cloud, workload


def profile(**figures):
    """A checked profile: every cost 0 but ``figures`` (nested dicts as in the JSON)."""
    return costs.check_profile({"format": costs.FORMAT, "version": costs.VERSION,
                                **figures})


@pytest.fixture
def model():
    installed = []

    def make(**figures):
        cost_model = costs.CostModel(profile(**figures))
        cost_model.install()
        installed.append(cost_model)
        return cost_model

    yield make
    for cost_model in installed:
        cost_model.uninstall()
    assert hooks.model is None


class Endpoint:
    target = rpc.Target(version="1.0")

    def ping(self, ctxt, arg):
        return arg


def serve(transport, host="h1"):
    server = rpc.RPCServer(transport, rpc.Target(topic="t", server=host), [Endpoint()])
    server.start()
    return server


def timed_calls(count, host="h1"):
    """Start ``count`` concurrent calls to ``host``; the virtual seconds each took."""
    transport = rpc.get_transport("green://")
    serve(transport, host)
    client = rpc.RPCClient(transport, rpc.Target(topic="t", server=host))
    started = green.now()

    def one(number):
        assert client.call({}, "ping", arg=number) == number
        return green.now() - started

    pool = green.GreenPool()
    return list(pool.imap(one, range(count)))


def test_no_model_means_every_hook_is_none():
    assert "work" in HOOK_NAMES
    assert all(getattr(hooks, name) is None for name in HOOK_NAMES)


def test_rpc_hop_latency_delays_each_request_and_reply(model):
    with green.virtual_time(seed=1):
        charged = model(latency={"rpc_hop": 0.01})
        assert timed_calls(1) == [pytest.approx(0.02)]  # request + reply
        assert charged.charged["delivery_delay"] == 2


def test_dispatch_cpu_queues_on_the_servers_core(model):
    with green.virtual_time(seed=1):
        charged = model(cpu={"t": {"ping": 0.5}})
        # one core: the three dispatches run one after the other
        assert sorted(timed_calls(3)) == [pytest.approx(0.5), pytest.approx(1.0),
                                          pytest.approx(1.5)]
        assert charged.charged["dispatch"] == 3
        assert charged.cpu_cost("t", "other") == 0.0


def test_executor_pool_size_comes_from_the_profile(model):
    with green.virtual_time(seed=1):
        model(executor_pool_size=3)
        assert serve(rpc.get_transport("green://")).pool_size == 3


def test_transactions_queue_on_the_databases_connections(model):
    with green.virtual_time(seed=1):
        database = Database(clock=green.now)
        charged = model(database={"transaction": 0.1, "connections": 2})
        started = green.now()
        pool = green.GreenPool()
        done = list(pool.imap(lambda _: (database.instance_count(), green.now() - started)[1],
                              range(4)))
        assert done == [pytest.approx(0.1)] * 2 + [pytest.approx(0.2)] * 2
        assert charged.charged["transaction"] == 4
        database.close()


def test_a_placement_request_is_a_hop_of_its_own(model):
    with green.virtual_time(seed=1):
        database = Database(clock=green.now)
        charged = model(latency={"placement_hop": 0.25})
        started = green.now()
        assert database.allocation_candidates({"VCPU": 1}) == []
        assert green.now() - started == pytest.approx(0.25)
        assert charged.charged["placement"] == 1
        database.close()


def test_the_api_charges_its_cpu_per_request(run, model):
    charged = []

    class Recording(costs.CostModel):
        def install(self):
            super().install()
            charged.append(self)

    result = run(workload("NovaServers.list_servers", {"serial": {"times": 2}}, args={}),
                 costs=Recording(profile(api={"request": 0.25})))
    # one GET /servers/detail per iteration, nothing else costs anything
    assert [it["duration"] for it in result.iterations] == [0.25, 0.25]
    assert charged[0].charged["api_request"] == 2
    # a figure of the request's HTTP method comes before the one of every request
    result = run(workload("NovaServers.list_servers", {"serial": {"times": 1}}, args={}),
                 costs=costs.CostModel(profile(api={"request": 0.25, "GET": 0.5,
                                                    "POST": 2.0})))
    assert [it["duration"] for it in result.iterations] == [0.5]


def test_the_client_charges_its_own_cpu_per_request_on_a_core_only_when_shared(run):
    def durations(shared):
        model = costs.CostModel(profile(api={"request": 0.25}, work={"client:GET": 0.25},
                                        shared_core=shared))
        result = run(workload("NovaServers.list_servers",
                              {"constant": {"times": 2, "concurrency": 2}}, args={}),
                     costs=model)
        assert model.charged["work"] == 2
        return sorted(it["duration"] for it in result.iterations)

    # apart: the two clients' CPU at once (Rally's own machines), then the API's core
    # one request after the other; shared: one core for the clients and the API
    assert durations(False) == [0.5, 0.75]
    assert durations(True) == [0.75, 1.0]


def boot_phase(work):
    """The server-side boot time of one boot with the units of work ``work`` charged."""
    model = costs.CostModel(profile(work=work))
    cloud = small_cloud(options={"fake_driver": {"spawn_latency": "fixed:1"}})
    result = engine.run_task(workload("NovaServers.boot_server", {"serial": {"times": 1}}),
                             cloud, seed=1, costs=model)
    [boot] = result.workloads[0].nova["phases"]["boot"]
    return boot, model.charged["work"]


def test_a_compute_charges_its_build_greenthread():
    free, _ = boot_phase({})
    charged, units = boot_phase({"spawn:_locked_do_build_and_run_instance": 3.0})
    assert charged == pytest.approx(free + 3.0)
    assert units >= 1
    # the kind's figure stands in for a function calibration did not see
    assert boot_phase({"spawn:*": 2.0})[0] == pytest.approx(free + 2.0)


def test_a_periodic_task_charges_its_cpu(model):
    class Manager(periodic.PeriodicTasks):
        @periodic.periodic_task(spacing=60, run_immediately=True)
        def audit(self, context):
            self.ran_at = green.now()

    with green.virtual_time(seed=1):
        charged = model(work={"periodic:audit": 0.5})
        manager = Manager()
        manager.run_periodic_tasks(None)
        assert manager.ran_at == pytest.approx(0.5)
        assert charged.charged["work"] == 1


def test_a_heartbeat_charges_its_cpu_on_the_services_core(model):
    beats = []

    class Db:
        def service_heartbeat(self, service_id):
            beats.append(green.now())
            return {}

    with green.virtual_time(seed=1):
        charged = model(work={"heartbeat:nova-conductor": 0.25})
        manager = object()
        service = types.SimpleNamespace(service_ref={"id": 1}, manager=manager,
                                        binary="nova-conductor", host="c1")
        driver = DbDriver(db=Db())
        pool = green.GreenPool()
        pool.spawn(driver.report_state, service)
        # the service's other work (here a spawned greenthread) queues on its core
        pool.spawn(charged.work, manager, "heartbeat", "nova-conductor")
        pool.waitall()
        assert beats == [pytest.approx(0.25)]
        assert green.now() == pytest.approx(0.5)


def test_a_process_dispatches_and_spawned_work_share_its_core(model):
    with green.virtual_time(seed=1):
        charged = model(cpu={"t": {"ping": 0.5}}, work={"spawn:build": 0.5})
        transport = rpc.get_transport("green://")
        server = serve(transport)
        green.spawn(charged.work, server.dispatcher.endpoints[0], "spawn", "build")
        client = rpc.RPCClient(transport, rpc.Target(topic="t", server="h1"))
        assert client.call({}, "ping", arg=1) == 1
        assert green.now() == pytest.approx(1.0)  # the build's 0.5 s, then the ping's


def test_on_the_shared_core_an_rpc_hop_waits_for_the_core(model):
    with green.virtual_time(seed=1):
        charged = model(latency={"rpc_hop": 0.01}, cpu={"t": {"ping": 0.5}},
                        shared_core=True)
        # the second request's hop and both dispatches queue on the one core; the first
        # reply's hop comes after the second dispatch took the core
        assert sorted(timed_calls(2)) == [pytest.approx(1.03), pytest.approx(1.04)]
        assert charged.charged["delivery_delay"] == 4


def charge_at_once(charged, count, owner="p"):
    """End times of ``count`` units of work ``spawn:x`` charged at once on ``owner``'s core."""
    ended = []

    def one():
        charged.work(owner, "spawn", "x")
        ended.append(green.now())

    pool = green.GreenPool()
    for _ in range(count):
        pool.spawn(one)
    pool.waitall()
    return ended


def test_a_busy_core_charges_the_busy_levels_figures(model):
    with green.virtual_time(seed=1):
        # 0.1 s a unit on an idle core, 0.05 s on a core at 100% (its offered load over
        # the last second, decayed)
        charged = model(work={"spawn:x": 0.1}, utilisation=0.0, utilisation_window=1.0,
                        busy={"work": {"spawn:x": 0.05}, "utilisation": 1.0})
        ended = charge_at_once(charged, 30)
        costs_of = [later - earlier
                    for earlier, later in zip([0.0, *ended[:-1]], ended, strict=True)]
        assert costs_of[0] == pytest.approx(0.1)  # nothing charged before: idle
        assert costs_of[1] == pytest.approx(0.1 - 0.05 * 0.1)  # 10% busy: 10% of the way
        assert costs_of[-1] == pytest.approx(0.05)  # charged more than it serves: busy
        assert all(earlier >= later
                   for earlier, later in zip(costs_of[:-1], costs_of[1:], strict=True))
        assert charged.utilisation("p") > 0.2  # decaying since the charges came
        # the load decays: after 20 windows of nothing, the core is idle again
        green.sleep(20.0)
        assert charged.utilisation("p") < 0.001
        started = green.now()
        charge_at_once(charged, 1)
        assert green.now() - started == pytest.approx(0.1, rel=1e-3)
        # without a busy level, a unit costs the same however busy its core is
        plain = costs.CostModel(profile(work={"spawn:x": 0.1}))
        started = green.now()
        assert [end - started for end in charge_at_once(plain, 3, owner="q")] == [
            pytest.approx(0.1 * n) for n in (1, 2, 3)]


def test_the_busy_level_scales_and_is_checked():
    busy = profile(cpu={"default": 0.2}, utilisation=0.1,
                   busy={"cpu": {"default": 0.1}, "database": {"transaction": 0.3},
                         "utilisation": 0.9})
    assert busy["busy"]["utilisation"] == 0.9
    slower = costs.scaled(busy, 2.0)
    assert slower["busy"]["cpu"]["default"] == pytest.approx(0.2)
    assert slower["busy"]["database"]["transaction"] == pytest.approx(0.6)
    assert slower["cpu"]["default"] == pytest.approx(0.4)
    with pytest.raises(costs.CostModelError, match="busy.utilisation must be above"):
        profile(utilisation=0.5, busy={"utilisation": 0.5})
    with pytest.raises(costs.CostModelError, match="from 0 to 1"):
        profile(utilisation=1.5)
    with pytest.raises(costs.CostModelError, match="busy: cpu.default"):
        profile(busy={"cpu": {"default": -1}, "utilisation": 1.0})


def boot_durations(conductors):
    """Boots of 8 servers at once with a conductor whose build takes 1 s of CPU."""
    task = workload("NovaServers.boot_server", {"constant": {"times": 8, "concurrency": 8}})
    spec = cloudspec.parse_cloud({
        "host_groups": [{"name": "g", "count": 8}],
        "controllers": {"conductors": conductors},
        "options": {"fake_driver": {"spawn_latency": "fixed:1"}}})
    model = costs.CostModel(profile(cpu={"conductor": {"schedule_and_build_instances": 1.0}}))
    result = engine.run_task(task, spec, seed=1, costs=model)
    [workload_result] = result.workloads
    assert all(not it["error"] for it in workload_result.iterations)
    return [it["duration"] for it in workload_result.iterations]


def test_a_saturated_conductor_makes_boots_wait_and_more_conductors_fix_it():
    one = boot_durations(1)
    four = boot_durations(4)
    # one conductor builds one boot a second: the last of 8 waits 8 s for its turn;
    # with four, at most 2 s (Rally polls every 2 s, hence the steps)
    assert max(one) >= 8.0
    assert max(four) <= 5.0
    assert statistics.mean(one) > statistics.mean(four) + 2.0


@pytest.mark.parametrize("hook", ["dispatch", "work"])
def test_a_cost_hooks_error_aborts_the_run(hook):
    class Broken(costs.CostModel):
        def cpu_cost(self, topic, method, busy=False):
            if hook == "dispatch" and method == "select_destinations":
                raise KeyError("no figure for select_destinations")
            return 0.0

        def work_cost(self, kind, name, busy=False):
            if hook == "work" and kind == "spawn":
                raise KeyError(f"no figure for {name}")
            return 0.0

    task = workload("NovaServers.boot_server", {"serial": {"times": 1}})
    match = "select_destinations" if hook == "dispatch" else "_locked_do_build"
    with pytest.raises(costs.CostModelError, match=match):
        engine.run_task(task, small_cloud(), seed=1, costs=Broken(profile()))
    assert hooks.model is None


def test_profiles_are_checked():
    with pytest.raises(costs.CostModelError, match="version"):
        costs.check_profile({"format": costs.FORMAT, "version": 99})
    with pytest.raises(costs.CostModelError, match="latency.rpc_hop"):
        profile(latency={"rpc_hop": -1})
    with pytest.raises(costs.CostModelError, match="not a cost profile"):
        costs.check_profile({"version": 1})
    assert costs.make_model("none") is None
    shipped = costs.load_profile(default_costs_path())
    assert shipped["cpu"]["conductor"]["schedule_and_build_instances"] > 0


def test_calibration_writes_a_profile_that_a_virtual_run_reads(tmp_path):
    path = tmp_path / "calibrated.json"
    # the virtual clock measures the same CPU without waiting for Rally's polls
    written = calibrate(str(path), times=8, clock="virtual", busy_times=40)
    assert json.loads(path.read_text()) == written
    measured = written["measured"]
    # without the instruments, the same load's CPU scales the figures
    assert measured["uninstrumented_cpu_seconds"] > 0 and measured["scale"] > 0
    # the busy part's figures, where the core is busier
    busy = written["busy"]
    assert busy["utilisation"] > written["utilisation"] >= 0
    assert busy["cpu"]["scheduler"]["select_destinations"] > 0
    assert busy["api"]["POST"] > 0 and busy["api"]["request"] > 0
    assert busy["measured"]["dispatches"] > measured["dispatches"]
    assert measured["dispatches"] > 0 and measured["transactions"] > 0
    assert measured["api_requests"] > 0 and measured["hops"] > 0
    assert written["cpu"]["scheduler"]["select_destinations"] > 0
    assert written["database"]["transaction"] > 0
    assert written["api"]["POST"] > written["api"]["DELETE"] > 0
    # the work outside dispatches and API requests: the compute's build greenthread,
    # the client's own CPU, heartbeats
    work = written["work"]
    assert work["spawn:_locked_do_build_and_run_instance"] > 0
    assert work["client:POST"] > 0 and work["client:*"] > 0
    assert work["heartbeat:nova-compute"] > 0
    assert measured["work_units"] > 0
    assert 0.7 < measured["coverage"] <= 1.0
    assert hooks.model is None
    model = costs.make_model(str(path))
    result = engine.run_task(workload("NovaServers.boot_server", {"serial": {"times": 1}}),
                             small_cloud(), seed=1, costs=model)
    assert model.charged["dispatch"] > 0 and model.charged["transaction"] > 0
    assert model.charged["work"] > 0
    assert result.workloads[0].nova["phases"]["scheduling"][0] > 0


def test_calibration_scales_its_figures_to_the_load_without_instruments():
    task = workload("NovaServers.boot_and_delete_server",
                    {"constant": {"times": 6, "concurrency": 3}})
    meter, calibrator = costs.CpuMeter(), costs.Calibrator()
    for measure in (meter, calibrator):
        engine.run_task(task, small_cloud(), seed=1, costs=measure)
    # on the virtual clock the same load makes the same units, counted alike (but for a
    # client's last request, a unit still open when the calibrator stops)
    measured = {key: len(samples) for key, samples in calibrator.units.items()}
    assert meter.counts.keys() == measured.keys()
    assert all(0 <= meter.counts[key] - measured[key] <= 1 for key in measured)
    assert sum(meter.counts.values()) - sum(measured.values()) <= 1
    assert meter.transactions == calibrator.db_transactions > 0
    assert meter.hops == len(calibrator.hops) > 0
    assert ("api", "POST") in meter.counts and ("conductor", "object_action") in meter.counts
    written = calibrator.profile("test", meter)
    figure = {("api", method): cost for method, cost in written["api"].items()}
    figure.update({(topic, method): cost for topic, methods in written["cpu"].items()
                   if topic != "default" for method, cost in methods.items()})
    figure.update(written["work"])
    charged = (sum(count * figure[key] for key, count in meter.counts.items())
               + meter.transactions * written["database"]["transaction"]
               + meter.hops * written["latency"]["rpc_hop"])
    # charged for what the load made, the figures add up to its CPU without instruments
    assert charged == pytest.approx(meter.total_cpu, rel=1e-3)
    # the scale: that CPU over what the unscaled means would charge
    unscaled = (sum(count * statistics.fmean(calibrator.units[key])
                    for key, count in meter.counts.items())
                + meter.transactions * calibrator.db_seconds / calibrator.db_transactions
                + meter.hops * statistics.fmean(calibrator.hops))
    assert written["measured"]["scale"] == pytest.approx(meter.total_cpu / unscaled,
                                                         abs=1e-3)
    assert hooks.model is None


def burn(seconds):
    """Spend ``seconds`` of this thread's CPU."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_calibration_counts_a_dispatchs_cpu_on_both_sides_of_a_switch():
    class Busy:
        target = rpc.Target(version="1.0")

        def work(self, ctxt):
            burn(0.02)
            green.sleep(0.1)  # the greenthread switches away (as an RPC call does)
            burn(0.02)

    with green.virtual_time(seed=1):
        calibrator = costs.Calibrator()
        transport = rpc.get_transport("green://")
        rpc.RPCServer(transport, rpc.Target(topic="t", server="h1"), [Busy()]).start()
        calibrator.attach(types.SimpleNamespace(
            cloud=types.SimpleNamespace(db=None, transport=transport),
            interposer=types.SimpleNamespace(wrapped_database_methods=[])))
        try:
            client = rpc.RPCClient(transport, rpc.Target(topic="t", server="h1"))
            client.call({}, "work")
        finally:
            calibrator.detach()
        [own] = calibrator.units[("t", "work")]
        assert own >= 0.04
        assert calibrator.profile("test")["measured"]["coverage"] > 0.5


def test_the_command_refuses_a_bad_profile_and_records_the_one_used(tmp_path, capsys):
    from nova_sim.cmd.main import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nova-sim-costs", "version": 1, "api": {"request": "x"}}')
    task = [os.path.join(os.path.dirname(default_costs_path()), "..", "tasks",
                         "boot-and-delete.yaml"),
            "--task-args", "{times: 2, concurrency: 1}", "--no-progress", "--no-report",
            "--traces", "0"]
    assert main(["simulate", *task, "--costs", str(bad)]) == 2
    assert "api.request" in capsys.readouterr().err
    for costs_option, recorded in (([], default_costs_path()), (["--costs", "none"], "none")):
        out = tmp_path / f"run-{len(costs_option)}"
        assert main(["simulate", *task, "--out", str(out), *costs_option]) == 0
        assert json.loads((out / "results.json").read_text())["costs"] == recorded
