#!/usr/bin/env python3
"""What the instrument hooks cost: a fixed workload that passes every hook site.

Wall-clock rates on a shared machine move by more than what a hook costs, so this
workload is meant to be counted in instructions, which do not depend on the load::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \\
        python tools/bench_instruments.py green 5000 [--instrumented]

Run it with a count and with ``0`` (start-up only) and subtract: the difference is the
workload's own instructions. Compare two versions of the code, or a run with and
without ``--instrumented`` (a no-op instrument on every hub and RPC hook).

Workloads, on the virtual clock:
- ``green N``: N times: a spawn, a spawn_n, a GreenPool spawn_n that sleeps, and a
  spawn_after timer (hooks: spawned, exited, timer_fired).
- ``rpc N``: N calls and N casts over green:// (hooks: message_sent,
  message_received, dispatch_started, dispatch_finished, reply_sent, reply_received).
Without valgrind it prints the wall-clock seconds of the workload.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from nova_sim import green, rpc


class NoOp:
    """An instrument with every hook, doing nothing."""

    def _nothing(self, *args: Any) -> None:
        return None

    spawned = exited = timer_fired = _nothing
    message_sent = message_received = dispatch_started = dispatch_finished = _nothing
    reply_sent = reply_received = _nothing


class Echo:
    target = rpc.Target(version="1.0")

    def ping(self, ctxt: Any, arg: Any) -> Any:
        return arg


def run_green(count: int) -> None:
    pool = green.GreenPool(100)
    for _ in range(count):
        green.spawn(lambda: None)
        green.spawn_n(lambda: None)
        pool.spawn_n(green.sleep, 0)
        green.spawn_after(0.001, lambda: None)
    green.sleep(1)
    pool.waitall()


def run_rpc(count: int) -> None:
    transport = rpc.get_transport("green://")
    server = rpc.RPCServer(transport, rpc.Target(topic="bench", server="s"), [Echo()])
    server.start()
    client = rpc.RPCClient(transport, rpc.Target(topic="bench"))
    for index in range(count):
        client.call({}, "ping", arg=index)
        client.cast({}, "ping", arg=index)
    green.sleep(1)
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=("green", "rpc"))
    parser.add_argument("count", type=int)
    parser.add_argument("--instrumented", action="store_true",
                        help="install a no-op instrument on every hook")
    args = parser.parse_args()
    noop = NoOp()
    with green.virtual_time(seed=1) as hub:
        if args.instrumented:
            hub.add_instrument(noop)
            rpc.add_instrument(noop)
        start = time.perf_counter()
        (run_green if args.workload == "green" else run_rpc)(args.count)
        seconds = time.perf_counter() - start
        rpc.remove_instrument(noop)
    print(f"{args.workload} {args.count}{' instrumented' if args.instrumented else ''}: "
          f"{seconds:.3f} s")


if __name__ == "__main__":
    main()
