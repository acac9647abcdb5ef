"""The OSProfiler JSON report: the trace as ``osprofiler trace show --json`` prints one.

Owns the ``osprofiler`` export. OSProfiler (the profiler OpenStack services carry) stores
a start and a stop notification per trace point and builds a report from them
(``osprofiler/drivers/base.py``: ``_append_results`` and ``_parse_results``). This module
writes that report directly, in the same shape and key order:

- ``{"info": {"name": "total", "started": 0, "finished": ms, "last_trace_started": ms},
  "children": [...], "stats": {type: {"count", "duration"}}}``;
- each node ``{"info": {"name": type, "project", "service", "host",
  "meta.raw_payload.<type>-start": {...}, "started": ms, "meta.raw_payload.<type>-stop":
  {...}, "finished": ms, "exception": "None"|error type}, "trace_id", "parent_id",
  "children"}``, children sorted by start, times in whole milliseconds from the first point;
- the *type* is the span name's first word (``wsgi``, ``rpc``, ``compute``, ``driver``...),
  as OSProfiler names its points; the full span name is in ``info.function.name`` of the
  raw payloads; ids are UUIDs (OSProfiler's ``trace_id`` is our span id, its ``base_id``
  our trace id; a root's ``parent_id`` is the base id, as in OSProfiler).

``osprofiler trace show --json|--html --connection-string <any> FILE`` reads it back.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from nova_sim.trace.model import TraceSet


def as_uuid(hex_id: str) -> str:
    """A span (16 hex) or trace (32 hex) id as a UUID string."""
    return str(uuid.UUID(hex=hex_id.rjust(32, "0")[-32:]))


def timestamp(ns: int) -> str:
    """OSProfiler's notification timestamp (``%Y-%m-%dT%H:%M:%S.%f``, UTC)."""
    seconds, rest = divmod(int(ns) // 1000, 1_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(
        tzinfo=None, microsecond=rest)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def point_type(span: dict[str, Any]) -> str:
    """The OSProfiler point type of a span: its name's first word, without '-'."""
    return span["name"].split(" ", 1)[0].split(".", 1)[0].replace("-", "_") or "span"


def _payloads(span: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    base = as_uuid(span["trace_id"])
    point = as_uuid(span["span_id"])
    parent = as_uuid(span["parent_id"]) if span.get("parent_id") else base
    common = {"base_id": base, "trace_id": point, "parent_id": parent, "project": None,
              "service": span["service"], "host": span["host"]}
    attributes = dict(span.get("attributes") or {})
    start_info: dict[str, Any] = {"host": span["host"], "thread": span["greenthread"],
                                  "function": {"name": span["name"],
                                               "args": attributes}}
    if kind == "wsgi":
        start_info["request"] = {"path": attributes.get("path", ""), "query": "",
                                 "method": attributes.get("method", ""),
                                 "scheme": "http"}
    if span.get("request_id"):
        start_info["request_id"] = span["request_id"]
    stop_info: dict[str, Any] = {"host": span["host"]}
    if span.get("status") == "error":
        error = str(span.get("error") or "Error")
        stop_info["etype"] = error.split(":", 1)[0]
        stop_info["message"] = error
    start = {"name": f"{kind}-start", **common, "timestamp": timestamp(span["start"]),
             "info": start_info}
    stop = {"name": f"{kind}-stop", **common, "timestamp": timestamp(span["end"]),
            "info": stop_info}
    return start, stop


def _ms(us: int, origin: int) -> int:
    return int((us - origin) / 1000.0)


def build(traces: TraceSet) -> dict[str, Any]:
    """The OSProfiler report dict of ``traces`` (every trace in one report)."""
    spans = [s for s in traces.spans if s.get("kind") != "event"]
    if not spans:
        return {"info": {"name": "total", "started": 0, "finished": None,
                         "last_trace_started": None}, "children": [], "stats": {}}
    # OSProfiler keeps microseconds (datetime); so do we, before taking milliseconds.
    origin = min(int(s["start"]) // 1000 for s in spans)
    finished_at = max(int(s["end"]) // 1000 for s in spans)
    last_started = max(int(s["start"]) // 1000 for s in spans)
    nodes: dict[str, dict[str, Any]] = {}
    stats: dict[str, dict[str, int]] = {}
    for span in spans:
        kind = point_type(span)
        start, stop = _payloads(span, kind)
        started = _ms(int(span["start"]) // 1000, origin)
        finished = _ms(int(span["end"]) // 1000, origin)
        info: dict[str, Any] = {"name": kind, "project": None, "service": span["service"],
                                "host": span["host"]}
        info[f"meta.raw_payload.{kind}-start"] = start
        info["started"] = started
        info[f"meta.raw_payload.{kind}-stop"] = stop
        info["finished"] = finished
        info["exception"] = stop["info"].get("etype", "None")
        nodes[span["span_id"]] = {"info": info, "trace_id": start["trace_id"],
                                  "parent_id": start["parent_id"], "children": []}
        entry = stats.setdefault(kind, {"count": 0, "duration": 0})
        entry["count"] += 1
        entry["duration"] += finished - started
    roots = []
    for span in spans:
        node = nodes[span["span_id"]]
        parent = nodes.get(span.get("parent_id") or "")
        (parent["children"] if parent is not None else roots).append(node)
    for node in nodes.values():
        node["children"].sort(key=lambda child: child["info"]["started"])
    roots.sort(key=lambda node: node["info"]["started"])
    return {
        "info": {"name": "total", "started": 0, "finished": _ms(finished_at, origin),
                 "last_trace_started": _ms(last_started, origin)},
        "children": roots,
        "stats": stats,
    }


def render(traces: TraceSet) -> str:
    """The report as JSON text (indented like ``osprofiler trace show --json``)."""
    return json.dumps(build(traces), indent=2, separators=(",", ": ")) + "\n"
