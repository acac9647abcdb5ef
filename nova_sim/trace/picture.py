"""A picture of a Perfetto/Chrome trace JSON file, for readers who do not run anything.

Owns ``draw_perfetto(json_path, png_path)``: a matplotlib drawing of the same JSON that
ui.perfetto.dev would open (the docs cannot embed the UI, and it is not reachable from
where the docs are built). One band per process (service instance), one row per thread
(greenthread) with a lane per nesting depth, a bar per slice (colour by category: wsgi,
api, rpc, conductor, scheduler, compute, driver...), an arrow per flow (RPC, spawn) and a
marker per instant (``instance.state``).

The x axis is the *order* of events, not time: on the virtual clock an RPC takes no time,
so on a time axis most of a boot is one vertical line beside the driver's spawn. The tick
labels give the clock time wherever it moves. Needs matplotlib (the ``docs`` extra).
"""

from __future__ import annotations

import json
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

COLOURS = {"wsgi": "#4e79a7", "api": "#76b7b2", "rpc": "#f28e2b", "conductor": "#59a14f",
           "scheduler": "#edc948", "compute": "#e15759", "driver": "#b07aa1",
           "periodic": "#9c755f", "instance": "#bab0ac"}


def _slices(events: list[dict[str, Any]]) -> tuple[list[dict], dict, list, list]:
    """Slices with x0/x1/depth per (pid, tid), flow ends, instants; x = event index."""
    stacks: dict[tuple[int, int], list[dict]] = {}
    slices: list[dict] = []
    flows: dict[Any, dict[str, Any]] = {}
    instants = []
    times = []
    timed = [e for e in events if e.get("ph") in ("B", "E", "s", "f", "i")]
    for x, event in enumerate(timed):
        key = (event.get("pid"), event.get("tid"))
        stack = stacks.setdefault(key, [])
        times.append((x, event["ts"]))
        ph = event["ph"]
        if ph == "B":
            item = {"key": key, "x0": x, "x1": None, "depth": len(stack),
                    "name": event.get("name", ""), "cat": event.get("cat", "")}
            stack.append(item)
            slices.append(item)
        elif ph == "E" and stack:
            stack.pop()["x1"] = x
        elif ph in ("s", "f"):
            depth = max(len(stack) - 1, 0)
            flows.setdefault(event["id"], {})[ph] = (key, x, depth)
        elif ph == "i":
            instants.append((event.get("pid"), x, event.get("name", "")))
    end = len(timed)
    for item in slices:
        if item["x1"] is None:
            item["x1"] = end
    return slices, flows, instants, times


def _layout(process_names: dict, slices: list[dict]
            ) -> tuple[dict[tuple[int, int], float], list[tuple[int, float, float]], float]:
    """Rows: processes in pid order, their threads in tid order, each thread as deep as
    its deepest slice. Returns (the top of each thread's row, each process's band
    ``(pid, top, bottom)``, the total height)."""
    depth_of: dict[tuple[int, int], int] = {}
    for item in slices:
        depth_of[item["key"]] = max(depth_of.get(item["key"], 0), item["depth"] + 1)
    rows: dict[tuple[int, int], float] = {}
    bands = []
    y = 0.0
    for pid in sorted(process_names):
        keys = sorted(k for k in depth_of if k[0] == pid)
        if not keys:
            continue
        top = y
        for key in keys:
            rows[key] = y
            y += depth_of[key] + 0.6
        bands.append((pid, top, y))
        y += 0.8
    return rows, bands, y


def _draw_slices(axes: Any, slices: list[dict], rows: dict) -> None:
    for item in slices:
        row = rows.get(item["key"])
        if row is None:
            continue
        colour = COLOURS.get(item["cat"], "#8c8c8c")
        x0, x1 = item["x0"], max(item["x1"], item["x0"] + 0.6)
        y0 = row + item["depth"] + 0.1
        axes.add_patch(Rectangle((x0, y0), x1 - x0, 0.8, facecolor=colour,
                                 edgecolor="white", linewidth=0.5, zorder=2))
        if x1 - x0 >= 6:
            axes.text(x0 + 0.3, y0 + 0.4, item["name"], fontsize=6, va="center",
                      clip_on=True, zorder=3)


def _draw_flows(axes: Any, flows: dict, rows: dict) -> None:
    for ends in flows.values():
        if "s" not in ends or "f" not in ends:
            continue
        (key0, x0, d0), (key1, x1, d1) = ends["s"], ends["f"]
        if key0 not in rows or key1 not in rows:
            continue
        axes.add_patch(FancyArrowPatch(
            (x0 + 0.3, rows[key0] + d0 + 0.5), (x1 + 0.3, rows[key1] + d1 + 0.5),
            arrowstyle="-|>", mutation_scale=7, color="#333333", linewidth=0.6,
            alpha=0.7, zorder=4, connectionstyle="arc3,rad=0.15"))


def _draw_time_axis(axes: Any, times: list, width: int, height: float) -> None:
    """Ticks where the clock moves, the limits, the labels and the legend."""
    ticks, labels, last = [], [], None
    for x, ts in times:
        if last is None or ts != last:
            ticks.append(x)
            labels.append(f"{ts / 1e6:.3f} s")
            last = ts
    axes.set_xticks(ticks)
    axes.set_xticklabels(labels, fontsize=7, rotation=45, ha="right")
    axes.set_xlim(-0.5, width + 0.5)
    axes.set_ylim(height, -1.0)
    axes.set_yticks([])
    axes.set_xlabel("order of events (tick labels: the clock's time where it moves; "
                    "an RPC on the virtual clock takes no time)", fontsize=8)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    axes.legend(handles, list(COLOURS), loc="lower right", fontsize=7, ncol=3,
                frameon=False)


def draw_perfetto(json_path: str, png_path: str, title: str | None = None) -> str:
    """Draw the trace in ``json_path`` to ``png_path``; returns ``png_path``."""
    with open(json_path, encoding="utf-8") as stream:
        document = json.load(stream)
    events = document["traceEvents"] if isinstance(document, dict) else document
    process_names = {e["pid"]: e["args"]["name"] for e in events
                     if e.get("ph") == "M" and e.get("name") == "process_name"}
    thread_names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
                    if e.get("ph") == "M" and e.get("name") == "thread_name"}
    slices, flows, instants, times = _slices(events)
    rows, bands, height = _layout(process_names, slices)
    width = max(len(times), 1)
    figure, axes = plt.subplots(figsize=(16, max(4.0, height * 0.32 + 1.5)), dpi=110)
    for index, (pid, top, bottom) in enumerate(bands):
        if index % 2 == 0:
            axes.add_patch(Rectangle((-0.5, top - 0.3), width + 1, bottom - top + 0.2,
                                     color="#f3f3f3", zorder=0))
        axes.text(-0.8, top - 0.1, process_names[pid], ha="right", va="top",
                  fontsize=9, fontweight="bold")
    for key, row in rows.items():
        axes.text(-0.8, row + 0.55, thread_names.get(key, f"tid {key[1]}")[:38],
                  ha="right", va="center", fontsize=6.5, color="#555555")
    _draw_slices(axes, slices, rows)
    _draw_flows(axes, flows, rows)
    band_top = {pid: top for pid, top, _ in bands}
    for pid, x, _name in instants:
        if pid in band_top:
            axes.plot([x + 0.3], [band_top[pid] - 0.2], marker="v", color="#222222",
                      markersize=4, zorder=5)
    _draw_time_axis(axes, times, width, height)
    axes.set_title(title or "nova-sim trace (Perfetto JSON, drawn by "
                   "nova_sim.trace.picture): a boot", fontsize=10)
    figure.tight_layout()
    figure.savefig(png_path)
    plt.close(figure)
    return png_path
