"""Benchmark: boots per second of a whole cloud in one process, end to end.

One process, ``green://`` transport, in-memory SQLite, a zero-latency fake driver,
``--computes`` compute hosts of the default size, m1.small. Each round starts a fresh cloud
on the real clock, then boots ``--boots`` servers through ``nova_sim.compute.api.API``
(one request each, as API calls would) and stops the clock when the last one is ACTIVE.
The machine is shared, so beside the wall-clock rate it prints boots per CPU-second of
this process (what it reaches when it has a core to itself).
Printed beside the rate, so that no shortcut hides in it: RPC messages per boot
(requests by kind, and replies) and database transactions per boot (the benchmark's own
polling excluded). The median of ``--rounds`` rounds is reported.

    .venv/bin/python tools/bench_cloud.py [--boots 1000] [--computes 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nova_sim import context as nova_context  # noqa: E402
from nova_sim import green, rpc  # noqa: E402
from nova_sim.deploy import Cloud, new_conf, zero_latency  # noqa: E402
from nova_sim.image import CIRROS_IMAGE_ID  # noqa: E402


class MessageCounter:
    """RPC instrument: counts requests by kind and replies."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()

    def message_sent(self, kind, target, message):
        self.counts[kind] += 1

    def reply_sent(self, target, message, reply):
        self.counts["reply"] += 1


def one_round(boots: int, computes: int) -> dict:
    """One fresh cloud, ``boots`` boots; the figures of the round (tools/bench_trace.py
    reuses it: keep the keys)."""
    conf = zero_latency(new_conf())
    cloud = Cloud(conf=conf, computes=computes).start()
    ctxt = nova_context.RequestContext(user_id="bench", project_id="bench", overwrite=False)
    # Let start-up settle: the first resource reports, and the scheduler's cache past
    # its re-read window (a freshly started cloud re-reads every row for a second).
    green.sleep(1.5)
    counter = MessageCounter()
    rpc.add_instrument(counter)
    db = cloud.db
    transactions = db.transactions
    polling = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    try:
        for number in range(boots):
            cloud.api.create(ctxt, "2", CIRROS_IMAGE_ID, f"bench-{number}")
            if number % 50 == 49:
                green.sleep(0)  # a real API would yield between requests
        while True:
            before = db.transactions
            done = db.instance_count({"vm_state": "active"})
            failed = db.instance_count({"vm_state": "error"})
            polling += db.transactions - before
            if done + failed >= boots:
                break
            green.sleep(0.02)  # polling costs CPU too: keep it rare
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    finally:
        rpc.remove_instrument(counter)
    used = db.transactions - transactions - polling
    cloud.stop()
    return {
        "elapsed": elapsed, "rate": boots / elapsed, "active": done, "error": failed,
        "cpu": cpu, "cpu_rate": boots / cpu,
        "messages": dict(counter.counts), "transactions": used,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=1000)
    parser.add_argument("--computes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results = []
    for number in range(args.rounds):
        result = one_round(args.boots, args.computes)
        results.append(result)
        print(f"round {number + 1}: {result['rate']:.0f} boots/s "
              f"({result['elapsed']:.2f} s, {result['active']} active, "
              f"{result['error']} error; {result['cpu']:.2f} s of CPU: "
              f"{result['cpu_rate']:.0f} boots per CPU-second)", flush=True)
    rates = [r["rate"] for r in results]
    median = statistics.median(rates)
    cpu_rates = [r["cpu_rate"] for r in results]
    last = results[-1]
    messages = last["messages"]
    requests = sum(v for k, v in messages.items() if k != "reply")
    print()
    print(f"cloud: {args.computes} computes, green://, sqlite in memory, zero-latency "
          f"driver, m1.small, {args.boots} boots per round, {args.rounds} rounds")
    print(f"boots/s (median)         {median:.0f}   (min {min(rates):.0f}, "
          f"max {max(rates):.0f})")
    print(f"boots per CPU-second     {statistics.median(cpu_rates):.0f}   (the rate this "
          "process would reach with a core to itself)")
    print(f"RPC messages per boot    {(requests + messages.get('reply', 0)) / args.boots:.1f}"
          f"   (" + ", ".join(f"{k} {v / args.boots:.1f}" for k, v in sorted(messages.items()))
          + ")")
    print(f"DB transactions per boot {last['transactions'] / args.boots:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
