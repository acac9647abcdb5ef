"""Results of a run: statistics, the printed tables, and the files written.

Owns:

- Rally's statistics: percentiles by linear interpolation between the closest ranks,
  and the "Response Times (sec)" table (Action, Min, Median, 90%ile, 95%ile, Max, Avg,
  Success, Count) per atomic action plus ``total``, over successful iterations for the
  times and all iterations for Success and Count, as Rally computes them;
- ``results.json`` (schema ``nova-sim/simulation-results``, version ``SCHEMA_VERSION``,
  described in docs/simulation.md): simulated figures only, keys sorted and floats
  rounded to the microsecond, so the same task, cloud and seed give the same bytes;
- ``run-info.json``: what is not simulated (wall time, machine, Python, command);
- ``rally-results.json``: Rally's task export format (``format_version`` 1.2), which
  ``rally task import`` and Rally's report tools read;
- with ``--repeat``: each headline figure's mean and 95% confidence interval over seeds.

Must not know how the run was made.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import statistics
import sys
from typing import Any

SCHEMA = "nova-sim/simulation-results"
SCHEMA_VERSION = 1

# Two-sided 95% Student t quantiles for 1..30 degrees of freedom (beyond: 1.96).
_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201,
        2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074,
        2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(degrees: int) -> float:
    """The two-sided 95% quantile of Student's t with ``degrees`` degrees of freedom."""
    return _T95[degrees - 1] if 1 <= degrees <= len(_T95) else 1.96


def percentile(values: list[float], fraction: float) -> float | None:
    """Rally's percentile: linear interpolation between the closest ranks (None: empty)."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * fraction
    low, high = math.floor(k), math.ceil(k)
    if low == high:
        return ordered[int(k)]
    return ordered[low] * (high - k) + ordered[high] * (k - low)


def summary(values: list[float]) -> dict[str, Any]:
    """min, median, 90%ile, 95%ile, max, avg and count of ``values`` (None when empty)."""
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 6)

    return {
        "min": r(min(values)) if values else None,
        "median": r(percentile(values, 0.5)),
        "90%ile": r(percentile(values, 0.9)),
        "95%ile": r(percentile(values, 0.95)),
        "max": r(max(values)) if values else None,
        "avg": r(sum(values) / len(values)) if values else None,
        "count": len(values),
    }


def response_times(iterations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rally's Response Times rows: one per atomic action (in order of first use), then
    ``total`` (an iteration's duration plus its idle time) with its two parts
    `` -> duration`` and `` -> idle_duration``; over every iteration, failed ones too,
    as ``rally task detailed`` shows them (Success: the share without an error)."""
    names: list[str] = []
    for iteration in iterations:
        for action in iteration["atomic_actions"]:
            if action["name"] not in names:
                names.append(action["name"])
    rows = []
    for name in names + ["total", " -> duration", " -> idle_duration"]:
        durations = []
        count = successes = 0
        for iteration in iterations:
            if name == "total":
                spent = [iteration["duration"] + iteration["idle_duration"]]
            elif name == " -> duration":
                spent = [iteration["duration"]]
            elif name == " -> idle_duration":
                spent = [iteration["idle_duration"]]
            else:
                spent = [a["finished_at"] - a["started_at"]
                         for a in iteration["atomic_actions"] if a["name"] == name]
                if not spent:
                    continue
            count += 1
            successes += not iteration["error"]
            durations.append(sum(spent))
        row = {"action": name, **summary(durations)}
        row["count"] = count
        row["success"] = round(100.0 * successes / count, 1) if count else 0.0
        rows.append(row)
    return rows


def _cell(value: Any) -> str:
    """A time as Rally prints it: rounded to the millisecond, trailing zeros dropped."""
    if value is None:
        return "n/a"
    text = f"{value:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def format_table(title: str | None, headers: list[str], rows: list[list[str]]) -> str:
    """A boxed text table, with a centred title unless None (Rally's CLI look)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    inner = len(line) - 2
    out = []
    if title is not None:
        left = (inner - len(title)) // 2
        centred = " " * left + title + " " * (inner - len(title) - left)
        out += ["+" + "-" * inner + "+", "|" + centred + "|"]
    out += [line, "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
            + " |", line]
    for row in rows:
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    out.append(line)
    return "\n".join(out)


def response_table(rows: list[dict[str, Any]]) -> str:
    """The Response Times table as Rally prints it."""
    headers = ["Action", "Min (sec)", "Median (sec)", "90%ile (sec)", "95%ile (sec)",
               "Max (sec)", "Avg (sec)", "Success", "Count"]
    body = [[row["action"], _cell(row["min"]), _cell(row["median"]), _cell(row["90%ile"]),
             _cell(row["95%ile"]), _cell(row["max"]), _cell(row["avg"]),
             f"{row['success']:.1f}%", str(row["count"])] for row in rows]
    return format_table("Response Times (sec)", headers, body)


def sla_table(workload: dict[str, Any]) -> str:
    """A workload's SLA verdicts as ``rally task sla-check`` prints them."""
    rows = [[workload["scenario"], str(workload["position"]), v["criterion"],
             "PASS" if v["success"] else "FAIL", v["detail"]]
            for v in workload["sla_results"]]
    return format_table(None, ["benchmark", "pos", "criterion", "status", "detail"], rows)


def render_summary(document: dict[str, Any]) -> str:
    """What ``nova-sim simulate`` prints for a results document (tables, SLA verdicts,
    Nova's side, and with several seeds each figure's mean and 95% CI)."""
    lines = []
    for run in document["runs"][:1]:
        for workload in run["workloads"]:
            iterations = workload["iterations"]
            lines.append(f"{workload['scenario']} (seed {run['seed']}): "
                         f"{iterations['total']} iterations, {iterations['failed']} failed, "
                         f"load duration {workload['load_duration']:.3f} s "
                         f"({'simulated' if document['clock'] == 'virtual' else 'real clock'})")
            lines.append(response_table(workload["response_times"]))
            lines.append("")
            lines.append(f"Load duration: {_cell(workload['load_duration'])}")
            lines.append(f"Full duration: {_cell(workload['full_duration'])}")
            lines.append(sla_table(workload))
            lines.append("SLA: " + ("PASSED" if workload["pass_sla"] else "FAILED"))
            lines.append(nova_lines(workload))
    if "repeat" in document:
        lines.append(repeat_lines(document))
    return "\n".join(lines)


def repeat_lines(document: dict[str, Any]) -> str:
    """With several seeds: each headline figure's mean and 95% confidence interval."""
    lines = [f"Over {len(document['seeds'])} seeds (mean +/- 95% CI):"]
    for entry in document["repeat"]:
        lines.append(f"  {entry['scenario']}")
        for name, stats in entry["figures"].items():
            lines.append(f"    {name:40s} {stats['mean']:12.3f} +/- {stats['ci95']:.3f}")
    return "\n".join(lines)


def nova_lines(workload: dict[str, Any]) -> str:
    """Nova's side of one workload entry, a few lines of text."""
    nova = workload["nova"]
    order = ("api", "scheduling", "build", "spawn", "boot")
    phases = ", ".join(f"{name} {nova['boot_phases'][name]['median']:.3f}" for name in order
                       if nova["boot_phases"].get(name, {}).get("median") is not None)
    sent = sum(nova["rpc_messages"].values())
    top = sorted(nova["rpc_messages"].items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    lines = [
        "Nova's side:",
        f"  boot phases, median s: {phases or 'n/a'}",
        f"  NoValidHost: {nova['no_valid_host']}  reschedules: {nova['reschedules']}",
        f"  RPC messages: {sent} (" + ", ".join(f"{k} {v}" for k, v in top) + ")",
        f"  database transactions: {nova['db_transactions_total']}",
        "  busy fraction: " + ", ".join(f"{k} {v:.3f}" for k, v
                                        in nova["busy_fraction"].items())
        + f"; hypervisors {nova['hypervisor_busy_fraction']:.3f}",
        f"  peak vCPU use {nova['peak_vcpu_used']:.3f}, peak RAM use "
        f"{nova['peak_ram_used']:.3f}",
    ]
    for event in workload["faults"]:
        hosts = f" {', '.join(event['hosts'])}" if event.get("hosts") else ""
        lines.append(f"  fault at {event['time']:.1f} s: {event['kind']} {event['event']}"
                     f"{hosts}")
    return "\n".join(lines)


# -- results.json -----------------------------------------------------------------------

def workload_figures(result: Any) -> dict[str, Any]:
    """The simulated figures of one WorkloadResult (results.json's workload entry)."""
    workload = result.workload
    nova = result.nova
    iterations = result.iterations
    failed = sum(1 for it in iterations if it["error"])
    errors: dict[str, int] = {}
    for iteration in iterations:
        if iteration["error"]:
            errors[iteration["error"][0]] = errors.get(iteration["error"][0], 0) + 1
    samples = result.samples
    return {
        "scenario": workload.scenario,
        "subtask": workload.subtask,
        "position": workload.position,
        "args": workload.args,
        "runner": {workload.runner_type: workload.runner},
        "contexts": workload.contexts,
        "sla": workload.sla,
        "sla_results": result.sla,
        "pass_sla": all(v["success"] for v in result.sla),
        "iterations": {"total": len(iterations), "failed": failed, "errors": errors},
        "load_duration": result.load_duration,
        "full_duration": result.full_duration,
        "response_times": response_times(iterations),
        "nova": {
            "boot_phases": {name: summary(values)
                            for name, values in sorted(nova["phases"].items())},
            "no_valid_host": nova["no_valid_host"],
            "reschedules": nova["reschedules"],
            "rpc_messages": nova["rpc_messages"],
            "rpc_dispatches": nova["dispatches"],
            "db_transactions": nova["db_transactions"],
            "db_transactions_total": sum(nova["db_transactions"].values()),
            "busy_fraction": nova["busy_fraction"],
            "bus_held_messages": nova["bus_held_messages"],
            "hypervisor_busy_fraction": nova["hypervisor_busy_fraction"],
            "peak_queue": {g: max((s["queue"][g] for s in samples), default=0)
                           for g in ("conductor", "scheduler", "compute")},
            "peak_vcpu_used": max((s["vcpu_used"] for s in samples), default=0.0),
            "peak_ram_used": max((s["ram_used"] for s in samples), default=0.0),
            "peak_vcpu_used_by_aggregate": {
                name: max(s["by_aggregate"][name]["vcpu_used"] for s in samples)
                for name in (samples[0]["by_aggregate"] if samples else {})},
        },
        "faults": result.faults,
        "timeseries": samples,
        "iteration_times": [[round(it["timestamp"] - result.start_time, 6), it["duration"],
                             bool(it["error"])] for it in iterations],
    }


def results_document(runs: list[Any], task_text: str, cloud: dict[str, Any],
                     costs: str = "none") -> dict[str, Any]:
    """results.json for one or more runs (one per seed); ``costs`` names the cost
    profile the virtual clock charged (``none``: every hop is free)."""
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "costs": costs,
        "version": SCHEMA_VERSION,
        "task_sha256": hashlib.sha256(task_text.encode()).hexdigest(),
        "cloud": cloud,
        "clock": runs[0].clock,
        "seeds": [run.seed for run in runs],
        "runs": [{"seed": run.seed,
                  "workloads": [workload_figures(w) for w in run.workloads]}
                 for run in runs],
    }
    if len(runs) > 1:
        document["repeat"] = repeat_summary(document["runs"])
    return document


def headline(workload: dict[str, Any]) -> dict[str, float]:
    """The figures --repeat and compare summarise, by name, for one workload entry."""
    figures: dict[str, float] = {}
    for row in workload["response_times"]:
        if row["action"].startswith(" ->"):
            continue  # the parts of total
        for key in ("median", "95%ile", "avg"):
            if row[key] is not None:
                figures[f"{row['action']} {key}"] = row[key]
        figures[f"{row['action']} success %"] = row["success"]
    nova = workload["nova"]
    for phase, stats in nova["boot_phases"].items():
        if stats["median"] is not None:
            figures[f"boot phase {phase} median"] = stats["median"]
    figures["no_valid_host"] = nova["no_valid_host"]
    figures["reschedules"] = nova["reschedules"]
    figures["db_transactions_total"] = nova["db_transactions_total"]
    figures["rpc_messages_total"] = sum(nova["rpc_messages"].values())
    figures["peak_vcpu_used"] = nova["peak_vcpu_used"]
    figures["failed_iterations"] = workload["iterations"]["failed"]
    return figures


def mean_ci(values: list[float]) -> dict[str, Any]:
    """Mean, standard deviation and 95% confidence half-width of ``values``."""
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    half = t95(len(values) - 1) * sd / math.sqrt(len(values)) if len(values) > 1 else None
    return {"mean": round(mean, 6), "sd": round(sd, 6),
            "ci95": None if half is None else round(half, 6), "n": len(values)}


def repeat_summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per workload position, each headline figure's mean and 95% CI over the runs."""
    summaries = []
    for position in range(len(runs[0]["workloads"])):
        per_run = [headline(run["workloads"][position]) for run in runs]
        names = [n for n in per_run[0] if all(n in figures for figures in per_run)]
        summaries.append({
            "scenario": runs[0]["workloads"][position]["scenario"],
            "figures": {name: mean_ci([figures[name] for figures in per_run])
                        for name in names},
        })
    return summaries


def dumps(document: Any) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def run_info(runs: list[Any], argv: list[str]) -> dict[str, Any]:
    """run-info.json: the machine facts and wall time of the runs (not simulated)."""
    import os

    return {
        "command": ["nova-sim", *argv],
        "wall_seconds": [round(run.wall_seconds, 3) for run in runs],
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


# -- Rally's export format ---------------------------------------------------------------

def _iso(seconds: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")


def rally_document(task: Any, run: Any) -> dict[str, Any]:
    """One run in Rally's task export JSON (format_version 1.2)."""
    subtasks: list[dict[str, Any]] = []
    for index, result in enumerate(run.workloads):
        workload = result.workload
        if workload.position == 0 or not subtasks:  # a later position joins its subtask
            subtasks.append({"uuid": _uuid(run.seed, "subtask", index),
                             "title": workload.subtask, "description": "",
                             "status": "finished", "created_at": _iso(result.start_time),
                             "updated_at": _iso(result.start_time + result.full_duration),
                             "sla": {}, "workloads": []})
        subtask = subtasks[-1]
        durations = [it["duration"] for it in result.iterations]
        subtask["workloads"].append({
            "uuid": _uuid(run.seed, "workload", index),
            "description": workload.description,
            "runner": {workload.runner_type: workload.runner},
            "hooks": [],
            "scenario": {workload.scenario: workload.args},
            "min_duration": min(durations) if durations else None,
            "max_duration": max(durations) if durations else None,
            "start_time": result.start_time,
            "load_duration": result.load_duration,
            "full_duration": result.full_duration,
            "statistics": {"durations": _rally_statistics(result.iterations)},
            "data": result.iterations,
            "failed_iteration_count": sum(1 for it in result.iterations if it["error"]),
            "total_iteration_count": len(result.iterations),
            "created_at": _iso(result.start_time),
            "updated_at": _iso(result.start_time + result.full_duration),
            "contexts": workload.contexts,
            "contexts_results": [],
            "position": workload.position,
            "pass_sla": all(v["success"] for v in result.sla),
            "sla_results": {"sla": result.sla},
            "sla": workload.sla,
        })
    started = run.workloads[0].start_time if run.workloads else 0.0
    return {
        "info": {"rally_version": "nova-sim", "generated_at": _iso(started),
                 "format_version": "1.2"},
        "tasks": [{
            "uuid": _uuid(run.seed, "task", 0), "title": task.title,
            "description": task.description, "status": "finished", "tags": task.tags,
            "env_uuid": _uuid(run.seed, "env", 0), "env_name": "nova-sim",
            "created_at": _iso(started), "updated_at": _iso(started),
            "pass_sla": all(v["success"] for w in run.workloads for v in w.sla),
            "subtasks": subtasks,
        }],
    }


def _rally_statistics(iterations: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    for row in response_times(iterations):
        data = {"min": row["min"], "median": row["median"], "90%ile": row["90%ile"],
                "95%ile": row["95%ile"], "max": row["max"], "avg": row["avg"],
                "success": f"{row['success']:.1f}%", "iteration_count": row["count"]}
        rows.append({"name": row["action"], "display_name": row["action"],
                     "count_per_iteration": 1, "children": [], "data": data})
    parts = rows[-2:]
    total = rows[-3]
    total["children"] = [dict(part, name=part["name"].strip(" ->"),
                              display_name=part["name"].strip(" ->")) for part in parts]
    return {"atomics": rows[:-3], "total": total}


def _uuid(seed: int, kind: str, index: int) -> str:
    import uuid

    digest = hashlib.sha256(f"{seed}:{kind}:{index}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
