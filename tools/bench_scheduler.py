#!/usr/bin/env python3
"""Benchmark the scheduler's select_destinations at 1,000 and 10,000 hosts.

Each measurement runs in a fresh subprocess: an in-memory database with N computes of
the fake driver's default size (16 vCPUs at cpu_allocation_ratio 4.0, 64 GiB RAM with
512 MiB reserved, 1 TiB disk), their services heartbeating, nodes and resource providers;
then ``requests`` m1.small boots are scheduled one after the other, each a full
``select_destinations`` with return_alternates=True: refresh of the host cache, candidates,
filters, weighers, the atomic claim in SQLite and the alternates. Latency is wall-clock
(``time.perf_counter``) per call; the parent prints p50 / p99 (median over rounds), the
process CPU time per call (close to the latency on an idle machine, and much less
sensitive to other processes sharing the CPUs) and the database transactions per call.

Variants:
- ``direct``: the manager's method called in-process (what the scheduler itself costs);
- ``rpc``:    the same through ``SchedulerAPI`` -> green:// -> RPCServer -> manager
              (adds the RPC round trip on the hub);
- ``all``:    direct, with ``[scheduler] max_placement_results`` = N, so that every host
              is filtered and weighed (Nova's default 1000 caps it, as placement does).

    python tools/bench_scheduler.py                   # 3 rounds, 1,000 and 10,000 hosts
    python tools/bench_scheduler.py --hosts 1000 --rounds 5 --variants direct,rpc
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS_MS = {1000: 5.0, 10000: 50.0}  # p50 targets of the issue


def build_cloud(hosts: int):
    """An in-memory database holding ``hosts`` computes; returns (db, conf)."""
    sys.path.insert(0, ROOT)
    from nova_sim.conf import new_conf
    from nova_sim.db import Database
    from nova_sim.scheduler.utils import compute_node_inventory

    conf = new_conf()
    db = Database("sqlite://")
    db.ensure_default_flavors()
    with db.transaction():
        for index in range(hosts):
            host = f"compute{index:05d}"
            service = db.service_create(
                {"binary": "nova-compute", "host": host, "topic": "compute"}
            )
            db.service_heartbeat(service["id"])
            node = db.compute_node_create_or_update(
                {"host": host, "vcpus": 16, "memory_mb": 65536, "local_gb": 1024,
                 "cpu_allocation_ratio": 4.0, "ram_allocation_ratio": 1.0,
                 "disk_allocation_ratio": 1.0, "service_id": service["id"],
                 "memory_mb_used": 512}
            )
            db.resource_provider_ensure(
                node["uuid"], host, compute_node_inventory(node, reserved_host_memory_mb=512)
            )
    return db, conf


def measure(hosts: int, requests: int, variant: str, warmup: int) -> dict:
    """One measurement in this process: latencies (ms) of ``requests`` calls."""
    db, conf = build_cloud(hosts)
    from nova_sim import green, rpc
    from nova_sim.context import RequestContext, RequestContextSerializer
    from nova_sim.scheduler.manager import SchedulerManager
    from nova_sim.scheduler.rpcapi import SchedulerAPI

    if variant == "all":
        conf.set_override("max_placement_results", hosts, "scheduler")
    manager = SchedulerManager(db=db, conf=conf)
    flavor = db.flavor_get_by_flavor_id("2")
    spec = {"flavor": flavor, "project_id": "p", "user_id": "u", "num_instances": 1,
            "image": {"id": "cirros", "properties": {}}}
    ctxt = RequestContext(user_id="u", project_id="p", overwrite=False)
    if variant == "rpc":
        transport = rpc.get_transport("green://bench-scheduler")
        server = rpc.RPCServer(
            transport, rpc.Target(topic="scheduler", server="scheduler1"), [manager],
            serializer=RequestContextSerializer(),
        )
        server.start()
        api = SchedulerAPI(transport, conf)

        def select(uuid):
            return api.select_destinations(ctxt, spec, [uuid], return_objects=True,
                                           return_alternates=True)
    else:
        def select(uuid):
            return manager.select_destinations(ctxt, spec, [uuid], return_objects=True,
                                               return_alternates=True)

    for index in range(warmup):
        select(f"warm-{index}")
    latencies = []
    before = db.transactions
    cpu_start = time.process_time()
    for index in range(requests):
        uuid = f"00000000-0000-4000-8000-{index:012d}"
        start = time.perf_counter()
        host_lists = select(uuid)
        latencies.append((time.perf_counter() - start) * 1000.0)
        assert len(host_lists[0]) == 3
    cpu = (time.process_time() - cpu_start) * 1000.0 / requests
    transactions = (db.transactions - before) / requests
    if variant == "rpc":
        server.stop()
        server.wait()
    del green  # imported for the hub the rpc variant runs on
    latencies.sort()
    return {
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "mean": statistics.fmean(latencies),
        "cpu": cpu,
        "transactions": transactions,
    }


def run_child(hosts: int, requests: int, variant: str, warmup: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(hosts), str(requests), variant, str(warmup)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="1000,10000", help="comma-separated host counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=500, help="measured calls per round")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--variants", default="direct,rpc,all")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        hosts, requests, variant, warmup = args.child
        print(json.dumps(measure(int(hosts), int(requests), variant, int(warmup))))
        return
    host_counts = [int(value) for value in args.hosts.split(",")]
    variants = args.variants.split(",")
    results: dict = {}
    for _round in range(args.rounds):
        for hosts in host_counts:
            for variant in variants:
                result = run_child(hosts, args.requests, variant, args.warmup)
                results.setdefault((hosts, variant), []).append(result)
    print(f"select_destinations, m1.small, return_alternates=True, {args.requests} calls "
          f"per round, median of {args.rounds} rounds")
    print(f"{'hosts':>6} {'variant':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} "
          f"{'cpu ms':>7} {'db tx/call':>10}  target p50")
    for (hosts, variant), rounds in results.items():
        p50 = statistics.median(r["p50"] for r in rounds)
        p99 = statistics.median(r["p99"] for r in rounds)
        mean = statistics.median(r["mean"] for r in rounds)
        transactions = statistics.median(r["transactions"] for r in rounds)
        cpu = statistics.median(r["cpu"] for r in rounds)
        target = TARGETS_MS.get(hosts)
        verdict = "" if target is None else f"< {target:g} ms {'ok' if p50 < target else 'MISSED'}"
        print(f"{hosts:>6} {variant:>7} {p50:>8.2f} {p99:>8.2f} {mean:>8.2f} {cpu:>7.2f} "
              f"{transactions:>10.1f}  {verdict}")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.2f} on {os.cpu_count()} CPUs (cpu ms = process "
          f"CPU time per call, what the figures would be on an idle machine)")


if __name__ == "__main__":
    main()
