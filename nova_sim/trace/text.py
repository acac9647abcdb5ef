"""The text tree: one line per span, indented under its parent, for the terminal.

Owns the ``text`` export (what ``nova-sim trace show`` prints)::

    trace 6d1f...0001  req-1b9e...  (5 spans, 1.502 s)
    +0.000s  1.502s  nova-api@ctl          main  wsgi.request POST /v2.1/servers
    +0.001s  0.000s  nova-api@ctl          main    rpc.cast schedule_and_build_instances
    +0.001s  0.300s  nova-conductor@ctl    gt3       rpc.server schedule_and_build_instances

Columns: offset from the first span of the trace, duration, service@host, greenthread,
then the name (indented by depth) with the interesting attributes; ``!`` marks an error.
Point events (``instance.state``) follow their span as ``*`` lines.
"""

from __future__ import annotations

from typing import Any

from nova_sim.trace.model import TraceSet

_SHOWN = ("method", "path", "instance_uuid", "host", "server", "task", "error")


def _seconds(ns: int) -> str:
    return f"{ns / 1e9:.3f}s"


def _label(span: dict[str, Any]) -> str:
    attributes = span.get("attributes") or {}
    parts = [span["name"]]
    if span["name"] == "wsgi.request":
        parts = [span["name"], str(attributes.get("method", "")),
                 str(attributes.get("path", ""))]
    else:
        for key in _SHOWN:
            if key in attributes and key not in ("method",):
                parts.append(f"{key}={attributes[key]}")
    if span.get("status") == "error":
        parts.append(f"! {span.get('error')}")
    return " ".join(part for part in parts if part)


def _event_label(event: dict[str, Any]) -> str:
    attributes = event.get("attributes") or {}
    text = " ".join(f"{k}={v}" for k, v in attributes.items())
    return f"* {event['name']} {text}".rstrip()


def render(traces: TraceSet) -> str:
    """The text tree of every trace in ``traces`` (empty string when none)."""
    lines: list[str] = []
    width = max((len(f"{s['service']}@{s['host']}") for s in traces.spans), default=10)
    for trace_id in traces.trace_ids():
        spans = [s for s in traces.spans if s["trace_id"] == trace_id]
        first = min(int(s["start"]) for s in spans)
        last = max(int(s["end"]) for s in spans)
        request_ids = sorted({s["request_id"] for s in spans if s.get("request_id")})
        lines.append(f"trace {trace_id}  {' '.join(request_ids) or '-'}  "
                     f"({len(spans)} spans, {_seconds(last - first)})")
        roots = [s for s in spans if s.get("parent_id") not in traces.by_id]
        stack: list[tuple[dict[str, Any], int]] = [(root, 0) for root in reversed(roots)]
        while stack:
            item, depth = stack.pop()
            indent = "  " * depth
            if item.get("type") != "span":  # an event: (owner, event) packed below
                owner, event = item["owner"], item["event"]
                where = f"{owner['service']}@{owner['host']}"
                lines.append(f"+{_seconds(int(event['time']) - first)}  {'':6}  "
                             f"{where:<{width}}  {owner['greenthread']:<6} {indent}"
                             f"{_event_label(event)}")
                continue
            span = item
            where = f"{span['service']}@{span['host']}"
            lines.append(f"+{_seconds(int(span['start']) - first)}  "
                         f"{_seconds(int(span['end']) - int(span['start']))}  "
                         f"{where:<{width}}  {span['greenthread']:<6} {indent}{_label(span)}")
            below = [((int(c["start"]), int(c.get("seq") or 0)), c)
                     for c in traces.children_of(span)]
            below += [((int(e["time"]), int(e.get("seq") or 0)),
                       {"type": "event", "owner": span, "event": e})
                      for e in span.get("events") or []]
            below.sort(key=lambda pair: pair[0])
            stack.extend((entry, depth + 1) for _, entry in reversed(below))
        lines.append("")
    return "\n".join(lines)
