"""Benchmark: does the hub keep time while greenthreads hammer a database server?

On the real clock, ``--workers`` greenthreads (default 50) run database-heavy requests in
a loop against ``--db`` (default: a database of its own on the local MariaDB, created and
dropped by the run): each request creates an instance, claims resources for it, lists
the project's instances, updates it, releases its claim and deletes it, as a boot and a
delete do.
Meanwhile one greenthread sleeps 10 ms in a loop and records how late each wake-up is.
Calls to a server run in native threads (``nova_sim.green.tpool``), so only the calling
greenthread waits on the socket; the sleeper's worst lateness shows whether the hub was
ever blocked. ``--direct`` runs the calls on the hub's thread instead (what the thread
pool prevents), for comparison.

Prints, per run, the requests per second, the sleeper's median, 99th percentile and worst
lateness; then the median of the runs' worst lateness (target: at most 50 ms).

    .venv/bin/python tools/bench_db_hub.py [--duration 60] [--runs 3] [--workers 50]
        [--db mysql+pymysql://root@127.0.0.1/DB] [--direct]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402

from nova_sim import green  # noqa: E402
from nova_sim.db import Database  # noqa: E402
from nova_sim.db.migration import db_sync  # noqa: E402

SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
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


def one_run(url: str, duration: float, workers: int, direct: bool, use_tpool: bool) -> dict:
    """One run on a fresh real-clock hub; the run's figures."""
    from nova_sim.db.engine import DIRECT
    from nova_sim.green.hub import Hub, set_hub

    old = set_hub(Hub())
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
        while time.monotonic() < deadline:
            start, thread_cpu, process_cpu = (time.monotonic(), time.thread_time(),
                                              time.process_time())
            green.sleep(0.010)
            late = time.monotonic() - start - 0.010
            lateness.append(late)
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
    threads = [green.spawn(worker, index) for index in range(workers)]
    watcher = green.spawn(sleeper)
    watcher.wait()
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    gc.callbacks.remove(gc_watch)
    db.close()
    set_hub(old)
    ordered = sorted(lateness) or [elapsed]  # never woke: late by the whole run
    return {
        "requests_per_s": done[0] / elapsed,
        "requests_per_cpu_s": done[0] / cpu,
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "worst_ms": ordered[-1] * 1000,
        "worst_hub_cpu_ms": worst[1] * 1000,
        "worst_process_cpu_ms": worst[2] * 1000,
        "full_gcs": len(pauses),
        "longest_gc_ms": max(pauses, default=0.0) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--db", default=None, help="database URL (default: a database of "
                        "its own on the local MariaDB)")
    parser.add_argument("--threads", type=int, default=None,
                        help="native threads of the pool (default: nova_sim.green.tpool's)")
    parser.add_argument("--use-tpool", action="store_true",
                        help="[database] use_tpool: run the calls in native threads")
    parser.add_argument("--direct", action="store_true",
                        help="call the database on the hub's thread with blocking sockets")
    args = parser.parse_args()
    if args.threads:
        from nova_sim.green import tpool

        tpool.set_num_threads(args.threads)
    url = args.db or own_database(SERVER)
    try:
        db_sync(url)
        worst = []
        for run in range(1, args.runs + 1):
            figures = one_run(url, args.duration, args.workers, args.direct, args.use_tpool)
            worst.append(figures["worst_ms"])
            print(f"run {run}: {figures['requests_per_s']:.0f} requests/s "
                  f"({figures['requests_per_cpu_s']:.0f} per CPU-second); sleeper late by "
                  f"median {figures['median_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                  f"worst {figures['worst_ms']:.1f} ms", flush=True)
            print(f"       during the worst wake-up the hub's thread ran "
                  f"{figures['worst_hub_cpu_ms']:.1f} ms of CPU, the process "
                  f"{figures['worst_process_cpu_ms']:.1f} ms; {figures['full_gcs']} full "
                  f"collections, the longest {figures['longest_gc_ms']:.1f} ms", flush=True)
    finally:
        if args.db is None:
            drop_database(url)
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    mode = ("direct blocking calls on the hub" if args.direct else
            "calls in the thread pool (use_tpool)" if args.use_tpool else
            "green PyMySQL on the hub" if "pymysql" in url else "calls in the thread pool")
    print(f"\n{shown}, {args.workers} workers, {mode}, {args.runs} runs of {args.duration:.0f} s")
    print(f"worst lateness of a 10 ms sleep (median of runs) {statistics.median(worst):.1f} ms "
          f"(target: at most 50 ms)")


if __name__ == "__main__":
    main()
