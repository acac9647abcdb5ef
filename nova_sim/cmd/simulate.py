"""``nova-sim simulate TASK`` and ``nova-sim simulate compare DIR_A DIR_B``.

Owns the simulate command line and what it prints and writes: it loads the Rally task
and the cloud file (refusing anything unsupported with one line and exit status 2),
runs the task once per seed (``--repeat N``: seeds ``--seed`` .. ``--seed + N - 1``),
prints Rally's Response Times table and the SLA verdicts, and writes into ``--out``:
``results.json``, ``run-info.json``, ``rally-results.json`` (per seed when repeated),
``dashboard/simulation.html`` (the dashboard's Simulation page, with the report),
``report.html`` and ``traces/seed-N/workload-M/`` (the first ``--traces`` iterations
of each workload, for ``nova-sim trace show -i``). Exit status: 0 when every SLA
passed, 1 when one failed, 2 for a task, cloud file or usage that cannot run. The
service logs go to ``simulate.log`` in the output directory (to standard error with
``--debug``). Must not know how a run works inside (``nova_sim.sim``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from typing import Any, Iterator

from nova_sim.cmd import CommandError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The ``nova-sim simulate`` parser."""
    parser = _Parser(
        prog="nova-sim simulate",
        description="Run a Rally task file against a simulated cloud (virtual clock by "
        "default) and report Rally's figures and Nova's side. "
        "'nova-sim simulate compare DIR_A DIR_B' compares two runs.")
    parser.add_argument("task", metavar="TASK", nargs="?", help="Rally task file (JSON "
                        "or YAML, format v1 or v2, Jinja2-templated)")
    parser.add_argument("--cloud", metavar="FILE", help="cloud file (YAML: host groups, "
                        "controllers, options, faults); default: 4 hosts of 16 vCPUs")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of the run (default 0)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run N times with seeds SEED..SEED+N-1; figures get their "
                        "mean and 95%% confidence interval")
    parser.add_argument("--clock", choices=("virtual", "real"), default="virtual",
                        help="virtual (default: time jumps, repeatable) or real")
    parser.add_argument("--costs", metavar="FILE|none",
                        help="cost profile (JSON, see docs/simulation.md); 'none': every "
                        "hop, dispatch and transaction costs nothing (default: the shipped "
                        "etc/nova-sim/costs/default.json on the virtual clock, none on the "
                        "real one)")
    parser.add_argument("--calibrate", metavar="FILE", nargs="?",
                        const="calibrated-costs.json",
                        help="run the shipped calibration task on the real clock of this "
                        "machine and write the measured cost profile to FILE (default "
                        "calibrated-costs.json); TASK and --cloud are not used")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: "
                        "simulation-<task name>)")
    parser.add_argument("--task-args", metavar="JSON|YAML",
                        help="task template arguments (as Rally's)")
    parser.add_argument("--task-args-file", metavar="FILE",
                        help="file of task template arguments (as Rally's)")
    parser.add_argument("--validate", action="store_true",
                        help="check the task and the cloud file and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true",
                        help="do not write report.html nor the dashboard page (drawing "
                        "their plots takes seconds)")
    parser.add_argument("--traces", type=int, default=3, metavar="N",
                        help="trace the first N iterations of each workload into "
                        "DIR/traces for 'nova-sim trace' (default 3; 0: none)")
    parser.add_argument("--sample-interval", type=float, default=1.0, metavar="S",
                        help="seconds of simulated time between samples (default 1)")
    return parser


def simulate_command(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim simulate``."""
    argv = list(getattr(args, "simulate_args", None) or [])
    if argv[:1] == ["compare"]:
        return _compare(argv[1:])
    if argv[:1] in (["-h"], ["--help"]):
        build_parser().print_help()
        return 0
    options = build_parser().parse_args(argv)
    from nova_sim.sim import cloudspec, costs, engine, results, runners
    from nova_sim.sim.task import TaskError, load_task, task_summary

    if options.calibrate:
        return _calibrate(options.calibrate, getattr(args, "debug", False))
    _check_options(options)
    options.costs = _costs_option(options)
    try:
        task = load_task(options.task, options.task_args, options.task_args_file)
        spec = cloudspec.load_cloud(options.cloud)
    except (TaskError, cloudspec.CloudError) as error:
        raise UsageError(str(error))
    with open(options.task, encoding="utf-8") as stream:
        task_text = stream.read()
    debug = getattr(args, "debug", False)
    if options.validate:
        with _quiet_logs(None if debug else os.devnull):
            _validate(task, spec)
        print(task_summary(task))
        print(f"Cloud: {len(spec.hosts)} compute host(s) in {len(spec.host_groups)} "
              f"group(s), {len(spec.faults)} fault(s)")
        print("Task is valid.")
        return 0
    out = options.out or "simulation-" + os.path.splitext(os.path.basename(options.task))[0]
    os.makedirs(out, exist_ok=True)
    runs = []
    with _quiet_logs(None if debug else os.path.join(out, "simulate.log")), \
            _Progress(task, options) as progress:
        for seed in range(options.seed, options.seed + options.repeat):
            progress.seed = seed
            try:
                tracing = engine.Tracing(os.path.join(out, "traces", f"seed-{seed}"),
                                         options.traces) if options.traces > 0 else None
                runs.append(engine.run_task(task, spec, seed=seed, clock=options.clock,
                                            sample_interval=options.sample_interval,
                                            progress=progress.update, tracing=tracing,
                                            costs=costs.make_model(options.costs)))
            except TaskError as error:
                raise UsageError(str(error))
            except costs.CostModelError as error:
                raise CommandError(str(error))
            except runners.ZeroTimeIteration as error:
                raise CommandError(str(error))
    document = results.results_document(runs, task_text, spec.source, options.costs)
    _write(out, "results.json", results.dumps(document))
    _write(out, "run-info.json", results.dumps(results.run_info(runs, ["simulate", *argv])))
    for run in runs:
        name = "rally-results.json" if len(runs) == 1 else f"rally-results-{run.seed}.json"
        _write(out, name, results.dumps(results.rally_document(task, run)))
    where = f"Results: {os.path.join(out, 'results.json')}"
    if not options.no_report:
        from nova_sim.dashboard import export
        from nova_sim.sim import report

        drawn = [report.plots(workload) for workload in document["runs"][0]["workloads"]]
        _write(out, "report.html", report.render(document, task.title, drawn))
        where += f"  Report: {os.path.join(out, 'report.html')}"
        try:
            page = export.write(out, document, task.title, drawn)
        except OSError as error:
            raise CommandError(f"cannot write the dashboard pages in {out}: {error}")
        where += f"\nDashboard: {page}"
    print(results.render_summary(document))
    print(where)
    passed = all(w["pass_sla"] for run in document["runs"] for w in run["workloads"])
    return 0 if passed else 1


def _check_options(options: Any) -> None:
    """UsageError for options out of range or a missing task."""
    if options.traces < 0:
        raise UsageError("--traces must be 0 or more")
    if options.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    if options.sample_interval <= 0:
        raise UsageError("--sample-interval must be > 0")
    if options.task is None:
        raise UsageError("nova-sim simulate: a TASK file is needed (or --calibrate)")


def _costs_option(options: Any) -> str:
    """``--costs`` resolved (the default profile on the virtual clock, else none) and
    checked before any run; UsageError for a profile that cannot be read."""
    from nova_sim.sim import costs

    path = options.costs
    if path is None:
        path = default_costs_path() if options.clock == "virtual" else costs.NONE
    try:
        costs.make_model(path)
    except costs.CostModelError as error:
        raise UsageError(str(error))
    return path


def shipped_path(*parts: str) -> str:
    """A shipped file under ``etc/nova-sim/`` (in a source checkout)."""
    import nova_sim

    root = os.path.dirname(os.path.dirname(os.path.abspath(nova_sim.__file__)))
    return os.path.join(root, "etc", "nova-sim", *parts)


def default_costs_path() -> str:
    """The shipped default cost profile."""
    return shipped_path("costs", "default.json")


def calibrate(path: str, times: int | None = None, clock: str = "real",
              busy_times: int | None = None) -> dict[str, Any]:
    """Run the shipped calibration task on the real clock with a Calibrator and write
    the measured profile to ``path``; returns it. The task's first workload measures
    the profile's figures (a core mostly idle), its second one, on a cloud of its own,
    the ``busy`` level's (a core that is busy). ``times`` and ``busy_times`` override
    their iterations; ``clock`` "virtual" measures the same CPU without waiting for the
    scenario's polls (for tests). Raises CommandError when an iteration failed (the
    figures would be wrong)."""
    import dataclasses
    import json
    import platform

    from nova_sim.sim import cloudspec, costs, engine
    from nova_sim.sim.task import load_task

    arguments = {name: value for name, value in (("times", times),
                                                  ("busy_times", busy_times))
                 if value is not None}
    task = load_task(shipped_path("tasks", "calibration.yaml"),
                     json.dumps(arguments) if arguments else None, None)
    spec = cloudspec.load_cloud(shipped_path("tasks", "calibration.cloud.yaml"))
    source = (f"nova-sim simulate --calibrate on {platform.node()} "
              f"({platform.python_implementation()} {platform.python_version()})")
    levels = []
    # a first run, on the virtual clock, pays what only a process's first cloud does
    # (imports, caches) before anything is measured
    warm_up = load_task(shipped_path("tasks", "calibration.yaml"),
                        json.dumps({"times": 4}), None)
    engine.run_task(dataclasses.replace(warm_up, workloads=warm_up.workloads[:1]), spec,
                    clock="virtual")
    for workload in task.workloads:
        # the load without instruments, then with them (see Calibrator.profile)
        meter, calibrator = costs.CpuMeter(), costs.Calibrator()
        for measure in (meter, calibrator):
            run = engine.run_task(dataclasses.replace(task, workloads=[workload]), spec,
                                  clock=clock, costs=measure)
            failed = [it["error"] for w in run.workloads for it in w.iterations
                      if it["error"]]
            if failed:
                raise CommandError(f"calibration: {len(failed)} iteration(s) failed, "
                                   f"first: {failed[0][:2]}")
        levels.append(calibrator.profile(source, meter))
    profile, *busy = levels
    if busy:
        profile["busy"] = {name: busy[0][name] for name in (
            *costs.LEVEL_FIGURES, "utilisation", "measured")}
        if profile["busy"]["utilisation"] <= profile["utilisation"]:
            raise CommandError(
                f"calibration: the core was no busier in the busy part "
                f"({profile['busy']['utilisation']:.0%}) than in the first one "
                f"({profile['utilisation']:.0%})")
    costs.check_profile(profile, source)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(profile, stream, indent=2, sort_keys=True)
        stream.write("\n")
    return profile


def _calibrate(path: str, debug: bool) -> int:
    with _quiet_logs(None if debug else os.devnull):
        profile = calibrate(path)
    measured = profile["measured"]
    print(f"Calibrated on the real clock: {measured['dispatches']} dispatches, "
          f"{measured['transactions']} transactions, {measured['hops']} hops, "
          f"{measured['api_requests']} API requests, {measured['work_units']} units of "
          f"other work")
    print(f"The figures account for {measured['coverage']:.0%} of the process's "
          f"{measured['cpu_seconds']:.2f} s of CPU (the hub's loop: "
          f"{measured['hub_loop']:.0%}); its core was busy {profile['utilisation']:.0%} "
          f"of the time")
    busy = profile.get("busy")
    if busy is not None:
        print(f"On a busy core ({busy['utilisation']:.0%} of the time): "
              f"{busy['measured']['dispatches']} dispatches, the figures account for "
              f"{busy['measured']['coverage']:.0%} of {busy['measured']['cpu_seconds']:.2f} "
              f"s of CPU (the hub's loop: {busy['measured']['hub_loop']:.0%})")
    print(f"Cost profile: {path}")
    return 0


def _validate(task: Any, spec: Any) -> None:
    """Start the controllers of the cloud and resolve each workload's image and flavor."""
    from nova_sim import green
    from nova_sim.sim import cloudspec, engine
    from nova_sim.sim.client import ComputeClient
    from nova_sim.sim.task import TaskError

    with green.virtual_time(seed=0):
        sim = cloudspec.build(spec, computes=False)
        try:
            client = ComputeClient(engine.api_application(sim), "admin:admin")
            for workload in task.workloads:
                engine.resolve_workload(client, workload)
        except TaskError as error:
            raise UsageError(str(error))
        finally:
            sim.stop()


def _compare(argv: list[str]) -> int:
    from nova_sim.sim import compare

    parser = _Parser(prog="nova-sim simulate compare",
                     description="Compare two simulate output directories.")
    parser.add_argument("dir_a", metavar="DIR_A")
    parser.add_argument("dir_b", metavar="DIR_B")
    options = parser.parse_args(argv)
    try:
        rows = compare.compare(options.dir_a, options.dir_b)
    except compare.CompareError as error:
        raise UsageError(str(error))
    print(compare.format_rows(rows))
    return 0


def _write(directory: str, name: str, text: str) -> None:
    try:
        with open(os.path.join(directory, name), "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise CommandError(f"cannot write {name} in {directory}: {error.strerror}")


@contextlib.contextmanager
def _quiet_logs(path: str | None) -> Iterator[None]:
    """While the block runs, the logs go to ``path`` instead of the terminal (None:
    unchanged); the handlers are put back afterwards."""
    if path is None:
        yield
        return
    root = logging.getLogger()
    saved = list(root.handlers)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    for old in saved:
        if isinstance(old, logging.StreamHandler) and not isinstance(
                old, logging.FileHandler):
            root.removeHandler(old)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for old in saved:
            if old not in root.handlers:
                root.addHandler(old)


class _Progress:
    """A tqdm bar on standard error (iterations done, simulated time, wall time)."""

    def __init__(self, task: Any, options: Any):
        from nova_sim.sim import runners

        planned = [runners.planned_iterations(w.runner_type, w.runner)
                   for w in task.workloads]
        self.total = None if None in planned else sum(planned) * options.repeat
        self.enabled = not options.no_progress and sys.stderr.isatty()
        self.bar: Any = None
        self.seed = options.seed

    def __enter__(self) -> _Progress:
        if self.enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="it", file=sys.stderr, leave=False,
                            dynamic_ncols=True)
        return self

    def update(self, state: dict[str, Any]) -> None:
        """One more iteration done."""
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(f"seed {self.seed} sim {state['sim_time']:.1f}s",
                                     refresh=False)

    def __exit__(self, *exc_info: Any) -> None:
        if self.bar is not None:
            self.bar.close()
