"""Benchmark: does the hub keep time while greenthreads hammer a database server?

On the real clock, ``--workers`` greenthreads (default 50) run database-heavy requests in
a loop against ``--db`` (default: a database of its own on the local MariaDB, or with
``--backend postgresql`` on the local PostgreSQL, created and dropped by the run): each
request creates an instance, claims resources for it, lists the project's instances,
updates it, releases its claim and deletes it, as a boot and a delete do.
Meanwhile one greenthread sleeps 10 ms in a loop and records how late each wake-up is.
The calls run as ``[database] use_tpool`` says: by default on the calling greenthread
with green drivers (PyMySQL over a green socket, psycopg waiting in the hub), with
``--use-tpool`` in native threads (``nova_sim.green.tpool``); either way only the calling
greenthread waits on the socket, and the sleeper's lateness shows how long the hub was
held. ``--direct`` runs the calls on the hub's thread with blocking sockets instead (what
both modes prevent), for comparison.

Prints, per run, the requests per second, the sleeper's median, 99th percentile and worst
lateness; then the median of the runs' worst lateness (target: at most 50 ms).
``--holds`` also records how long the hub loop and each greenthread ran between two
switches, what ran during the five latest wake-ups, and the hub thread's stacks in
stretches longer than 3 ms (it slows the run a little).

    .venv/bin/python tools/bench_db_hub.py [--duration 60] [--runs 3] [--workers 50]
        [--backend mysql|postgresql | --db URL] [--use-tpool | --direct] [--holds]
"""

from __future__ import annotations

import argparse
import array
import bisect
import collections
import gc
import os
import statistics
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from nova_sim import green  # noqa: E402
from nova_sim.db import Database  # noqa: E402
from nova_sim.db.migration import db_sync  # noqa: E402
from nova_sim.green.hub import Runner  # noqa: E402

#: --backend -> the server a run makes its own database on
SERVERS = {
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
}
SMALL = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


def own_database(server: str) -> str:
    """Create a uniquely named database on the server of ``server``; its URL."""
    name = f"nova_sim_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="test" if parsed.get_backend_name() == "mysql"
                                        else "postgres"),
                             isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        force = " WITH (FORCE)" if parsed.get_backend_name() == "postgresql" else ""
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {parsed.database}{force}")
    admin.dispose()


class HoldRecorder:
    """Instrument (``--holds``): where the hub's thread goes between two switches.

    Records every stretch a greenlet runs between two switches (its start, wall time and
    the thread's CPU time, and whether it was the hub loop, a worker or the sleeper) in
    arrays (not tracked by the garbage collector), and samples the hub thread's stack
    every millisecond while one stretch has run for more than ``SAMPLE_AFTER`` seconds
    (the hub idle in its poll aside). The sampler needs the interpreter lock, so it sees
    the hub's thread where that thread lets go of it: in system calls, or after the
    interpreter's switch interval (5 ms) of Python code.
    ``report(wake_ups)`` tells, for the latest wake-ups, what ran between their deadline
    and the wake-up.
    """

    HUB, WORKER, SLEEPER, OTHER = range(4)
    KINDS = ("hub loop", "workers", "sleeper", "other")
    SAMPLE_AFTER = 0.003

    def __init__(self, hub) -> None:
        self.hub = hub
        self.sleeper = None
        self.starts = array.array("d")
        self.walls = array.array("d")
        self.cpus = array.array("d")
        self.kinds = array.array("b")
        self.running = self.OTHER
        self.since = time.monotonic()
        self.since_cpu = time.thread_time()
        self.samples: collections.Counter = collections.Counter()
        self.sampled = 0
        self.thread_ident = threading.get_ident()
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def switched(self, origin, target) -> None:
        now, cpu = time.monotonic(), time.thread_time()
        self.starts.append(self.since)
        self.walls.append(now - self.since)
        self.cpus.append(cpu - self.since_cpu)
        self.kinds.append(self.running)
        self.since, self.since_cpu = now, cpu
        self.running = (self.HUB if target is self.hub.greenlet else
                        self.SLEEPER if target is self.sleeper else
                        self.WORKER if isinstance(target, Runner) else self.OTHER)

    def start(self) -> None:
        self.hub.add_instrument(self)
        self.sampler.start()

    def finish(self) -> None:
        self.stop.set()
        self.sampler.join()
        self.hub.remove_instrument(self)

    def _sample(self) -> None:
        while not self.stop.wait(0.001):
            if time.monotonic() - self.since < self.SAMPLE_AFTER or self.hub._sleeping:
                continue  # a short stretch, or the hub waiting in its poll (idle)
            frame = sys._current_frames().get(self.thread_ident)
            sites = []
            while frame is not None and len(sites) < 4:
                code = frame.f_code
                name = os.path.basename(code.co_filename)
                if "site-packages" in code.co_filename or "nova_sim" in code.co_filename:
                    sites.append(f"{name}:{code.co_name}")
                frame = frame.f_back
            self.samples[" < ".join(sites) or "(elsewhere)"] += 1
            self.sampled += 1

    def report(self, wake_ups: list[tuple[float, float]], worst: int = 5) -> list[str]:
        """Lines describing the stretches, and what ran during the ``worst`` latest
        wake-ups (``(deadline, lateness)`` pairs on ``time.monotonic()``)."""
        lines = []
        for kind, label in enumerate(self.KINDS):
            walls = sorted(w for w, k in zip(self.walls, self.kinds, strict=True) if k == kind)
            cpus = sorted(c for c, k in zip(self.cpus, self.kinds, strict=True) if k == kind)
            if not walls:
                continue
            lines.append(
                f"  {label}: {len(walls)} stretches, wall ms p50 {walls[len(walls) // 2] * 1e3:.2f}"
                f" p99 {walls[int(len(walls) * 0.99)] * 1e3:.2f} max {walls[-1] * 1e3:.1f};"
                f" CPU ms p50 {cpus[len(cpus) // 2] * 1e3:.2f} p99"
                f" {cpus[int(len(cpus) * 0.99)] * 1e3:.2f} max {cpus[-1] * 1e3:.1f};"
                f" total CPU {sum(cpus):.1f} s")
        starts = self.starts
        for deadline, late in sorted(wake_ups, key=lambda pair: -pair[1])[:worst]:
            first = bisect.bisect_left(starts, deadline)
            if first:
                first -= 1  # the stretch running at the deadline
            end = deadline + late
            wall = [0.0] * 4
            cpu = [0.0] * 4
            count = [0] * 4
            longest = (0.0, 0.0, 0)
            index = first
            while index < len(starts) and starts[index] < end:
                kind = self.kinds[index]
                w = min(starts[index] + self.walls[index], end) - max(starts[index], deadline)
                wall[kind] += w
                cpu[kind] += self.cpus[index]
                count[kind] += 1
                if w > longest[0]:
                    longest = (w, self.cpus[index], kind)
                index += 1
            parts = ", ".join(f"{self.KINDS[k]} {count[k]} x ({wall[k] * 1e3:.1f} ms, CPU "
                              f"{cpu[k] * 1e3:.1f} ms)" for k in range(4) if count[k])
            lines.append(f"  wake-up {late * 1e3:.1f} ms late: {parts}; longest stretch "
                         f"{longest[0] * 1e3:.1f} ms ({self.KINDS[longest[2]]}, CPU "
                         f"{longest[1] * 1e3:.1f} ms)")
        if self.sampled:
            lines.append(f"  stacks of stretches longer than {self.SAMPLE_AFTER * 1e3:.0f} ms "
                         f"({self.sampled} samples, 1 per ms):")
            for sites, count in self.samples.most_common(12):
                lines.append(f"    {count:6d}  {sites}")
        return lines


def one_run(url: str, duration: float, workers: int, direct: bool, use_tpool: bool,
            holds: bool = False) -> dict:
    """One run on a fresh real-clock hub; the run's figures."""
    from nova_sim.db.engine import DIRECT
    from nova_sim.green.hub import Hub, set_hub

    hub = Hub()
    old = set_hub(hub)
    # --direct: blocking sockets (no green connect), called on the hub's thread.
    db = Database(url, sync=False, max_pool_size=workers, max_overflow=10,
                  use_tpool=use_tpool or direct)
    if direct:
        db.mode = DIRECT
    providers = [
        db.compute_node_create_or_update(
            {"host": f"c{k}", "vcpus": 10**6, "memory_mb": 10**9, "local_gb": 10**9}
        )["uuid"]
        for k in range(20)
    ]
    for k, rp in enumerate(providers):
        db.resource_provider_ensure(
            rp, f"c{k}", {"VCPU": 10**6, "MEMORY_MB": 10**9, "DISK_GB": 10**9}
        )
    lateness: list[float] = []
    wake_ups: list[tuple[float, float]] = []  # (deadline, lateness)
    recorder = HoldRecorder(hub) if holds else None
    done = [0]
    deadline = time.monotonic() + duration

    worst = [0.0, 0.0, 0.0]  # the worst wake-up: lateness, hub thread's CPU, process CPU
    pauses: list[float] = []  # the garbage collector's full (generation 2) collections
    gc_started = [0.0]

    def gc_watch(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                gc_started[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - gc_started[0])

    def sleeper() -> None:
        if recorder is not None:
            recorder.sleeper = green.getcurrent().runner
        while time.monotonic() < deadline:
            start, thread_cpu, process_cpu = (time.monotonic(), time.thread_time(),
                                              time.process_time())
            green.sleep(0.010)
            late = time.monotonic() - start - 0.010
            lateness.append(late)
            wake_ups.append((start + 0.010, late))
            if late > worst[0]:
                worst[:] = [late, time.thread_time() - thread_cpu,
                            time.process_time() - process_cpu]

    def worker(index: int) -> None:
        project = f"p{index}"
        k = 0
        while time.monotonic() < deadline:
            rp = providers[(index + k) % len(providers)]
            instance = db.instance_create({"project_id": project, "vm_state": "building"})
            db.claim_resources(instance["uuid"], rp, SMALL, project_id=project)
            db.instance_get_all_by_filters({"project_id": project}, limit=20)
            db.instance_update(instance["uuid"], {"vm_state": "active", "host": f"c{k}"})
            db.remove_allocations(instance["uuid"])
            db.instance_destroy(instance["uuid"], hard=True)
            done[0] += 1
            k += 1

    gc.callbacks.append(gc_watch)
    started = time.monotonic()
    cpu_started = time.process_time()
    if recorder is not None:
        recorder.start()
    threads = [green.spawn(worker, index) for index in range(workers)]
    watcher = green.spawn(sleeper)
    watcher.wait()
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    gc.callbacks.remove(gc_watch)
    if recorder is not None:
        recorder.finish()
    db.close()
    set_hub(old)
    ordered = sorted(lateness) or [elapsed]  # never woke: late by the whole run
    return {
        "requests_per_s": done[0] / elapsed,
        "requests_per_cpu_s": done[0] / cpu,
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "over_50ms": sum(1 for late in ordered if late > 0.050),
        "wake_ups": len(lateness),
        "worst_ms": ordered[-1] * 1000,
        "worst_hub_cpu_ms": worst[1] * 1000,
        "worst_process_cpu_ms": worst[2] * 1000,
        "full_gcs": len(pauses),
        "longest_gc_ms": max(pauses, default=0.0) * 1000,
        "holds": recorder.report(wake_ups) if recorder is not None else [],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--db", default=None, help="database URL (default: a database of "
                        "its own on the local server of --backend)")
    parser.add_argument("--backend", choices=sorted(SERVERS), default="mysql",
                        help="the local server to make a database on (default: MariaDB)")
    parser.add_argument("--threads", type=int, default=None,
                        help="native threads of the pool (default: nova_sim.green.tpool's)")
    parser.add_argument("--use-tpool", action="store_true",
                        help="[database] use_tpool: run the calls in native threads")
    parser.add_argument("--direct", action="store_true",
                        help="call the database on the hub's thread with blocking sockets")
    parser.add_argument("--holds", action="store_true",
                        help="record how long each greenthread and the hub loop run between "
                        "switches, and what ran during the latest wake-ups (slows the run)")
    args = parser.parse_args()
    if args.threads:
        from nova_sim.green import tpool

        tpool.set_num_threads(args.threads)
    url = args.db or own_database(SERVERS[args.backend])
    try:
        db_sync(url)
        worst = []
        for run in range(1, args.runs + 1):
            figures = one_run(url, args.duration, args.workers, args.direct, args.use_tpool,
                             args.holds)
            worst.append(figures["worst_ms"])
            print(f"run {run}: {figures['requests_per_s']:.0f} requests/s "
                  f"({figures['requests_per_cpu_s']:.0f} per CPU-second); sleeper late by "
                  f"median {figures['median_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                  f"worst {figures['worst_ms']:.1f} ms ({figures['over_50ms']} of "
                  f"{figures['wake_ups']} wake-ups over 50 ms)", flush=True)
            print(f"       during the worst wake-up the hub's thread ran "
                  f"{figures['worst_hub_cpu_ms']:.1f} ms of CPU, the process "
                  f"{figures['worst_process_cpu_ms']:.1f} ms; {figures['full_gcs']} full "
                  f"collections, the longest {figures['longest_gc_ms']:.1f} ms", flush=True)
            for line in figures["holds"]:
                print(line, flush=True)
    finally:
        if args.db is None:
            drop_database(url)
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    mode = ("direct blocking calls on the hub" if args.direct else
            "calls in the thread pool (use_tpool)" if args.use_tpool else
            "green PyMySQL on the hub" if "pymysql" in url else
            "green psycopg on the hub" if "psycopg" in url else "calls in the thread pool")
    print(f"\n{shown}, {args.workers} workers, {mode}, {args.runs} runs of {args.duration:.0f} s")
    print(f"worst lateness of a 10 ms sleep (median of runs) {statistics.median(worst):.1f} ms "
          f"(target: at most 50 ms)")


if __name__ == "__main__":
    main()
