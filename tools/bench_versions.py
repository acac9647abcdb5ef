"""Benchmark: two versions of nova-sim on bench_cloud's workload, in interleaved rounds.

Runs ``tools/bench_cloud.py --rounds 1`` of each source tree (``--base``: another
checkout, such as ``git worktree add --detach /tmp/base main``; ``--tree``: this one by
default) in turn, each round in a fresh process, the order alternating from pair to
pair, so that a slow spell of a shared machine weighs on both. The comparable figure is
the CPU time of each round (``time.process_time``, as bench_cloud prints it); wall-clock
rates are printed beside it. Prints each version's median boots per CPU-second and the
median of the pairs' own ratios (this tree / the base), with its quartiles.

Both trees run with this interpreter (its installed packages); bench_cloud's sleeper is
turned off where the tree's bench_cloud has the option (``--lateness-interval 0``).

    .venv/bin/python tools/bench_versions.py --base /tmp/base [--tree .] [--pairs 6]
        [--boots 300] [--computes 100] [--db URL]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUND = re.compile(r"round 1: (?P<rate>[\d.]+) boots/s .*?; (?P<cpu>[\d.]+) s of CPU")


def one_round(tree: str, args: argparse.Namespace) -> tuple[float, float]:
    """(boots per CPU-second, boots per second) of one bench_cloud round of ``tree``."""
    script = os.path.join(tree, "tools", "bench_cloud.py")
    command = [sys.executable, script, "--rounds", "1", "--boots", str(args.boots),
               "--computes", str(args.computes)]
    with open(script, encoding="utf-8") as source:
        if "--lateness-interval" in source.read():
            command += ["--lateness-interval", "0"]
    if args.db:
        command += ["--db", args.db]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tree)
    found = ROUND.search(done.stdout)
    if found is None:
        raise SystemExit(f"no round figures from {script}:\n{done.stdout}\n{done.stderr}")
    return args.boots / float(found["cpu"]), float(found["rate"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the other source tree")
    parser.add_argument("--tree", default=HERE, help="this version's tree (default: here)")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--boots", type=int, default=300)
    parser.add_argument("--computes", type=int, default=100)
    parser.add_argument("--db", default=None, help="database URL (default: sqlite://)")
    args = parser.parse_args(argv)
    trees = {"base": os.path.abspath(args.base), "tree": os.path.abspath(args.tree)}
    cpu: dict[str, list[float]] = {"base": [], "tree": []}
    wall: dict[str, list[float]] = {"base": [], "tree": []}
    ratios = []
    for pair in range(args.pairs):
        order = ["base", "tree"] if pair % 2 == 0 else ["tree", "base"]
        figures = {}
        for name in order:
            figures[name] = one_round(trees[name], args)
            cpu[name].append(figures[name][0])
            wall[name].append(figures[name][1])
        ratios.append(figures["tree"][0] / figures["base"][0])
        print(f"pair {pair + 1}: base {figures['base'][0]:.0f}, tree {figures['tree'][0]:.0f} "
              f"boots per CPU-second ({ratios[-1]:.3f})", flush=True)
    print()
    print(f"bench_cloud rounds of {args.boots} boots, {args.computes} computes, "
          f"{args.db or 'sqlite://'}; {args.pairs} interleaved pairs")
    for name in ("base", "tree"):
        print(f"{name:4} {trees[name]}: boots per CPU-second median "
              f"{statistics.median(cpu[name]):.0f} (min {min(cpu[name]):.0f}, max "
              f"{max(cpu[name]):.0f}); boots/s median {statistics.median(wall[name]):.0f}")
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    print(f"tree / base  {statistics.median(ratios):.3f}  (median of the pairs' own ratios; "
          f"quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
