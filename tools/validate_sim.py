"""Validation of the cost model: the one-process cloud on the real clock vs the virtual one.

Runs ``NovaServers.boot_and_delete_server`` at a constant rate (Rally's ``rps`` runner)
on a cloud of ``--hosts`` hosts whose hypervisor spawns in a fixed 0.5 s, at a light
load and at an overload, each ``--runs`` times (seeds 1..N) on ``--clock real`` (no
cost model: the machine's own costs) and on ``--clock virtual`` with a profile
calibrated on this machine and made ``shared_core`` (the real cloud is one process, so
one core). It prints, per load, the median over the runs of the p50 and p95 of the
server-side boot time (the create action's start to ``launched_at``) on each clock and
the virtual figure's difference from the real one.

On a shared machine the real process does not have a core to itself: while the load
runs, the kernel's schedstat gives its CPU time and its time waiting for a core, so
its *share* of a core. Each virtual run is made twice: with the profile (a core of its
own) and with the profile slowed down to the share the paired real run got (every
figure divided by it); both tables are printed.

Then it sweeps the load (``--sweep``, boots per second, each point ``--sweep-seconds``
of load, at least ``--light-iterations`` boots) on both clocks and finds the knee: the
load where the median p95 first reaches twice the light load's p95 on the same clock,
interpolated linearly between the sweep points around it.

    .venv/bin/python tools/validate_sim.py [--hosts 50] [--runs 3] [--light 1]
        [--light-iterations 20] [--overload 100] [--overload-iterations 300]
        [--sweep 10,20,30,40,50,60,80,100,150,200] [--sweep-seconds 3] [--profile FILE]
        [--save-profile FILE] [--save-real FILE] [--real FILE] [--real-only]

Without ``--profile`` it calibrates first (``nova-sim simulate --calibrate``, two to
three minutes), so that the profile is measured at the load the real runs see.
The real runs take real time: about ``iterations / rps`` seconds each plus the drain. It
prints the load average before and after: the real runs share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nova_sim.cmd.simulate import calibrate, default_costs_path  # noqa: E402
from nova_sim.sim import cloudspec, costs, engine, runners  # noqa: E402
from nova_sim.sim.task import task_from_config  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (linear between ranks, as Rally's)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * fraction
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def boot_times(hosts: int, rps: float, iterations: int, seed: int, clock: str,
               profile: dict | None) -> tuple[float, float, int, float, float]:
    """One run: (p50, p95) of the server-side boot time, the failed iterations, on the
    real clock the share of a core the process got when it could run (its CPU time over
    its CPU time and its wait for a core; 1.0 on the virtual clock or unknown), and the
    CPU seconds per iteration (real: the process's while the load ran; virtual: what
    the model charged)."""
    task = task_from_config({"version": 2, "title": "validate", "subtasks": [{
        "title": "boot", "workloads": [{
            "scenario": {"NovaServers.boot_and_delete_server": {
                "image": {"name": "^cirros.*-disk$"}, "flavor": {"name": "m1.tiny"}}},
            "runner": {"rps": {"times": iterations, "rps": rps}},
            "contexts": {"quotas": {"nova": {"instances": -1, "cores": -1,
                                             "ram": -1}}}}]}]})
    spec = cloudspec.parse_cloud({
        "host_groups": [{"name": "v", "count": hosts, "vcpus": 64, "memory_mb": 262144}],
        "options": {"fake_driver": {"spawn_latency": "fixed:0.5",
                                    "delete_latency": "fixed:0.1"}}})
    model = costs.CostModel(profile) if profile is not None and clock == "virtual" else None
    window: list[tuple[float, float] | None] = []
    run_load = runners.run

    def measured_load(*args: Any, **kwargs: Any) -> Any:
        # the share is measured while the load runs (to its last iteration's end), not
        # while the cloud starts and stops
        window.append(costs.run_queue())
        try:
            return run_load(*args, **kwargs)
        finally:
            window.append(costs.run_queue())

    runners.run = measured_load
    try:
        result = engine.run_task(task, spec, seed=seed, clock=clock, costs=model)
    finally:
        runners.run = run_load
    share, cpu = 1.0, model.busy_seconds if model is not None else 0.0
    if clock == "real" and None not in window:
        (cpu_before, wait_before), (cpu_after, wait_after) = window  # type: ignore[misc]
        cpu, waiting = cpu_after - cpu_before, wait_after - wait_before
        share = cpu / (cpu + waiting) if cpu > 0 else 1.0
    [workload] = result.workloads
    boots = workload.nova["phases"]["boot"]
    failed = sum(1 for it in workload.iterations if it["error"])
    return (percentile(boots, 0.5), percentile(boots, 0.95), failed, share,
            cpu / iterations)


#: The three ways each load runs: the real clock, the virtual clock with the profile
#: (a core of its own), and the virtual clock with the profile slowed down to the share
#: of a core the paired real run got.
WAYS = ("real", "virtual", "virtual at share")


def measure(hosts: int, rps: float, iterations: int, runs: int, profile: dict,
            real_runs: list | None = None
            ) -> tuple[dict[str, tuple[float, float, int, float, float]], list]:
    """Per way, the medians over ``runs`` runs (seeds 1..N) of the p50, the p95, the
    real runs' share of a core and the CPU per iteration, and the failures; and the real
    runs' own figures (``real_runs`` when given: runs recorded earlier, not run again)."""
    if real_runs is None:
        real_runs = [list(boot_times(hosts, rps, iterations, seed, "real", None))
                     for seed in range(1, runs + 1)]
    results: dict[str, list[tuple[float, float, int, float, float]]] = {
        way: [] for way in WAYS}
    for seed, real in zip(range(1, runs + 1), real_runs, strict=True):
        results["real"].append(tuple(real))
        results["virtual"].append(boot_times(hosts, rps, iterations, seed, "virtual",
                                             profile))
        slowed = costs.scaled(profile, 1 / real[3])
        results["virtual at share"].append(
            boot_times(hosts, rps, iterations, seed, "virtual", slowed)[:3]
            + (real[3], results["virtual"][-1][4]))
    return {way: (statistics.median(r[0] for r in rows),
                  statistics.median(r[1] for r in rows), sum(r[2] for r in rows),
                  statistics.median(r[3] for r in rows),
                  statistics.median(r[4] for r in rows))
            for way, rows in results.items()}, real_runs


def real_runs_key(options: Any) -> dict[str, Any]:
    """What a recorded real run must have been run with to stand for this one's."""
    return {"hosts": options.hosts, "runs": options.runs}


def write_real_runs(options: Any, real_runs: dict, loads_before: tuple,
                    loads_after: tuple) -> None:
    """Record the real runs' figures per load with when, where and at what load."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=os.path.dirname(os.path.abspath(__file__)),
                            check=False).stdout.strip()
    with open(options.save_real, "w", encoding="utf-8") as stream:
        json.dump({**real_runs_key(options), "date": time.strftime(
            "%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit,
            "load_average": {"before": loads_before, "after": loads_after},
            "points": [{"rps": rps, "iterations": iterations, "runs": runs}
                       for (rps, iterations), runs in real_runs.items()]}, stream,
            indent=1)


def read_real_runs(options: Any) -> dict[tuple[float, int], list]:
    """The real runs recorded in ``options.real`` by load; SystemExit when they were
    run with other hosts or another number of runs."""
    with open(options.real, encoding="utf-8") as stream:
        document = json.load(stream)
    if {key: document.get(key) for key in real_runs_key(options)} != real_runs_key(options):
        raise SystemExit(f"{options.real}: recorded with other --hosts or --runs")
    print(f"real runs: recorded {document['date']} at commit {document['commit']}, load "
          f"average {document['load_average']['before']} before, "
          f"{document['load_average']['after']} after")
    return {(float(point["rps"]), point["iterations"]): point["runs"]
            for point in document["points"]}


def knee(points: list[tuple[float, float]], reference: float) -> float | None:
    """The load where p95 first reaches twice ``reference``, interpolated linearly
    between the two sweep points around it; None when the sweep never gets there.
    ``points`` are (rps, p95) in increasing rps."""
    target = 2 * reference
    previous = None
    for rps, p95 in points:
        if p95 >= target:
            if previous is None or p95 == previous[1]:
                return rps
            low, low_p95 = previous
            return low + (target - low_p95) * (rps - low) / (p95 - low_p95)
        previous = (rps, p95)
    return None


def sweep_iterations(rps: float, seconds: float, minimum: int) -> int:
    """Iterations of a sweep point: ``seconds`` of load at ``rps``, at least ``minimum``."""
    return max(minimum, round(rps * seconds))


def diff(real: float, virtual: float) -> str:
    return f"{(virtual - real) / real:>+7.0%}" if real else f"{'n/a':>7}"


def print_table(title: str, way: str, rows: list, curves: list, sweep: list[float],
                options: Any) -> None:
    """The table of ``way`` against the real clock: the two loads, the sweep, the knee."""
    print(title)
    print(f"{'load':<9} {'rps':>5} {'iters':>5} {'share':>5} | {'real p50':>9} "
          f"{'virt p50':>9} {'diff':>7} | {'real p95':>9} {'virt p95':>9} {'diff':>7} | "
          f"{'ms CPU/it real':>14} {'virt':>5} | failed real/virt")
    def line(label: str, rps: float, iterations: int, real: Any, virtual: Any) -> None:
        print(f"{label:<9} {rps:>5g} {iterations:>5} {real[3]:>5.2f} | {real[0]:>9.3f} "
              f"{virtual[0]:>9.3f} {diff(real[0], virtual[0])} | {real[1]:>9.3f} "
              f"{virtual[1]:>9.3f} {diff(real[1], virtual[1])} | {real[4] * 1e3:>14.1f} "
              f"{virtual[4] * 1e3:>5.1f} | {real[2]}/{virtual[2]}")

    for label, rps, iterations, figures in rows:
        line(label, rps, iterations, figures["real"], figures[way])
    if not sweep:
        return
    for rps, figures in curves:
        line("sweep", rps,
             sweep_iterations(rps, options.sweep_seconds, options.light_iterations),
             figures["real"], figures[way])
    knees = {name: knee([(rps, figures[name][1]) for rps, figures in curves],
                        rows[0][3][name][1]) for name in ("real", way)}
    shown = {name: f"{value:.1f}" if value is not None else f"> {sweep[-1]:g}"
             for name, value in knees.items()}
    verdict = (diff(knees["real"], knees[way]).strip()
               if None not in knees.values() else "n/a")
    print(f"knee (p95 twice the light load's): real {shown['real']} rps, "
          f"virtual {shown[way]} rps, diff {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--light", type=float, default=1.0, help="light load, boots/s")
    parser.add_argument("--overload", type=float, default=400.0,
                        help="overload, boots/s (beyond what one core serves)")
    parser.add_argument("--light-iterations", type=int, default=20)
    parser.add_argument("--overload-iterations", type=int, default=1200)
    parser.add_argument("--sweep", default="20,50,100,150,200,250,300,350,400",
                        help="the loads (boots/s, comma-separated, increasing) where the "
                        "knee is searched; empty: no search")
    parser.add_argument("--sweep-seconds", type=float, default=3.0,
                        help="seconds of load at each sweep point")
    parser.add_argument("--profile", help="a calibrated profile (default: calibrate now)")
    parser.add_argument("--save-profile", metavar="FILE",
                        help="keep the profile calibrated first in FILE")
    parser.add_argument("--save-real", metavar="FILE",
                        help="write the real runs' figures (with the date, the commit and "
                        "the load average) to FILE")
    parser.add_argument("--real", metavar="FILE",
                        help="the real runs recorded by --save-real (same hosts, loads and "
                        "runs): compare the model with them instead of running them again")
    parser.add_argument("--real-only", action="store_true",
                        help="run the real runs only (to record them with --save-real)")
    options = parser.parse_args()
    logging.disable(logging.CRITICAL)
    loads_before = os.getloadavg()
    if options.profile or options.real_only:
        profile = costs.load_profile(options.profile or default_costs_path())
    else:
        with tempfile.TemporaryDirectory() as directory:
            path = options.save_profile or os.path.join(directory, "calibrated.json")
            calibrate(path)
            profile = costs.load_profile(path)
    profile = dict(profile, shared_core=True)
    sweep = [float(rps) for rps in options.sweep.split(",") if rps.strip()]
    loads = [("light", options.light, options.light_iterations),
             ("overload", options.overload, options.overload_iterations)]
    points = [(rps, iterations) for _label, rps, iterations in loads] + [
        (rps, sweep_iterations(rps, options.sweep_seconds, options.light_iterations))
        for rps in sweep]
    recorded = read_real_runs(options) if options.real else {}
    # every real run first, so that they run back to back (on a machine as quiet as it
    # is then); a sweep point that is also the overload runs once
    real_runs = {point: recorded.get(point) or [
        list(boot_times(options.hosts, point[0], point[1], seed, "real", None))
        for seed in range(1, options.runs + 1)] for point in dict.fromkeys(points)}
    loads_real = os.getloadavg()
    if options.save_real:
        write_real_runs(options, real_runs, loads_before, loads_real)
    if options.real_only:
        for (rps, iterations), runs in real_runs.items():
            print(f"real {rps:>5g} rps {iterations:>4} iterations: p50 "
                  f"{statistics.median(r[0] for r in runs):.3f} p95 "
                  f"{statistics.median(r[1] for r in runs):.3f} share "
                  f"{statistics.median(r[3] for r in runs):.2f} ms CPU/it "
                  f"{statistics.median(r[4] for r in runs) * 1e3:.1f} failed "
                  f"{sum(r[2] for r in runs)}")
        print("load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: "
              "{:.2f} {:.2f} {:.2f}".format(*loads_before, *loads_real))
        return 0
    measured = {point: measure(options.hosts, point[0], point[1], options.runs, profile,
                               real_runs[point])[0] for point in real_runs}
    rows = [(label, rps, iterations, measured[rps, iterations])
            for label, rps, iterations in loads]
    curves = [(rps, measured[point]) for rps, point in zip(sweep, points[2:], strict=True)]
    loads_after = os.getloadavg()
    print(f"{options.hosts} hosts, boot-and-delete at a constant rate, medians of "
          f"{options.runs} runs; server-side boot time (s); share: of a core, what the "
          f"real runs got while they could run")
    print_table("virtual: the profile slowed down to the share of a core of the paired "
                "real run", "virtual at share", rows, curves, sweep, options)
    print()
    print_table("virtual: the profile on a core of its own", "virtual", rows, curves,
                sweep, options)
    print("load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f}, after: "
          "{:.2f} {:.2f} {:.2f}".format(*loads_before, *loads_after))
    print(json.dumps({"profile_source": profile["source"],
                      "measured": profile.get("measured", {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
