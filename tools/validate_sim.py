"""Validation of the cost model: the one-process cloud on the real clock vs the virtual one.

Runs ``NovaServers.boot_and_delete_server`` at a constant rate (Rally's ``rps`` runner)
on a cloud of ``--hosts`` hosts whose hypervisor spawns in a fixed 0.5 s, at a light
load and at an overload, each ``--runs`` times (seeds 1..N) on ``--clock real`` (no
cost model: the machine's own costs) and on ``--clock virtual`` with a profile
calibrated on this machine and made ``shared_core`` (the real cloud is one process, so
one core). It prints, per load and clock, the median over the runs of the p50 and p95
of the server-side boot time (the create action's start to ``launched_at``) and the
virtual figure's difference from the real one.

    .venv/bin/python tools/validate_sim.py [--hosts 50] [--runs 3] [--light 1]
        [--light-iterations 20] [--overload 40] [--overload-iterations 120]
        [--profile FILE]

Without ``--profile`` it calibrates first (``nova-sim simulate --calibrate``, about 35 s).
The real runs take real time: about ``iterations / rps`` seconds each plus the drain. The
knee (the load where p95 doubles) is not searched.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nova_sim.cmd.simulate import calibrate  # noqa: E402
from nova_sim.sim import cloudspec, costs, engine  # noqa: E402
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
               profile: dict | None) -> tuple[float, float, int]:
    """One run: (p50, p95) of the server-side boot time and the failed iterations."""
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
    result = engine.run_task(task, spec, seed=seed, clock=clock, costs=model)
    [workload] = result.workloads
    boots = workload.nova["phases"]["boot"]
    failed = sum(1 for it in workload.iterations if it["error"])
    return percentile(boots, 0.5), percentile(boots, 0.95), failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--light", type=float, default=1.0, help="light load, boots/s")
    parser.add_argument("--overload", type=float, default=40.0, help="overload, boots/s")
    parser.add_argument("--light-iterations", type=int, default=20)
    parser.add_argument("--overload-iterations", type=int, default=120)
    parser.add_argument("--profile", help="a calibrated profile (default: calibrate now)")
    options = parser.parse_args()
    logging.disable(logging.CRITICAL)
    if options.profile:
        profile = costs.load_profile(options.profile)
    else:
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "calibrated.json")
            calibrate(path)
            profile = costs.load_profile(path)
    profile = dict(profile, shared_core=True)
    rows = []
    for label, rps, iterations in (
            ("light", options.light, options.light_iterations),
            ("overload", options.overload, options.overload_iterations)):
        figures = {}
        for clock in ("real", "virtual"):
            runs = [boot_times(options.hosts, rps, iterations, seed, clock, profile)
                    for seed in range(1, options.runs + 1)]
            figures[clock] = (statistics.median(r[0] for r in runs),
                              statistics.median(r[1] for r in runs),
                              sum(r[2] for r in runs))
        real, virtual = figures["real"], figures["virtual"]
        rows.append((label, rps, iterations, real, virtual))
    print(f"{options.hosts} hosts, boot-and-delete at a constant rate, medians of "
          f"{options.runs} runs; server-side boot time (s)")
    print(f"{'load':<9} {'rps':>5} {'iters':>5} | {'real p50':>9} {'virt p50':>9} {'diff':>7} | "
          f"{'real p95':>9} {'virt p95':>9} {'diff':>7} | failed real/virt")
    for label, rps, iterations, real, virtual in rows:
        print(f"{label:<9} {rps:>5g} {iterations:>5} | {real[0]:>9.3f} {virtual[0]:>9.3f} "
              f"{(virtual[0] - real[0]) / real[0]:>+7.0%} | {real[1]:>9.3f} "
              f"{virtual[1]:>9.3f} {(virtual[1] - real[1]) / real[1]:>+7.0%} | "
              f"{real[2]}/{virtual[2]}")
    print(json.dumps({"profile_source": profile["source"],
                      "measured": profile.get("measured", {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
