"""The cost model on the virtual clock: each hook, queueing, errors, calibration."""

from __future__ import annotations

import json
import os
import statistics

import pytest

from nova_sim import green, rpc
from nova_sim.cmd.simulate import calibrate, default_costs_path
from nova_sim.db.api import Database
from nova_sim.green.costs import hooks
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
    assert all(getattr(hooks, name) is None for name in ("delivery_delay", "dispatch",
               "executor_pool_size", "transaction", "placement", "api_request"))


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


def test_a_cost_hooks_error_aborts_the_run():
    class Broken(costs.CostModel):
        def cpu_cost(self, topic, method):
            if method == "select_destinations":
                raise KeyError("no figure for select_destinations")
            return 0.0

    task = workload("NovaServers.boot_server", {"serial": {"times": 1}})
    with pytest.raises(costs.CostModelError, match="select_destinations"):
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
    written = calibrate(str(path), times=2, clock="virtual")
    assert json.loads(path.read_text()) == written
    measured = written["measured"]
    assert measured["dispatches"] > 0 and measured["transactions"] > 0
    assert measured["api_requests"] > 0 and measured["hops"] > 0
    assert written["cpu"]["scheduler"]["select_destinations"] > 0
    assert written["database"]["transaction"] > 0
    model = costs.make_model(str(path))
    result = engine.run_task(workload("NovaServers.boot_server", {"serial": {"times": 1}}),
                             small_cloud(), seed=1, costs=model)
    assert model.charged["dispatch"] > 0 and model.charged["transaction"] > 0
    assert result.workloads[0].nova["phases"]["scheduling"][0] > 0


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
