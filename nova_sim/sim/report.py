"""report.html: one self-contained page with the run's tables and plots.

Owns drawing the plots with matplotlib (its non-interactive Agg backend; each plot an
inline SVG, so the page needs nothing else) from a results.json document, first seed's
run: latency over time (each iteration's duration at its start, failures marked), the
load profile (iterations running over time), the hosts' vCPU and RAM use and
fragmentation, and each service group's queue depth; then the Response Times table, the
SLA verdicts, Nova's side and the faults; with several seeds, each headline figure's mean
and 95% confidence interval. Must not know how the run was made.
"""

from __future__ import annotations

import html
import io
from typing import Any

from nova_sim.sim import results


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 2.8))
    figure.subplots_adjust(left=0.09, right=0.98, top=0.88, bottom=0.18)
    return figure


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _mark_faults(axes: Any, workload: dict[str, Any]) -> None:
    """Shade each fault's interval (a line where it has no end) on a time axis."""
    opened: dict[tuple, float] = {}
    for event in workload["faults"]:
        key = (event["kind"], tuple(event.get("hosts", ())))
        if event["event"] == "start":
            opened[key] = event["time"]
        else:
            axes.axvspan(opened.pop(key, 0.0), event["time"], color="tab:red", alpha=0.08)
    for start in opened.values():
        axes.axvline(start, color="tab:red", alpha=0.4, linestyle="--")


def _latency(workload: dict[str, Any]) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    points = workload["iteration_times"]
    ok = [(t, d) for t, d, failed in points if not failed]
    bad = [(t, d) for t, d, failed in points if failed]
    if ok:
        axes.plot(*zip(*ok, strict=True), ".", label="iteration", markersize=4)
    if bad:
        axes.plot(*zip(*bad, strict=True), "x", color="tab:red", label="failed")
    axes.set_xlabel("simulated time since the load started (s)")
    axes.set_ylabel("duration (s)")
    axes.set_title("Latency over time")
    _mark_faults(axes, workload)
    axes.legend(loc="best", fontsize="small")
    return _svg(figure)


def _load(workload: dict[str, Any]) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    changes = []
    for start, duration, _failed in workload["iteration_times"]:
        changes.append((start, 1))
        changes.append((start + duration, -1))
    changes.sort()
    times, running, level = [0.0], [0], 0
    for time, step in changes:
        level += step
        times.append(time)
        running.append(level)
    axes.step(times, running, where="post")
    axes.set_xlabel("simulated time (s)")
    axes.set_ylabel("iterations running")
    axes.set_title("Load profile")
    _mark_faults(axes, workload)
    return _svg(figure)


def _utilisation(workload: dict[str, Any]) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    samples = workload["timeseries"]
    times = [s["time"] for s in samples]
    for key, label in (("vcpu_used", "vCPU used"), ("ram_used", "RAM used"),
                       ("fragmentation", "fragmentation")):
        axes.plot(times, [s[key] for s in samples], label=label)
    axes.set_ylim(0, 1.05)
    axes.set_xlabel("simulated time (s)")
    axes.set_ylabel("fraction")
    axes.set_title("Host utilisation and fragmentation")
    _mark_faults(axes, workload)
    axes.legend(loc="upper left", fontsize="small")
    return _svg(figure)


def _queues(workload: dict[str, Any]) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    samples = workload["timeseries"]
    times = [s["time"] for s in samples]
    for group in ("conductor", "scheduler", "compute"):
        axes.step(times, [s["queue"][group] for s in samples], where="post", label=group)
    axes.set_xlabel("simulated time (s)")
    axes.set_ylabel("messages waiting")
    axes.set_title("Queue depth by service")
    _mark_faults(axes, workload)
    axes.legend(loc="upper left", fontsize="small")
    return _svg(figure)


def plots(workload: dict[str, Any]) -> list[str]:
    """The workload's plots, each an SVG document (latency, load, utilisation, queues)."""
    return [plot(workload) for plot in (_latency, _load, _utilisation, _queues)]


def render(document: dict[str, Any], title: str,
           drawn: list[list[str]] | None = None) -> str:
    """The whole HTML page for a results document (``drawn``: the first run's
    workloads' ``plots``, when already drawn)."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>nova-sim simulation: {html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Clock: {document['clock']}; seeds: {document['seeds']}; results schema "
        f"{document['schema']} v{document['version']}. Figures below: seed "
        f"{document['runs'][0]['seed']}.</p>",
    ]
    for index, workload in enumerate(document["runs"][0]["workloads"]):
        parts.append(f"<h2>{html.escape(workload['scenario'])}</h2>")
        parts.append("<pre>" + html.escape(results.response_table(
            workload["response_times"])) + "</pre>")
        parts.append("<pre>" + html.escape(results.sla_table(workload))
                     + "</pre>")
        parts.extend(drawn[index] if drawn is not None else plots(workload))
        parts.append("<h3>Nova's side</h3><pre>" + html.escape(results.nova_lines(workload))
                     + "</pre>")
    if "repeat" in document:
        parts.append("<h2>Over the seeds</h2><pre>" + html.escape(
            results.repeat_lines(document)) + "</pre>")
    parts.append("</body></html>\n")
    return "\n".join(parts)

