"""Benchmark: what tracing costs on tools/bench_cloud.py's workload, in CPU time.

Runs ``bench_cloud.one_round`` (a fresh one-process cloud, ``--boots`` boots through the
compute API, until all are ACTIVE) in interleaved rounds, the order of the variants
rotating every round, and measures each round's CPU time (``time.process_time``):

- ``off``: no tracer installed: the services' ``trace.span``/``trace.event`` calls take
  the do-nothing path;
- ``on``: a tracer installed, writing its span file to a temporary directory (what
  ``[trace] enabled = true`` does), RPC propagation included.

Two ratios are printed: the ratio of the two variants' medians, and the median of each
round's own on/off ratio (the two ran side by side, so a slow spell of a shared machine
weighs on both), with its quartiles.

"Tracing off" against "no tracing code at all" cannot be run side by side without a
second copy of the services, so it is measured the other way round: a counting round
tells how many ``span``/``event`` calls one round makes, a micro-benchmark how much CPU
one call costs on the off path (a ``with trace.span(name, key=value):`` block against the
same block without it), and their product is compared with the CPU of an ``off`` round.

    .venv/bin/python tools/bench_trace.py [--boots 500] [--computes 50] [--rounds 5]

``--virtual on|off`` runs one seeded round on the virtual clock instead (the same
instructions every run), to compare under ``valgrind --tool=callgrind``;
``--instructions`` does that comparison itself (on, off, and one boot for start-up).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_cloud  # noqa: E402

from nova_sim import trace  # noqa: E402
from nova_sim.trace.tracer import Tracer  # noqa: E402

#: What tracing may cost on this workload, on and off (docs/tracing.md, "Cost").
ON_TARGET, OFF_TARGET = 0.35, 0.02


class CountingTracer:
    """Counts span/event calls and records nothing (a round to count the call sites)."""

    def __init__(self):
        self.spans = 0
        self.events = 0

    def span(self, name, attributes):
        self.spans += 1
        return trace.NULL_SPAN

    def event(self, name, attributes):
        self.events += 1


def run(variant: str, boots: int, computes: int) -> tuple[float, dict]:
    directory = None
    tracer = None
    if variant == "on":
        directory = tempfile.mkdtemp(prefix="nova-sim-bench-trace-")
        tracer = Tracer(service="nova-sim", host="bench", output_dir=directory).install()
    started = time.process_time()
    try:
        result = bench_cloud.one_round(boots, computes)
    finally:
        if tracer is not None:
            tracer.uninstall()  # the last write of the span file counts too
        cpu = time.process_time() - started
        if tracer is not None:
            result_spans = tracer.count
            shutil.rmtree(directory, ignore_errors=True)
    if tracer is not None:
        result["spans"] = result_spans
    return cpu, result


def off_path_cost(number: int = 200000) -> float:
    """CPU seconds of one ``with trace.span(...)`` on the off path, beyond the block."""
    assert trace.get_tracer() is None
    setup = "from nova_sim import trace"
    with_span = timeit.Timer(
        "with trace.span('compute.build', instance_uuid=u, host=h):\n    x = 1",
        setup + "; u = 'uuid'; h = 'host'", timer=time.process_time)
    without = timeit.Timer("x = 1", setup + "; u = 'uuid'; h = 'host'",
                           timer=time.process_time)
    a = min(with_span.repeat(5, number))
    b = min(without.repeat(5, number))
    return max(0.0, (a - b) / number)


def virtual_round(variant: str, boots: int, computes: int) -> int:
    """One seeded round on the virtual clock (the same work every time), for counting
    instructions: ``valgrind --tool=callgrind python tools/bench_trace.py --virtual on``
    minus the same with ``off``, divided by the spans printed, is what a span costs."""
    from nova_sim import green

    # What installing a tracer imports is imported by both variants: with
    # PYTHONDONTWRITEBYTECODE (as here), importing compiles, and that is not tracing.
    from nova_sim.trace import rpc as _trace_rpc  # noqa: F401

    directory = tempfile.mkdtemp(prefix="nova-sim-bench-trace-")
    try:
        with green.virtual_time(seed=1):
            tracer = None
            if variant == "on":
                tracer = Tracer(service="nova-sim", host="bench", output_dir=directory,
                                seed=1).install()
            cloud = bench_cloud.Cloud(conf=bench_cloud.zero_latency(bench_cloud.new_conf()),
                                      computes=computes, virtual=True).start()
            ctxt = bench_cloud.nova_context.RequestContext(user_id="bench",
                                                           project_id="bench",
                                                           overwrite=False)
            green.sleep(1.5)
            for number in range(boots):
                cloud.api.create(ctxt, "2", bench_cloud.CIRROS_IMAGE_ID, f"bench-{number}")
            while cloud.db.instance_count({"vm_state": "active"}) < boots:
                green.sleep(0.02)
            cloud.stop()
            if tracer is not None:
                tracer.uninstall()
                print(f"{tracer.count} spans")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def count_instructions(boots: int, computes: int) -> int:
    """``--instructions``: the seeded virtual round under callgrind with tracing on and off,
    and with one boot (start-up, taken off both); prints what tracing adds to the
    workload's instructions. The same count every run: a check the machine's noise
    cannot blur (CPU time, though, is what the target is about)."""
    import re
    import subprocess

    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2

    def start(variant: str, count: int) -> subprocess.Popen:
        return subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, os.path.abspath(__file__), "--virtual", variant,
             "--boots", str(count), "--computes", str(computes)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(process: subprocess.Popen) -> tuple[int, int]:
        output = process.communicate()[0]
        found = re.search(r"I\s+refs:\s+([\d,]+)", output)
        if process.returncode or not found:
            raise SystemExit(f"callgrind run failed:\n{output[-2000:]}")
        spans = re.search(r"^(\d+) spans$", output, re.MULTILINE)
        return int(found.group(1).replace(",", "")), int(spans.group(1)) if spans else 0

    print(f"callgrind: {boots} boots on {computes} computes, tracing on and off, then one "
          f"boot for start-up (a few minutes)...",
          flush=True)
    on, off = start("on", boots), start("off", boots)
    (on_count, spans), (off_count, _) = finish(on), finish(off)
    startup, _ = finish(start("off", 1))
    work = off_count - startup
    extra = on_count - off_count
    print(f"instructions  off {off_count:,}  on {on_count:,}  start-up {startup:,}")
    print(f"tracing adds  {extra:,} to {work:,} of work: +{extra / work * 100:.1f}% "
          f"({spans} spans, {extra / max(spans, 1):,.0f} per span)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=500)
    parser.add_argument("--computes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--virtual", choices=("on", "off"),
                        help="run one seeded virtual-clock round with tracing on or off "
                             "and exit (to count instructions under callgrind)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions of --virtual on/off under callgrind "
                             "instead of timing rounds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.instructions:
        return count_instructions(args.boots, args.computes)
    if args.virtual:
        return virtual_round(args.virtual, args.boots, args.computes)
    variants = ["off", "on"]
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    pairs: list[float] = []  # on / off of each round: the two ran side by side
    spans = 0
    run("off", max(10, args.boots // 10), args.computes)  # warm-up (imports, caches)
    for number in range(args.rounds):
        order = variants[number % 2:] + variants[:number % 2]
        for variant in order:
            seconds, result = run(variant, args.boots, args.computes)
            cpu[variant].append(seconds)
            spans = result.get("spans", spans)
            print(f"round {number + 1} {variant:3}: {seconds:.2f} s CPU, "
                  f"{result['rate']:.0f} boots/s, {result['active']} active", flush=True)
        pairs.append(cpu["on"][-1] / cpu["off"][-1])
    counter = CountingTracer()
    trace.set_tracer(counter)
    try:
        bench_cloud.one_round(args.boots, args.computes)
    finally:
        trace.set_tracer(None)
    per_call = off_path_cost()
    calls = counter.spans + counter.events
    off = statistics.median(cpu["off"])
    on = statistics.median(cpu["on"])
    print()
    print(f"workload: bench_cloud.one_round, {args.boots} boots, {args.computes} computes, "
          f"{args.rounds} interleaved rounds, CPU seconds per round")
    for variant in variants:
        values = cpu[variant]
        print(f"{variant:4} median {statistics.median(values):.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")
    print(f"on / off       {on / off:.3f}  (+{(on / off - 1) * 100:.1f}%, ratio of the medians; "
          f"{spans} spans recorded in the last 'on' round, "
          f"{(on - off) / max(spans, 1) * 1e6:.1f} us CPU per span)")
    quartiles = statistics.quantiles(pairs, n=4) if len(pairs) > 1 else pairs * 3
    print(f"on / off       {statistics.median(pairs):.3f}  (median of the {len(pairs)} rounds' "
          f"own ratios; quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}, "
          f"min {min(pairs):.3f}, max {max(pairs):.3f})")
    estimate = calls * per_call
    print(f"off / no code  {1 + estimate / off:.4f}  (+{estimate / off * 100:.2f}%: "
          f"{counter.spans} span + {counter.events} event calls per round x "
          f"{per_call * 1e9:.0f} ns each on the off path)")
    print(f"targets        on at most +{ON_TARGET:.0%}, off at most +{OFF_TARGET:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
