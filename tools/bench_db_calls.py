"""Benchmark: CPU time per call of the database's hot paths on in-memory SQLite.

Times ``instance_save`` (without and with an expected task state), the compute node
update (``compute_node_create_or_update`` of an existing node), a claim and its release
(``claim_resources`` + ``remove_allocations``) and ``instance_get``: ``--calls`` calls
each, the best of ``--repeats`` repetitions, in CPU microseconds per call
(``time.process_time``). ``--tree DIR`` imports nova_sim from another checkout (the same
interpreter), so that two versions can be compared on one machine in one sitting.

    .venv/bin/python tools/bench_db_calls.py [--tree DIR] [--calls 3000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), help="the checkout whose nova_sim is timed")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.abspath(args.tree))
    from nova_sim.db import Database

    db = Database("sqlite://")
    node = db.compute_node_create_or_update(
        {"host": "c0", "vcpus": 64, "memory_mb": 10**6, "local_gb": 10**6})
    db.resource_provider_ensure(
        node["uuid"], "c0", {"VCPU": 10**6, "MEMORY_MB": 10**9, "DISK_GB": 10**9})
    instance = db.instance_create(
        {"project_id": "p", "vm_state": "building", "task_state": "scheduling"})["uuid"]
    consumers = [f"00000000-0000-0000-0000-{k:012d}"
                 for k in range(args.calls * (args.repeats + 1))]
    small = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    taken = iter(consumers)

    def claim(_index: int) -> None:
        consumer = next(taken)
        db.claim_resources(consumer, node["uuid"], small, project_id="p")
        db.remove_allocations(consumer)

    cases = [
        ("instance_save", lambda i: db.instance_save(
            instance, {"task_state": "spawning" if i % 2 else "scheduling"})),
        ("instance_save, expected state", lambda i: db.instance_save(
            instance, {"task_state": "spawning"},
            expected_task_state=[None, "spawning", "scheduling"])),
        ("compute node update", lambda i: db.compute_node_create_or_update(
            {"host": "c0", "vcpus": 64, "memory_mb": 10**6, "local_gb": 10**6,
             "memory_mb_used": i, "vcpus_used": 1})),
        ("claim + release", claim),
        ("instance_get", lambda i: db.instance_get(instance)),
    ]
    print(f"nova_sim from {os.path.abspath(args.tree)}; in-memory SQLite; CPU us per call, "
          f"best of {args.repeats} x {args.calls} calls")
    for label, call in cases:
        warm = args.calls // 10
        for index in range(warm):
            call(index)
        best = float("inf")
        for _ in range(args.repeats):
            started = time.process_time()
            for index in range(args.calls):
                call(index)
            best = min(best, (time.process_time() - started) / args.calls * 1e6)
        print(f"{label:32} {best:7.1f}", flush=True)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
