#!/usr/bin/env python3
"""Benchmark nova_sim.green against eventlet and gevent, side by side in one run.

Each (library, workload) measurement runs in a fresh subprocess; rounds are interleaved
(eventlet, gevent, nova_sim, eventlet, ...) so that machine noise hits all three alike.
The parent prints the median of each and the ratios measured in this run.

    python tools/bench_green.py              # 5 rounds, every workload
    python tools/bench_green.py --rounds 3 --only pingpong,sleep0

Workloads (the issue's targets are printed beside the ratios):
- pingpong: two greenthreads hand items back and forth through two Queues, 1M hand-offs.
- sleep0:   10 greenthreads each sleep(0) 100k times.
- pool_n:   GreenPool(1000) runs 100k jobs that each sleep(0), spawned with spawn_n
            (gevent: Pool(1000).spawn, it has no spawn_n).
- pool:     the same with spawn (a GreenThread per job).
- timers:   100k spawn_after timers with delays spread over [0, 0.1] s: CPU per timer.
- memory:   100k greenthreads blocked in sleep(3600): resident memory per greenthread.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

LIBRARIES = ("eventlet", "gevent", "nova_sim")

# (workload, unit, bigger_is_better, target description per peer: minimum speed-up)
WORKLOADS = {
    "pingpong": ("hand-offs/s", True, {"eventlet": 3.0, "gevent": 1.3}),
    "sleep0": ("yields/s", True, {"eventlet": 2.5, "gevent": 1.2}),
    "pool_n": ("jobs/s", True, {"eventlet": 3.0, "gevent": 2.0}),
    "pool": ("jobs/s", True, {"eventlet": 1.5}),
    "timers": ("us CPU/timer", False, {"eventlet": 1 / 0.7}),
    "memory": ("bytes/greenthread", False, {"eventlet": 1.0}),
}


def _api(lib: str):
    """Uniform names over the three libraries."""
    if lib == "eventlet":
        import eventlet
        import eventlet.queue

        return dict(spawn=eventlet.spawn, spawn_n=eventlet.spawn_n,
                    spawn_after=eventlet.spawn_after, sleep=eventlet.sleep,
                    Queue=eventlet.queue.Queue, Pool=eventlet.GreenPool,
                    pool_spawn_n=lambda p, f: p.spawn_n(f), pool_spawn=lambda p, f: p.spawn(f),
                    join=lambda t: t.wait(), pool_join=lambda p: p.waitall())
    if lib == "gevent":
        import gevent
        import gevent.pool
        import gevent.queue

        return dict(spawn=gevent.spawn, spawn_n=gevent.spawn_raw,
                    spawn_after=gevent.spawn_later, sleep=gevent.sleep,
                    Queue=gevent.queue.Queue, Pool=gevent.pool.Pool,
                    pool_spawn_n=lambda p, f: p.spawn(f), pool_spawn=lambda p, f: p.spawn(f),
                    join=lambda t: t.join(), pool_join=lambda p: p.join())
    from nova_sim import green

    return dict(spawn=green.spawn, spawn_n=green.spawn_n, spawn_after=green.spawn_after,
                sleep=green.sleep, Queue=green.Queue, Pool=green.GreenPool,
                pool_spawn_n=lambda p, f: p.spawn_n(f), pool_spawn=lambda p, f: p.spawn(f),
                join=lambda t: t.wait(), pool_join=lambda p: p.waitall())


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pingpong(api: dict) -> float:
    n = 1_000_000
    q1, q2 = api["Queue"](), api["Queue"]()

    def ping():
        put, get = q1.put, q2.get
        for i in range(n // 2):
            put(i)
            get()

    def pong():
        put, get = q2.put, q1.get
        for i in range(n // 2):
            get()
            put(i)

    start = time.perf_counter()
    a, b = api["spawn"](ping), api["spawn"](pong)
    api["join"](a)
    api["join"](b)
    return n / (time.perf_counter() - start)


def _sleep0(api: dict) -> float:
    per, count = 100_000, 10
    sleep = api["sleep"]

    def yielder():
        for _ in range(per):
            sleep(0)

    start = time.perf_counter()
    threads = [api["spawn"](yielder) for _ in range(count)]
    for thread in threads:
        api["join"](thread)
    return per * count / (time.perf_counter() - start)


def _pool(api: dict, submit_name: str) -> float:
    jobs = 100_000
    pool = api["Pool"](1000)
    submit, sleep = api[submit_name], api["sleep"]

    def job():
        sleep(0)

    start = time.perf_counter()
    for _ in range(jobs):
        submit(pool, job)
    api["pool_join"](pool)
    return jobs / (time.perf_counter() - start)


def _timers(api: dict) -> float:
    count = 100_000
    fired = [0]

    def callback():
        fired[0] += 1

    delays = [0.1 * i / count for i in range(count)]
    start = time.process_time()
    for d in delays:
        api["spawn_after"](d, callback)
    while fired[0] < count:
        api["sleep"](0.01)
    return (time.process_time() - start) / count * 1e6


def _memory(api: dict) -> float:
    import gc

    count = 100_000
    sleep = api["sleep"]

    def sleeper():
        sleep(3600)

    sleep(0)
    gc.collect()
    before = _rss()
    for _ in range(count):
        api["spawn"](sleeper)
    sleep(0)
    sleep(0)
    gc.collect()
    return (_rss() - before) / count


#: The function that measures each workload, given the library's names.
RUNNERS = {
    "pingpong": _pingpong,
    "sleep0": _sleep0,
    "pool_n": lambda api: _pool(api, "pool_spawn_n"),
    "pool": lambda api: _pool(api, "pool_spawn"),
    "timers": _timers,
    "memory": _memory,
}


def run_workload(lib: str, workload: str) -> float:
    """The figure of ``workload`` (see WORKLOADS for its unit) on ``lib``."""
    return RUNNERS[workload](_api(lib))


def child(lib: str, workload: str) -> None:
    value = run_workload(lib, workload)
    print(json.dumps({"lib": lib, "workload": workload, "value": value}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--child", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    workloads = [w for w in args.only.split(",") if w]
    results: dict = {w: {lib: [] for lib in LIBRARIES} for w in workloads}
    for workload in workloads:
        for rnd in range(args.rounds):
            for lib in LIBRARIES:
                out = subprocess.run([sys.executable, __file__, "--child", lib, workload],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    print(f"{lib} {workload} failed:\n{out.stderr}", file=sys.stderr)
                    continue
                value = json.loads(out.stdout.strip().splitlines()[-1])["value"]
                results[workload][lib].append(value)
            print(f"  round {rnd + 1}/{args.rounds} of {workload} done", file=sys.stderr)
    print(f"\nnova_sim.green vs eventlet and gevent: median of {args.rounds} interleaved rounds")
    print(f"{'workload':10} {'unit':18} {'eventlet':>12} {'gevent':>12} {'nova_sim':>12}"
          f"   ratios (nova_sim vs peer; >1 = nova_sim better) and targets")
    all_met = True
    for workload in workloads:
        unit, bigger_better, targets = WORKLOADS[workload]
        med = {lib: statistics.median(v) if v else float("nan")
               for lib, v in results[workload].items()}
        parts = []
        for peer in ("eventlet", "gevent"):
            if bigger_better:
                ratio = med["nova_sim"] / med[peer]
            else:
                ratio = med[peer] / med["nova_sim"]
            target = targets.get(peer)
            verdict = ""
            if target is not None:
                met = ratio >= target
                all_met &= met
                verdict = f" (target {target:.2f}x: {'met' if met else 'MISSED'})"
            parts.append(f"{peer} {ratio:.2f}x{verdict}")
        print(f"{workload:10} {unit:18} {med['eventlet']:12.1f} {med['gevent']:12.1f} "
              f"{med['nova_sim']:12.1f}   " + "; ".join(parts))
    print("\nall targets met" if all_met else "\nsome targets MISSED (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
