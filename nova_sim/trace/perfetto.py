"""Perfetto / Chrome trace JSON: the trace as tracks you can open in ui.perfetto.dev.

Owns the ``perfetto`` export, in the Trace Event Format's JSON object form
(``{"traceEvents": [...], "displayTimeUnit": "ms"}``), which ui.perfetto.dev,
chrome://tracing and Perfetto's trace processor read:

- one *process* per service instance (``nova-compute compute1``), named with
  ``process_name`` metadata and ordered by first appearance (``process_sort_index``);
- one *thread* per greenthread of that instance (``gt7 rpc.server build_and_run_instance``:
  the tracer's name and its first span), named with ``thread_name``;
- a slice per span (``B``/``E`` pairs: on a virtual clock many spans share one instant,
  and explicit begin/end order is what keeps them nested), its attributes as ``args``;
- a flow arrow (``s`` -> ``f``) from each span to a child that runs on another greenthread
  or in another service: RPC from sender to receiver, spawn from spawner to spawned;
- point events (``instance.state``) as process-scoped instants;
- with recorded switches, one more process, ``hub: greenthread switches``, with a
  ``running`` slice per greenthread each time the hub let it run.

Times are microseconds from the first span; the epoch time of that instant is in
``otherData``. The output depends only on the records (no hash order), so a seeded run
exports the same bytes every time.
"""

from __future__ import annotations

import heapq
import itertools
import json
from typing import Any

from nova_sim.trace.model import TraceSet


def _us(ns: int, t0: int) -> float:
    return round((ns - t0) / 1000.0, 3)


def _args(span: dict[str, Any]) -> dict[str, Any]:
    args = dict(span.get("attributes") or {})
    args["span_id"] = span["span_id"]
    args["trace_id"] = span["trace_id"]
    if span.get("parent_id"):
        args["parent_id"] = span["parent_id"]
    if span.get("request_id"):
        args["request_id"] = span["request_id"]
    if span.get("status") == "error":
        args["error"] = span.get("error")
    return args


def _category(span: dict[str, Any]) -> str:
    return span["name"].split(".", 1)[0].split(" ", 1)[0]


def build(traces: TraceSet) -> dict[str, Any]:
    """The Chrome/Perfetto JSON document (a dict) of ``traces``."""
    spans = traces.spans
    t0 = traces.bounds()[0]
    if traces.switches:
        first_switch = min(int(s["time"]) for s in traces.switches)
        t0 = first_switch if not spans else min(t0, first_switch)
    instances = traces.instances()
    pid_of = {instance: number for number, instance in enumerate(instances, start=1)}
    metadata: list[dict[str, Any]] = []
    for (service, host), pid in pid_of.items():
        metadata.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                         "args": {"name": f"{service} {host}"}})
        metadata.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                         "args": {"sort_index": pid}})
    order = {s["span_id"]: index for index, s in enumerate(spans)}  # depth-first
    # threads: (pid, greenthread) in order of first span
    tid_of: dict[tuple[int, str], int] = {}
    thread_spans: dict[int, list[dict[str, Any]]] = {}
    for span in sorted(spans, key=lambda s: (int(s["start"]), order[s["span_id"]])):
        pid = pid_of[(span["service"], span["host"])]
        key = (pid, span["greenthread"])
        tid = tid_of.get(key)
        if tid is None:
            tid = tid_of[key] = len(tid_of) + 1
            metadata.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                             "args": {"name": f"{span['greenthread']} {span['name']}"}})
            metadata.append({"ph": "M", "name": "thread_sort_index", "pid": pid,
                             "tid": tid, "args": {"sort_index": tid}})
        thread_spans.setdefault(tid, []).append(span)
    where = {s["span_id"]: (pid_of[(s["service"], s["host"])],
                            tid_of[(pid_of[(s["service"], s["host"])], s["greenthread"])])
             for s in spans}
    flow_ids: dict[str, int] = {}
    flows_out: dict[str, list[int]] = {}
    for span in spans:
        parent = span.get("parent_id")
        if parent in where and where[parent] != where[span["span_id"]]:
            flow = flow_ids[span["span_id"]] = len(flow_ids) + 1
            flows_out.setdefault(parent, []).append(flow)
    flow_cat = {flow: "rpc" if traces.by_id[span_id].get("kind") in ("server", "consumer")
                else "spawn" for span_id, flow in flow_ids.items()}

    sequences: list[list[tuple[float, int, int, dict[str, Any]]]] = []
    instants: list[tuple[float, int, int, dict[str, Any]]] = []
    serial = itertools.count(1)
    for tid, members in thread_spans.items():
        pid = where[members[0]["span_id"]][0]
        members = sorted(members, key=lambda s: (int(s["start"]), order[s["span_id"]]))
        sequences.append(_thread_events(traces, members, pid, tid, t0, flow_ids,
                                        flows_out, flow_cat, instants, serial))

    switch_events = _switch_events(traces, t0, len(pid_of) + 1, metadata)
    # Each greenthread's own order is kept (it is what nests the slices); between
    # greenthreads, time then the tracer's sequence (causal order on equal instants).
    merged = heapq.merge(*sequences, sorted(instants, key=lambda e: e[:3]),
                         key=lambda item: item[:2])
    events = metadata + [item[3] for item in merged] + switch_events
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"generator": "nova-sim", "t0_unix_ns": t0,
                      "spans": len(spans), "switches": len(traces.switches)},
    }


def _thread_events(traces: TraceSet, members: list[dict[str, Any]], pid: int, tid: int,
                   t0: int, flow_ids: dict[str, int], flows_out: dict[str, list[int]],
                   flow_cat: dict[int, str], instants: list,
                   serial: Any) -> list[tuple[float, int, int, dict[str, Any]]]:
    """B/E events (and flow ends) of one greenthread's spans, nested by ancestry, in an
    order whose timestamps never go back; point events go to ``instants``."""
    sequence: list[tuple[float, int, int, dict[str, Any]]] = []
    stack: list[dict[str, Any]] = []
    last = float("-inf")

    def emit(ts: float, seq: Any, event: dict[str, Any]) -> None:
        nonlocal last
        ts = max(ts, last)
        last = ts
        event["ts"] = ts
        sequence.append((ts, int(seq or 0), next(serial), event))

    def close_until(span: dict[str, Any] | None) -> None:
        while stack and (span is None or not _is_ancestor(traces, stack[-1], span)):
            top = stack.pop()
            emit(_us(int(top["end"]), t0), top.get("end_seq"),
                 {"ph": "E", "pid": pid, "tid": tid})

    for span in members:
        close_until(span)
        ts = _us(int(span["start"]), t0)
        if span.get("kind") == "event":
            instants.append((ts, int(span.get("seq") or 0), next(serial), {
                "ph": "i", "s": "p", "name": span["name"], "cat": "event",
                "pid": pid, "tid": tid, "ts": ts, "args": _args(span)}))
            continue
        seq = span.get("seq")
        emit(ts, seq, {"ph": "B", "name": span["name"], "cat": _category(span),
                  "pid": pid, "tid": tid, "args": _args(span)})
        stack.append(span)
        flow = flow_ids.get(span["span_id"])
        if flow is not None:
            emit(ts, seq, {"ph": "f", "bp": "e", "id": flow, "name": "flow",
                      "cat": flow_cat[flow], "pid": pid, "tid": tid})
        for out in flows_out.get(span["span_id"], []):
            emit(ts, seq, {"ph": "s", "id": out, "name": "flow", "cat": flow_cat[out],
                      "pid": pid, "tid": tid})
        for event in span.get("events") or []:
            ets = _us(int(event["time"]), t0)
            instants.append((ets, int(event.get("seq") or 0), next(serial), {
                "ph": "i", "s": "p", "name": event["name"], "cat": "event",
                "pid": pid, "tid": tid, "ts": ets,
                "args": dict(event.get("attributes") or {})}))
    close_until(None)
    return sequence


def _is_ancestor(traces: TraceSet, candidate: dict[str, Any], span: dict[str, Any]) -> bool:
    parent = span.get("parent_id")
    steps = 0
    while parent and steps < 10000:
        if parent == candidate["span_id"]:
            return True
        node = traces.by_id.get(parent)
        if node is None:
            return False
        parent = node.get("parent_id")
        steps += 1
    return False


def _switch_events(traces: TraceSet, t0: int, pid: int,
                   metadata: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not traces.switches:
        return []
    metadata.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                     "args": {"name": "hub: greenthread switches"}})
    metadata.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                     "args": {"sort_index": pid}})
    tids: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    since: int | None = None
    # A switch record names who ran until then ("from", named as it left): its slice
    # runs from the previous switch to this one.
    for record in sorted(traces.switches, key=lambda r: int(r["time"])):
        when = int(record["time"])
        if since is not None:
            name = str(record["from"])
            tid = tids.get(name)
            if tid is None:
                tid = tids[name] = len(tids) + 1
                metadata.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                                 "args": {"name": name}})
            events.append({"ph": "X", "name": "running", "cat": "switch", "pid": pid,
                           "tid": tid, "ts": _us(since, t0),
                           "dur": round((when - since) / 1000.0, 3)})
        since = when
    return events


def render(traces: TraceSet) -> str:
    """The Perfetto JSON text (compact, one stable byte sequence per input)."""
    return json.dumps(build(traces), separators=(",", ":")) + "\n"
