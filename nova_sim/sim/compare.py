"""``nova-sim simulate compare DIR_A DIR_B``: two runs side by side.

Owns reading two results.json files and, for each workload position and each headline
figure (``results.headline``), putting A's and B's means (over their seeds) next to each
other with the difference and a verdict: ``differs`` when the difference exceeds the
noise between seeds (Welch's test at 95%: |B - A| > t * sqrt(sA²/nA + sB²/nB)),
``noise`` when it does not, ``same`` when both are equal, and ``n/a`` when a side has a
single seed and the two differ (run with ``--repeat`` to know). Must not know how the
runs were made.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from nova_sim.sim import results


class CompareError(Exception):
    """A directory without a readable results.json of this schema."""


def load(directory: str) -> dict[str, Any]:
    """The results.json of ``directory``; CompareError when missing or of another schema."""
    path = os.path.join(directory, "results.json")
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise CompareError(f"cannot read {path}: {error.strerror}")
    except ValueError as error:
        raise CompareError(f"{path} is not JSON: {error}")
    if document.get("schema") != results.SCHEMA:
        raise CompareError(f"{path} is not a nova-sim results file")
    if document.get("version") != results.SCHEMA_VERSION:
        raise CompareError(f"{path} has schema version {document.get('version')}, this "
                           f"nova-sim reads {results.SCHEMA_VERSION}")
    return document


def _per_seed(document: dict[str, Any], position: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    for run in document["runs"]:
        for name, value in results.headline(run["workloads"][position]).items():
            figures.setdefault(name, []).append(value)
    return figures


def verdict(a: list[float], b: list[float]) -> str:
    """``same``, ``noise``, ``differs`` or ``n/a`` for two samples (see the module)."""
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    if mean_a == mean_b:
        return "same"
    if len(a) < 2 or len(b) < 2:
        return "n/a"
    a_ci = results.mean_ci(a)
    b_ci = results.mean_ci(b)
    spread = math.sqrt(a_ci["sd"] ** 2 / len(a) + b_ci["sd"] ** 2 / len(b))
    degrees = min(len(a), len(b)) - 1
    return "differs" if abs(mean_b - mean_a) > results.t95(degrees) * spread else "noise"


def compare(dir_a: str, dir_b: str) -> list[dict[str, Any]]:
    """Rows ``{workload, figure, a, b, diff, diff_percent, verdict}`` for every figure the
    two runs share. CompareError when the runs have different workloads."""
    a, b = load(dir_a), load(dir_b)
    scenarios_a = [w["scenario"] for w in a["runs"][0]["workloads"]]
    scenarios_b = [w["scenario"] for w in b["runs"][0]["workloads"]]
    if scenarios_a != scenarios_b:
        raise CompareError(f"the runs have different workloads: {scenarios_a} and "
                           f"{scenarios_b}")
    rows = []
    for position, scenario in enumerate(scenarios_a):
        figures_a, figures_b = _per_seed(a, position), _per_seed(b, position)
        for name in figures_a:
            if name not in figures_b:
                continue
            values_a, values_b = figures_a[name], figures_b[name]
            mean_a = sum(values_a) / len(values_a)
            mean_b = sum(values_b) / len(values_b)
            diff = mean_b - mean_a
            rows.append({
                "workload": f"{position}:{scenario}", "figure": name,
                "a": round(mean_a, 6), "b": round(mean_b, 6), "diff": round(diff, 6),
                "diff_percent": round(100.0 * diff / mean_a, 2) if mean_a else None,
                "verdict": verdict(values_a, values_b), "seeds": [len(values_a),
                                                                  len(values_b)],
            })
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The comparison as a text table."""
    body = [[row["figure"], f"{row['a']:.3f}", f"{row['b']:.3f}", f"{row['diff']:+.3f}",
             "n/a" if row["diff_percent"] is None else f"{row['diff_percent']:+.1f}%",
             row["verdict"]] for row in rows]
    title = "A/B comparison (means over seeds; verdict: Welch 95%)"
    return results.format_table(title, ["Figure", "A", "B", "B - A", "Change", "Verdict"],
                                body)
