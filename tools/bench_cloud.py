"""Benchmark: boots per second of a whole cloud in one process, end to end.

One process, ``green://`` transport, a zero-latency fake driver, ``--computes`` compute
hosts of the default size, m1.small; the database is in-memory SQLite, or each ``--db``
URL in turn (a server URL: the benchmark makes a database of its own there for each round
and drops it afterwards), side by side. Each round starts a fresh cloud
on the real clock, then boots ``--boots`` servers through ``nova_sim.compute.api.API``
(one request each, as API calls would) and stops the clock when the last one is ACTIVE.
The machine is shared, so beside the wall-clock rate it prints boots per CPU-second of
this process (what it reaches when it has a core to itself).
Printed beside the rate, so that no shortcut hides in it: RPC messages per boot
(requests by kind, and replies) and database transactions per boot (the benchmark's own
polling excluded), and the hub's worst lateness (a greenthread sleeping 10 ms in a loop
during the boots: how long the hub was ever held up). The median of ``--rounds`` rounds
is reported.

    .venv/bin/python tools/bench_cloud.py [--boots 1000] [--computes 100] [--rounds 5]
        [--db sqlite:// --db mysql+pymysql://root@127.0.0.1/test
         --db postgresql+psycopg://postgres@127.0.0.1/postgres] [--use-tpool]
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


def one_round(boots: int, computes: int, db_url: str | None = None,
              lateness_interval: float = 0.010, use_tpool: bool = False) -> dict:
    """One fresh cloud, ``boots`` boots; the figures of the round (tools/bench_trace.py
    reuses it: keep the keys). ``db_url``: the cloud's database (default in memory);
    ``lateness_interval``: the sleeper's period (0: no sleeper, lateness not measured);
    ``use_tpool``: ``[database] use_tpool``."""
    conf = zero_latency(new_conf())
    if use_tpool:
        conf.set_override("use_tpool", True, group="database")
    cloud = Cloud(conf=conf, computes=computes, db_url=db_url).start()
    ctxt = nova_context.RequestContext(user_id="bench", project_id="bench", overwrite=False)
    # Let start-up settle: the first resource reports, and the scheduler's cache past
    # its re-read window (a freshly started cloud re-reads every row for a second).
    green.sleep(1.5)
    counter = MessageCounter()
    rpc.add_instrument(counter)
    db = cloud.db
    transactions = db.transactions
    polling = 0
    lateness = [0.0]
    running = [True]

    def sleeper() -> None:
        while running[0] and lateness_interval:
            start = time.perf_counter()
            green.sleep(lateness_interval)
            lateness[0] = max(lateness[0], time.perf_counter() - start - lateness_interval)

    watcher = green.spawn(sleeper)
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
        running[0] = False
        watcher.wait()
    used = db.transactions - transactions - polling
    cloud.stop()
    return {
        "elapsed": elapsed, "rate": boots / elapsed, "active": done, "error": failed,
        "cpu": cpu, "cpu_rate": boots / cpu,
        "messages": dict(counter.counts), "transactions": used,
        "worst_lateness": lateness[0],
    }


def run_rounds(args: argparse.Namespace, url: str | None) -> list[dict]:
    """``args.rounds`` rounds on the database ``url`` (a server's: a fresh database of
    the benchmark's own each round)."""
    from bench_db_hub import drop_database, own_database

    from nova_sim.db.migration import db_sync

    results = []
    for number in range(args.rounds):
        server = url is not None and not url.startswith("sqlite")
        round_url = own_database(url) if server else url
        try:
            if server:
                db_sync(round_url)
            result = one_round(args.boots, args.computes, round_url, args.lateness_interval,
                               args.use_tpool)
        finally:
            if server:
                drop_database(round_url)
        results.append(result)
        print(f"round {number + 1}: {result['rate']:.0f} boots/s "
              f"({result['elapsed']:.2f} s, {result['active']} active, "
              f"{result['error']} error; {result['cpu']:.2f} s of CPU: "
              f"{result['cpu_rate']:.0f} boots per CPU-second"
              + (f"; hub late by at most {result['worst_lateness'] * 1000:.0f} ms"
                 if args.lateness_interval else "") + ")", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=1000)
    parser.add_argument("--computes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lateness-interval", type=float, default=0.010, metavar="SECONDS",
                        help="period of the greenthread that measures the hub's lateness "
                        "(default 0.010; 0: do not measure, for a CPU figure with nothing "
                        "added)")
    parser.add_argument("--db", action="append", metavar="URL",
                        help="database URL (repeatable: side by side; default sqlite://)")
    parser.add_argument("--use-tpool", action="store_true",
                        help="[database] use_tpool = true: database calls in native threads "
                        "(default: green PyMySQL and psycopg, SQLite direct)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    urls = args.db or [None]
    table = []
    for url in urls:
        if len(urls) > 1:
            print(f"--- {url}", flush=True)
        results = run_rounds(args, url)
        rates = [r["rate"] for r in results]
        last = results[-1]
        messages = last["messages"]
        requests = sum(v for k, v in messages.items() if k != "reply")
        table.append((url or "sqlite://", statistics.median(rates), min(rates), max(rates),
                      statistics.median(r["cpu_rate"] for r in results),
                      last["transactions"] / args.boots,
                      statistics.median(r["worst_lateness"] for r in results) * 1000,
                      (requests + messages.get("reply", 0)) / args.boots, messages))
    print()
    print(f"cloud: {args.computes} computes, green://, zero-latency driver, m1.small, "
          f"{args.boots} boots per round, {args.rounds} rounds")
    for url, median, low, high, cpu_rate, transactions, late, per_boot, messages in table:
        if len(table) > 1:
            print(f"[{url.split('://')[0]}]")
        print(f"boots/s (median)         {median:.0f}   (min {low:.0f}, max {high:.0f})")
        print(f"boots per CPU-second     {cpu_rate:.0f}   (the rate this process would "
              "reach with a core to itself)")
        print(f"RPC messages per boot    {per_boot:.1f}   (" + ", ".join(
            f"{k} {v / args.boots:.1f}" for k, v in sorted(messages.items())) + ")")
        print(f"DB transactions per boot {transactions:.1f}")
        if args.lateness_interval:
            print(f"hub's worst lateness     {late:.0f} ms   (median of rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
