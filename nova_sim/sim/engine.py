"""One simulated run of a task: build the cloud, run each workload, gather the figures.

Owns the order of a run, as ``rally task start`` has it, on one hub (a fresh virtual
one seeded with the run's seed, or the real clock):

1. build and start the cloud of the cloud file (with the ``quotas`` context's quotas);
2. resolve each workload's image and flavor through the API (an unknown one is refused
   before any load, as Rally's validation does);
3. per workload: make the ``users`` context's users (under noauth2 a user is a token
   ``user:project``; without the context the iterations run as ``demo:demo``), start
   the fault timeline, the RPC observer and the sampler, run the runner, judge the SLA;
4. collect Nova's side (``observe``) and stop the cloud.

Each iteration's record is Rally's (``timestamp``, ``duration`` without the idle time,
``idle_duration``, ``error`` as ``[type, message, traceback]``, ``atomic_actions``).
Everything in ``RunResult.figures`` comes from the simulated run only, so the same task,
cloud and seed on the virtual clock give the same figures. Must not know how results are
printed or written.
"""

from __future__ import annotations

import gc
import logging
import random
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from nova_sim import green
from nova_sim.sim import cloudspec, faults, observe, runners, scenarios, sla
from nova_sim.sim.client import APIError, ComputeClient
from nova_sim.sim.task import Task, TaskError, Workload

LOG = logging.getLogger(__name__)

DEFAULT_USER = "demo:demo"


@dataclass
class WorkloadResult:
    """A workload's iterations (Rally's records), SLA verdicts and Nova's side."""

    workload: Workload
    iterations: list[dict[str, Any]]
    sla: list[dict[str, Any]]
    load_duration: float
    full_duration: float
    start_time: float
    nova: dict[str, Any]
    samples: list[dict[str, Any]]
    faults: list[dict[str, Any]]


@dataclass
class RunResult:
    """A whole run: its seed, clock, workloads; ``wall_seconds`` is machine time."""

    seed: int
    clock: str
    workloads: list[WorkloadResult] = field(default_factory=list)
    wall_seconds: float = 0.0


def _users(workload: Workload) -> tuple[list[str], str]:
    """The users context's tokens (``user:project``) and how iterations pick one."""
    config = workload.contexts.get("users")
    if config is None:
        return [DEFAULT_USER], "round_robin"
    users = []
    for tenant in range(1, int(config.get("tenants", 1)) + 1):
        for user in range(1, int(config.get("users_per_tenant", 1)) + 1):
            users.append(f"rally-user-{tenant}-{user}:rally-project-{tenant}")
    return users, config.get("user_choice_method", "random")


def _quotas(task: Task) -> dict[str, int]:
    quotas: dict[str, int] = {}
    for workload in task.workloads:
        quotas.update(workload.contexts.get("quotas", {}).get("nova", {}))
    return quotas


def resolve_workload(client: ComputeClient, workload: Workload) -> tuple[Any, Any, Any]:
    """The image id, flavor id and flavor row the workload asks for (Nones where it
    names none); TaskError when one is not found."""
    image = flavor = flavor_row = None
    try:
        if "image" in workload.args:
            image = scenarios.resolve("image", workload.args["image"], client.list_images())
        if "flavor" in workload.args:
            flavors = client.list_flavors()
            flavor = scenarios.resolve("flavor", workload.args["flavor"], flavors)
            flavor_row = next(f for f in flavors if str(f["id"]) == flavor)
    except ValueError as error:
        raise TaskError(f"{workload.scenario}: {error}")
    return image, flavor, flavor_row


@dataclass
class Tracing:
    """Sampled traces: the spans of the first ``iterations`` iterations of each workload
    (and of whatever else ran meanwhile) are written to ``output_dir`` for
    ``nova-sim trace``; tracing stops once they have ended, so a long run stays small."""

    output_dir: str
    iterations: int = 3


def run_task(task: Task, spec: cloudspec.CloudSpec, seed: int = 0, clock: str = "virtual",
             sample_interval: float = 1.0,
             progress: Callable[[dict[str, Any]], None] | None = None,
             tracing: Tracing | None = None, costs: Any = None) -> RunResult:
    """Run every workload of ``task`` on a new cloud of ``spec``; see the module docstring.

    ``progress`` is called after each iteration with ``{"done", "planned", "sim_time"}``;
    ``tracing`` samples traces. ``costs`` is a ``sim.costs.CostModel`` (installed once
    the cloud has started, so start-up is free), a ``sim.costs.Calibrator`` (measuring)
    or None (zero cost). Raises TaskError when a workload's image or flavor does not
    exist, and CostModelError (aborting the run) when a cost hook failed.
    """
    result = RunResult(seed=seed, clock=clock)
    wall = time.perf_counter()
    if clock == "virtual":
        with green.virtual_time(seed=seed):
            _run_all(task, spec, seed, True, sample_interval, progress, result, tracing,
                     costs)
    else:
        green.get_hub().random.seed(seed)
        _run_all(task, spec, seed, False, sample_interval, progress, result, tracing, costs)
    result.wall_seconds = time.perf_counter() - wall
    return result


def _run_all(task: Task, spec: cloudspec.CloudSpec, seed: int, virtual: bool,
             sample_interval: float, progress: Any, result: RunResult,
             tracing: Tracing | None, costs: Any) -> None:
    sim = cloudspec.build(spec, virtual=virtual, quotas=_quotas(task))
    calibrating = hasattr(costs, "attach")
    # The started cloud (most of the heap, and it lives as long as the run) is moved out
    # of the garbage collector's sight until the run ends: a full collection then scans
    # only what the run made, not 10,000 hosts' services each time (it would free none
    # of them). Released again at the end, so a stopped cloud is collected as usual.
    gc.freeze()
    try:
        app = api_application(sim)
        if calibrating:
            costs.attach(sim)
            app = costs.wrap_app(app)
        elif costs is not None:
            costs.install()
        admin = ComputeClient(app, "admin:admin")
        resolved = [resolve_workload(admin, workload) for workload in task.workloads]
        for number, (workload, (image, flavor, flavor_row)) in enumerate(
                zip(task.workloads, resolved, strict=True)):
            result.workloads.append(_run_workload(
                sim, app, workload, image, flavor, flavor_row or {"ram": 2048, "vcpus": 1},
                random.Random(f"{seed}:{number}"), sample_interval, progress,
                _tracer(tracing, seed, number)))
            if costs is not None and not calibrating:
                costs.check()
    finally:
        if calibrating:
            costs.detach()
        elif costs is not None:
            costs.uninstall()
        try:
            sim.stop()
        finally:
            gc.unfreeze()


def _tracer(tracing: Tracing | None, seed: int, number: int) -> Any:
    if tracing is None or tracing.iterations <= 0:
        return None
    import os

    from nova_sim.trace.tracer import Tracer

    directory = os.path.join(tracing.output_dir, f"workload-{number}")
    os.makedirs(directory, exist_ok=True)
    return (Tracer("nova-sim", "nova-sim", output_dir=directory, seed=seed),
            tracing.iterations)


def api_application(sim: cloudspec.SimCloud) -> Any:
    """The Compute API's WSGI application over the cloud of ``sim`` (called in-process:
    no server, no socket)."""
    from nova_sim.api.app import APIApplication

    return APIApplication(sim.cloud.api, sim.cloud.conf)


def _run_workload(sim: cloudspec.SimCloud, app: Any, workload: Workload, image: Any,
                  flavor: Any, flavor_row: dict[str, Any], rng: random.Random,
                  sample_interval: float, progress: Any, tracer: Any) -> WorkloadResult:
    users, choice = _users(workload)
    api_timings: list[float] = []
    clients = [ComputeClient(app, token, api_timings) for token in users]
    iterations: list[dict[str, Any]] = []
    timeout = runners.iteration_timeout(workload.runner_type, workload.runner)
    planned = runners.planned_iterations(workload.runner_type, workload.runner)
    names = iter(range(1, 1 << 62))
    prefix = f"s_rally_{rng.getrandbits(32):08x}"

    def name() -> str:
        return f"{prefix}_{next(names):06d}"

    def iteration(number: int) -> None:
        client = (clients[(number - 1) % len(clients)] if choice == "round_robin"
                  else rng.choice(clients))
        record = scenarios.Iteration()
        scenario = scenarios.NovaServers(client, rng, record, name, image, flavor)
        started_wall, started = green.wallclock(), green.now()
        error: list[str] = []
        try:
            with green.Timeout(timeout):
                scenarios.run_scenario(scenario, workload.scenario, workload.args)
        except green.Timeout:
            error = ["TimeoutException",
                     f"Timeout waiting for the iteration: {timeout or 0:.2f} seconds", ""]
        except scenarios.ScenarioError as failure:
            error = [failure.kind, str(failure), ""]
        except APIError as failure:
            error = [failure.name, str(failure), ""]
        except Exception as failure:  # noqa: BLE001 - Rally records any failure
            LOG.exception("Iteration %s of %s failed", number, workload.scenario)
            error = [type(failure).__name__, str(failure), traceback.format_exc()]
        elapsed = green.now() - started
        for action in record.atomic_actions:
            if action["finished_at"] is None:
                action["finished_at"] = green.wallclock()
                action["failed"] = True
        iterations.append({
            "timestamp": round(started_wall, 6),
            "duration": round(elapsed - record.idle_duration, 6),
            "idle_duration": round(record.idle_duration, 6),
            "error": error,
            "output": {"additive": [], "complete": []},
            "atomic_actions": [_rounded(action) for action in record.atomic_actions],
        })
        if tracer is not None and len(iterations) == tracer[1]:
            tracer[0].uninstall()
        if progress is not None:
            progress({"done": len(iterations), "planned": planned,
                      "sim_time": green.now() - load_started})

    observer = observe.RPCObserver()
    timeline = faults.Timeline(sim, sim.spec.faults)
    sampler = observe.Sampler(sim, observer, sample_interval, flavor_row)
    full_started = green.now()
    start_time = green.wallclock()
    db_before = dict(sim.interposer.db_calls)
    hypervisor_before = {host: driver.busy() for host, driver in sim.drivers.items()}
    load_started = green.now()
    if tracer is not None:
        tracer[0].install()
    observer.install()
    timeline.start()
    sampler.start()
    try:
        runners.run(workload.runner_type, workload.runner, iteration)
    finally:
        load_duration = green.now() - load_started
        sampler.stop()
        timeline.cancel()
        observer.uninstall()
        if tracer is not None:
            tracer[0].uninstall()
    iterations.sort(key=lambda it: it["timestamp"])
    db_calls = {name: count - db_before.get(name, 0)
                for name, count in sorted(sim.interposer.db_calls.items())
                if count - db_before.get(name, 0)}
    nova = {
        "rpc_messages": dict(sorted(observer.sent.items())),
        "dispatches": {g: observer.dispatched[g] for g in observe.GROUPS},
        "busy_fraction": {g: round(observer.busy_time[g] / load_duration, 6)
                          if load_duration else 0.0 for g in observe.GROUPS},
        "no_valid_host": observer.no_valid_host,
        "reschedules": observer.reschedules,
        "db_transactions": db_calls,
        "bus_held_messages": sim.interposer.held_messages,
        "hypervisor_busy_fraction": round(
            sum(driver.busy() - hypervisor_before[host] for host, driver in sim.drivers.items())
            / (len(sim.drivers) * load_duration), 6) if sim.drivers and load_duration else 0.0,
        "phases": {k: [round(v, 6) for v in values] for k, values in {
            "api": api_timings, "scheduling": observer.scheduling,
            **observe.boot_phases(sim, since=start_time)}.items()},
    }
    return WorkloadResult(
        workload=workload, iterations=iterations,
        sla=sla.evaluate(workload.sla, iterations), load_duration=round(load_duration, 6),
        full_duration=round(green.now() - full_started, 6), start_time=round(start_time, 6),
        nova=nova, samples=sampler.samples, faults=timeline.events)


def _rounded(action: dict[str, Any]) -> dict[str, Any]:
    action = dict(action)
    action["started_at"] = round(action["started_at"], 6)
    action["finished_at"] = round(action["finished_at"], 6)
    return action
