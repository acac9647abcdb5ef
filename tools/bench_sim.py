"""Benchmark: wall time of a big idle cloud on the virtual clock.

Builds ``Cloud(computes=N, virtual=True)`` (``green://``, in-memory SQLite, every
periodic task nova-sim runs at Nova's intervals, heartbeats every ``report_interval``)
inside ``green.virtual_time()``, lets ``--duration`` simulated seconds pass with nothing
else to do, and prints:

- start-up: wall seconds to start the conductor, the scheduler and the N computes;
- run: wall seconds for the simulated duration (the figure the targets are about), and
  per simulated hour;
- peak RSS of the process (``ru_maxrss``);
- events per second of wall time, events being the hub's timers plus the RPC messages
  (requests and replies) the green broker routed, with database transactions beside;
- the wall time to stop the cloud (apart: the figures above are printed before).

Wall time counts what the machine gave the process; the CPU seconds beside it count
what the process used, which is the steadier figure on a shared machine.

``--servicegroup-driver`` picks ``[DEFAULT] servicegroup_driver`` (``db``: heartbeats are
conductor calls writing the services table; ``mc``: the in-memory service group).
``--profile FILE`` runs the simulated period under cProfile and writes the stats there
(``python -m pstats FILE``); profiling roughly doubles the wall time.

    .venv/bin/python tools/bench_sim.py [--computes 1000] [--duration 3600]
        [--servicegroup-driver db|mc] [--seed 1] [--profile FILE]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nova_sim import green  # noqa: E402
from nova_sim.deploy.cloud import Cloud, new_conf, zero_latency  # noqa: E402
from nova_sim.rpc.transport import green as green_transport  # noqa: E402


def _timers_scheduled(hub: green.Hub) -> int:
    """How many timers the hub has scheduled so far (its sequence counter)."""
    return int(repr(hub._sequence)[6:-1])


def _messages_routed(hub: green.Hub) -> int:
    brokers = green_transport._brokers.get(hub, {})
    return sum(broker.published for broker in brokers.values())


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(computes: int, duration: float, driver: str, seed: int = 1,
        profile: str | None = None, before_stop: Callable[[dict], None] | None = None) -> dict:
    """One idle cloud of ``computes`` hosts for ``duration`` simulated seconds; returns
    the figures (wall seconds, counts) as a dict. ``before_stop(figures)`` is called
    before the cloud stops (stopping is timed apart, as ``stop``)."""
    conf = zero_latency(new_conf())
    conf.set_override("servicegroup_driver", driver)
    figures: dict = {"computes": computes, "duration": duration, "driver": driver}
    with green.virtual_time(seed=seed) as hub:
        started = time.perf_counter()
        cloud = Cloud(conf=conf, computes=computes, virtual=True).start()
        figures["startup"] = time.perf_counter() - started
        figures["startup_rss_mb"] = peak_rss_mb()
        timers = _timers_scheduled(hub)
        messages = _messages_routed(hub)
        transactions = cloud.db.transactions
        simulated = hub.now
        # (a started Cloud keeps its start-up objects, most of the heap, out of the
        # collector's sight until it stops: full collections do not scan 1,000 hosts'
        # services, in which they would find nothing to free)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU: the machine is shared
            profiler.enable()
        started = time.perf_counter()
        cpu = time.process_time()
        green.sleep(duration)
        figures["run"] = time.perf_counter() - started
        figures["run_cpu"] = time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        figures["simulated"] = hub.now - simulated
        figures["timers"] = _timers_scheduled(hub) - timers
        figures["messages"] = _messages_routed(hub) - messages
        figures["transactions"] = cloud.db.transactions - transactions
        figures["peak_rss_mb"] = peak_rss_mb()
        services = cloud.db.service_get_all()
        figures["services_up"] = sum(
            1 for service in services
            if cloud.api.servicegroup_api.service_is_up(service)
        )
        figures["services"] = len(services)
        if before_stop is not None:
            before_stop(figures)
        started = time.perf_counter()
        cloud.stop()
        figures["stop"] = time.perf_counter() - started
    return figures


def report(figures: dict) -> str:
    """The figures as the lines the benchmark prints."""
    run_s = figures["run"]
    per_hour = run_s * 3600.0 / figures["simulated"] if figures["simulated"] else 0.0
    cpu_per_hour = (figures["run_cpu"] * 3600.0 / figures["simulated"]
                    if figures["simulated"] else 0.0)
    events = figures["timers"] + figures["messages"]
    return "\n".join([
        f"bench_sim: {figures['computes']} idle computes, servicegroup_driver="
        f"{figures['driver']}, {figures['simulated']:.0f} simulated s",
        f"  start-up      {figures['startup']:8.2f} s wall "
        f"(RSS {figures['startup_rss_mb']:.0f} MB)",
        f"  run           {run_s:8.2f} s wall ({figures['run_cpu']:.2f} s CPU), "
        f"{per_hour:.2f} s per simulated hour ({cpu_per_hour:.2f} s CPU)",
        f"  peak RSS      {figures['peak_rss_mb']:8.0f} MB",
        f"  events        {events:8d} ({figures['timers']} timers, {figures['messages']} RPC "
        f"messages), {events / run_s if run_s else 0:,.0f} per wall second; "
        f"{figures['transactions']} database transactions",
        f"  services up   {figures['services_up']} of {figures['services']} at the end",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computes", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=3600.0,
                        help="simulated seconds to run (default: one hour)")
    parser.add_argument("--servicegroup-driver", choices=("db", "mc"), default="db")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", metavar="FILE",
                        help="write cProfile stats of the simulated period to FILE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    figures = run(args.computes, args.duration, args.servicegroup_driver, args.seed,
                  args.profile, before_stop=lambda figures: print(report(figures), flush=True))
    print(f"  stop          {figures['stop']:8.2f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
