"""Runs on the virtual clock: each runner, each scenario, the SLA, the contexts."""

from __future__ import annotations

import pytest

from nova_sim.sim import runners, sla

from .conftest import small_cloud, workload


def starts(result):
    return [round(it["timestamp"] - result.start_time, 3) for it in result.iterations]


def names(result):
    return [[a["name"] for a in it["atomic_actions"]] for it in result.iterations]


def test_serial_runs_one_after_the_other_with_rallys_polling(run):
    result = run(workload("NovaServers.boot_server", {"serial": {"times": 3}}))
    # boot: POST, 1 s pre-poll (idle), poll every 2 s; the fake spawn takes 1-2 s
    assert [it["duration"] for it in result.iterations] == [2.0, 2.0, 2.0]
    assert [it["idle_duration"] for it in result.iterations] == [1.0, 1.0, 1.0]
    assert starts(result) == [0.0, 3.0, 6.0]
    assert names(result) == [["nova.boot_server"]] * 3


def test_constant_keeps_concurrency_workers_busy(run):
    result = run(workload("NovaServers.boot_and_delete_server",
                          {"constant": {"times": 4, "concurrency": 2}}))
    assert starts(result) == [0.0, 0.0, 5.0, 5.0]
    assert names(result) == [["nova.boot_server", "nova.delete_server"]] * 4
    assert result.sla == [{"criterion": "failure_rate", "success": True,
                           "detail": "Failure rate criteria 0.00% <= 0.00% <= 0.00% - Passed"}]


def test_constant_for_duration_stops_starting_after_duration(run):
    result = run(workload("NovaServers.boot_server",
                          {"constant_for_duration": {"duration": 7, "concurrency": 2}}))
    assert starts(result) == [0.0, 0.0, 3.0, 3.0, 6.0, 6.0]


def test_constant_for_duration_refuses_iterations_that_take_no_time(run):
    task = workload("NovaServers.list_servers", {"constant_for_duration": {"duration": 1}},
                    args={})
    with pytest.raises(runners.ZeroTimeIteration):
        run(task)


def test_rps_starts_iterations_at_the_rate(run):
    result = run(workload("NovaServers.boot_server", {"rps": {"times": 5, "rps": 2}}))
    assert starts(result) == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_rps_ramp_and_max_concurrency():
    ramp = {"start": 1, "end": 4, "step": 1, "duration": 2}
    times = [runners.rps_start_time(ramp, i) for i in range(6)]
    assert times == sorted(times) and times[0] == 0.0
    for index, time in enumerate(times[1:], 1):
        assert index / time == pytest.approx(runners.rps_at(ramp, time), rel=1e-9)


def test_rps_max_concurrency_holds_back(run):
    result = run(workload("NovaServers.boot_server",
                          {"rps": {"times": 3, "rps": 10, "max_concurrency": 1}}))
    assert starts(result) == [0.0, 3.0, 6.0]


def test_boot_and_list_server(run):
    result = run(workload("NovaServers.boot_and_list_server", {"serial": {"times": 2}}))
    assert names(result) == [["nova.boot_server", "nova.list_servers"]] * 2
    assert all(not it["error"] for it in result.iterations)


def test_boot_and_bounce_server(run):
    args = {"image": {"name": "^cirros.*-disk$"}, "flavor": {"name": "m1.tiny"},
            "actions": [{"hard_reboot": 1}, {"soft_reboot": 1}, {"stop_start": 1}]}
    result = run(workload("NovaServers.boot_and_bounce_server", {"serial": {"times": 1}},
                          args=args))
    assert names(result) == [["nova.boot_server", "nova.reboot_server",
                              "nova.soft_reboot_server", "nova.stop_server",
                              "nova.start_server", "nova.delete_server"]]
    assert result.iterations[0]["error"] == []


def test_boot_and_delete_multiple_servers(run):
    args = {"image": {"name": "^cirros.*-disk$"}, "flavor": {"name": "m1.tiny"}, "count": 3}
    result = run(workload("NovaServers.boot_and_delete_multiple_servers",
                          {"serial": {"times": 1}}, args=args))
    assert names(result) == [["nova.boot_servers", "nova.delete_servers"]]
    assert result.iterations[0]["error"] == []
    assert result.nova["rpc_messages"]["cast build_and_run_instance"] == 3


def test_novalidhost_fails_iterations_and_the_sla(run):
    # hosts of 1 vCPU and 1 GiB: m1.small (2 GiB) fits nowhere
    task = workload("NovaServers.boot_server", {"constant": {"times": 2, "concurrency": 2}},
                    args={"image": {"name": "^cirros.*-disk$"}, "flavor": {"name": "m1.small"}},
                    sla={"failure_rate": {"max": 25}, "max_seconds_per_iteration": 100,
                         "max_avg_duration": 1})
    result = run(task, small_cloud(vcpus=1, memory_mb=1024))
    assert [it["error"][0] for it in result.iterations] == ["GetResourceErrorStatus"] * 2
    assert result.nova["no_valid_host"] == 2
    assert [(v["criterion"], v["success"]) for v in result.sla] == [
        ("failure_rate", False), ("max_seconds_per_iteration", True),
        ("max_avg_duration", True)]


def test_a_task_starts_once_every_compute_is_up_under_mc(run):
    # mc: a compute is down until its first heartbeat (5 s after it starts); the task
    # waits for it, so its first boot at once finds every host up
    cloud = small_cloud(hosts=3, options={"DEFAULT": {"servicegroup_driver": "mc"}})
    result = run(workload("NovaServers.boot_server", {"serial": {"times": 1}}), cloud)
    assert result.iterations[0]["error"] == []
    assert result.nova["no_valid_host"] == 0
    assert result.start_time >= 5.0  # on the virtual clock, after the first heartbeats


def test_a_compute_that_never_reports_fails_the_start(monkeypatch):
    from nova_sim.servicegroup.drivers.mc import McDriver
    from nova_sim.sim import cloudspec, engine

    monkeypatch.setattr(McDriver, "report_state", lambda self, service: None)
    cloud = small_cloud(hosts=2, options={"DEFAULT": {"servicegroup_driver": "mc"}})
    with pytest.raises(cloudspec.CloudError, match="2 of 2 computes are not up"):
        engine.run_task(workload("NovaServers.boot_server", {"serial": {"times": 1}}),
                        cloud, seed=1)


def test_sla_wording_and_bounds():
    iterations = [{"duration": 2.0, "error": []}, {"duration": 4.0, "error": ["X", "", ""]}]
    verdicts = sla.evaluate({"failure_rate": {"min": 10, "max": 60},
                             "max_seconds_per_iteration": 3.0, "max_avg_duration": 2.5},
                            iterations)
    assert [v["detail"] for v in verdicts] == [
        "Failure rate criteria 10.00% <= 50.00% <= 60.00% - Passed",
        "Maximum seconds per iteration 4.00s <= 3.00s - Failed",
        "Average duration of one iteration 2.00s <= 2.50s - Passed",
    ]


def test_users_context_and_quotas(run):
    task = workload("NovaServers.boot_server", {"constant": {"times": 2, "concurrency": 2}},
                    contexts={"users": {"tenants": 2, "users_per_tenant": 1,
                                        "user_choice_method": "round_robin"},
                              "quotas": {"nova": {"instances": 0}}})
    result = run(task)
    # quota 0 instances: each POST is refused by the API (Forbidden, 403)
    assert [it["error"][0] for it in result.iterations] == ["Forbidden", "Forbidden"]


def test_iteration_timeout(run):
    cloud = small_cloud(options={"fake_driver": {"spawn_latency": "fixed:700"}})
    # the boot's own wait gives up first: 300 s of polling
    result = run(workload("NovaServers.boot_server", {"constant": {"times": 1}}), cloud)
    [kind, message, _] = result.iterations[0]["error"]
    assert kind == "TimeoutException" and message.startswith("Rally tired waiting 300.00")
    # a shorter runner timeout ends the iteration itself
    result = run(workload("NovaServers.boot_server",
                          {"rps": {"times": 1, "rps": 1, "timeout": 50}}), cloud)
    assert result.iterations[0]["error"][:2] == [
        "TimeoutException", "Timeout waiting for the iteration: 50.00 seconds"]
    assert result.iterations[0]["duration"] == 49.0  # 50 s less the idle pre-poll second


def test_rallys_iteration_timeouts_by_runner():
    assert runners.iteration_timeout("constant", {}) == 600.0
    assert runners.iteration_timeout("constant_for_duration", {"duration": 5}) == 600.0
    assert runners.iteration_timeout("rps", {"times": 1, "rps": 1}) is None
    assert runners.iteration_timeout("serial", {}) is None


@pytest.mark.parametrize("tenants, errors", [(1, [[], ["Forbidden"]]), (2, [[], []])])
def test_users_context_gives_each_tenant_its_own_project(run, tenants, errors):
    # one instance per project: the second boot fits only in a second project
    task = workload("NovaServers.boot_server", {"serial": {"times": 2}},
                    contexts={"users": {"tenants": tenants, "users_per_tenant": 1,
                                        "user_choice_method": "round_robin"},
                              "quotas": {"nova": {"instances": 1}}})
    result = run(task)
    assert [it["error"][:1] for it in result.iterations] == errors


def test_real_clock_runs_the_same_way(run):
    # listing waits for nothing, so the real clock costs no waiting here
    result = run(workload("NovaServers.list_servers", {"serial": {"times": 2}}, args={}),
                 clock="real")
    assert [it["error"] for it in result.iterations] == [[], []]
    assert [[a["name"] for a in it["atomic_actions"]] for it in result.iterations] == [
        ["nova.list_servers"]] * 2
    assert result.load_duration < 5
