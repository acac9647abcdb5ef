"""one boot traced through every service, drawn as a sequence diagram in the terminal.

``POST /servers`` in Nova is a relay race between services: the API casts to the
conductor and answers 202; the conductor calls the scheduler for a host, then casts the
build to that compute; the compute builds on a greenthread of its own and, having no
database, calls the conductor for every save. This demo boots one server in a
one-process cloud on the virtual clock with the tracer on (``nova_sim.trace``), keeps
the spans of that one request (one trace id: it rides in every RPC message as
``_context_trace_info``), and draws them. Run it with ``nova-sim demo 7``.
"""

from __future__ import annotations

import logging
from typing import Any

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.deploy import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID

SEED = 7
M1_SMALL = "2"
COLUMN = 16
#: Spans drawn as notes on their service's lifeline.
NOTES = ("api.create", "scheduler.select_destinations", "compute.instance_claim",
         "driver.allocate_network", "driver.spawn")


def boot_traced() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Boot one server in a traced one-process cloud; return the span records of its
    trace (in start order) and its final database row."""
    from nova_sim.trace.tracer import Tracer

    quiet = logging.getLogger("nova_sim")
    saved_level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        with green.virtual_time(seed=SEED):
            tracer = Tracer(service="nova-sim", host="nova-sim", seed=SEED,
                            context_getter=nova_context.get_current).install()
            try:
                cloud = Cloud(conf=new_conf(), computes=2, virtual=True,
                              periodic_enable=False).start()
                ctxt = nova_context.RequestContext(user_id="alice", project_id="demo",
                                                   overwrite=False)
                green.sleep(1)  # let the services settle (first heartbeats come at 5 s)
                [instance] = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm-1")
                row = cloud.wait_for_instance(instance["uuid"], "active", None)
                cloud.stop()
            finally:
                tracer.uninstall()
            records = [r for r in tracer.records() if r.get("type") == "span"]
    finally:
        quiet.setLevel(saved_level)
    root = next(r for r in records if r["name"] == "api.create")
    spans = sorted((r for r in records if r["trace_id"] == root["trace_id"]),
                   key=lambda r: r["seq"])
    return spans, row


# -- the sequence diagram ----------------------------------------------------------------

def participant(span: dict[str, Any]) -> str:
    """A lifeline: the service, with the host for computes (there are several)."""
    if span["service"] == "nova-compute":
        return f"nova-compute {span['host']}"
    return span["service"]


def sequence(spans: list[dict[str, Any]]) -> list[tuple[float, float, str, Any]]:
    """The diagram's rows as ``(time, order, kind, data)``, sorted.

    Messages come from the sending side's spans (``rpc.call/cast/fanout``) and go to the
    service of their ``rpc.server`` children; a call's reply comes at the end of its
    span. ``order`` is the tracer's one sequence of span starts (``seq``), ends
    (``end_seq``) and events (their ``seq``), which orders rows of the same instant
    (without ``end_seq``, a reply goes after everything its server span started).
    """
    by_id = {span["span_id"]: span for span in spans}
    children: dict[str, list[dict[str, Any]]] = {}
    for span in spans:
        children.setdefault(span["parent_id"], []).append(span)

    def last_seq(span: dict[str, Any]) -> int:
        return max([span["seq"]] + [last_seq(child) for child in
                                    children.get(span["span_id"], [])])

    rows: list[tuple[float, float, str, Any]] = []
    for span in spans:
        name, start = span["name"], span["start"]
        if span["kind"] in ("client", "producer"):
            kind = span["attributes"].get("kind", "cast")
            method = span["attributes"].get("method", "?")
            for server in (c for c in children.get(span["span_id"], [])
                           if c["name"].startswith("rpc.server")):
                detail = [c["name"].split(".", 1)[1] for c in
                          children.get(server["span_id"], []) if c["kind"] == "internal"
                          and c["name"].startswith("conductor.") and "." in c["name"][10:]]
                label = f"{kind} {method}" + (f" ({detail[0]})" if detail else "")
                rows.append((start, span["seq"], "message",
                             (participant(span), participant(server), label)))
                if kind == "call":
                    outcome = "error: " + str(span.get("error")) if span.get("status") == "error" \
                        else "reply"
                    end_order = span.get("end_seq") or last_seq(server) + 0.5
                    rows.append((span["end"], end_order, "reply",
                                 (participant(server), participant(span),
                                  f"{outcome} to {method}")))
        elif name in NOTES:
            took = (span["end"] - start) / 1e9
            text = f"{name}" + (f" ({took:.2f} s)" if took > 0 else "")
            rows.append((start, span["seq"], "note", (participant(span), text)))
        for event in span.get("events") or []:
            if event["name"] == "instance.state" and event.get("seq") is not None:
                state = event["attributes"]
                rows.append((event["time"], event["seq"], "note", (
                    participant(span), f"instance.state {state.get('vm_state')} / "
                    f"{state.get('task_state')}")))
        parent = by_id.get(span["parent_id"])
        if parent is not None and parent["greenthread"] != span["greenthread"] \
                and span["kind"] == "internal" and parent["service"] == span["service"]:
            rows.append((start, span["seq"] - 0.25, "note", (
                participant(span), f"{span['name']} runs on greenthread "
                f"{span['greenthread']} (spawned by {parent['greenthread']})")))
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def draw(spans: list[dict[str, Any]]) -> list[str]:
    """The sequence diagram as text lines."""
    order = ["nova-api", "nova-conductor", "nova-scheduler"]
    lanes = order + sorted({participant(s) for s in spans} - set(order))
    x = {lane: index * COLUMN + COLUMN // 2 for index, lane in enumerate(lanes)}
    width = len(lanes) * COLUMN
    origin = min(span["start"] for span in spans)

    def blank() -> list[str]:
        line = [" "] * width
        for lane in lanes:
            line[x[lane]] = "|"
        return line

    header = "".join(lane.split(" ")[0].center(COLUMN) for lane in lanes)
    hosts = "".join((lane.split(" ")[1] if " " in lane else "").center(COLUMN)
                    for lane in lanes)
    lines = ["  t (s)  " + header.rstrip(), "         " + hosts.rstrip()]
    for when, _order, kind, data in sequence(spans):
        line = blank()
        if kind in ("message", "reply"):
            source, target, label = data
            a, b = x[source], x[target]
            low, high = min(a, b), max(a, b)
            for i in range(low + 1, high):
                line[i] = "-" if kind == "message" else "."
            if b > a:
                line[high - 1] = ">"
            else:
                line[low + 1] = "<"
        else:
            lane, label = data
            line[x[lane]] = "*"
        text = "".join(line).rstrip()
        lines.append(f"  {(when - origin) / 1e9:5.2f}  {text.ljust(width)}  {label}")
    return lines


def export_with(name: str, spans: list[dict[str, Any]]) -> str | None:
    """The output of the trace package's exporter ``name`` (``mermaid``, ``text``):
    ``nova_sim.trace.<name>.render(TraceSet(spans))``, or None when that exporter is
    not there (or fails: the exporters are younger than this demo)."""
    import importlib

    try:
        from nova_sim.trace.model import TraceSet

        module = importlib.import_module(f"nova_sim.trace.{name}")
        return str(module.render(TraceSet(spans))).rstrip("\n")
    except Exception:  # noqa: BLE001 - missing or still being written
        return None


def main() -> None:
    print(__doc__.split("\n")[0])
    spans, row = boot_traced()
    root = spans[0]
    request_id = next((s["request_id"] for s in spans if s["request_id"]), "-")
    print(f"\n  One boot (request {request_id}, trace {root['trace_id']}): "
          f"{len(spans)} spans in {len({s['service'] for s in spans})} services.")
    print("  --> cast / call (a message), <... reply, * work on that service's lifeline\n")
    for line in draw(spans):
        print(line)
    print(f"\n  The server is {row['vm_state'].upper()} on {row['host']} "
          f"(power_state {row['power_state']}).")
    tree = export_with("text", spans)
    if tree:
        print("\n  The same trace as a tree (what 'nova-sim trace show' prints): start offset, "
              "duration,\n  service@host, greenthread, span:\n")
        print(tree)
    mermaid = export_with("mermaid", spans)
    if mermaid:
        print("\n  The same flow as a Mermaid sequence diagram (paste into mermaid.live):\n")
        print(mermaid)
    print(SUMMARY)


SUMMARY = """
Reading the diagram:
  - nova-api casts schedule_and_build_instances and would answer 202 right away: the
    request does not wait for the build.
  - the conductor *calls* select_destinations (it needs the answer), then casts
    build_and_run_instance to the chosen compute's own queue (compute.<host>).
  - the compute returns from build_and_run_instance at once and builds on a greenthread
    of its own (Nova: utils.spawn_n under _build_semaphore); every instance save on the
    way (networking, block_device_mapping, spawning, active) is an RPC *call* to the
    conductor, because computes have no database access.
  - the fanout update_instance_info tells every scheduler about the new instance.
Every id here comes from the seeded virtual clock: run it again and the trace is the
same, byte for byte. A live cloud traces itself with [trace] enabled = true (make run
does, and prints one boot): spans go to [trace] output_dir, and
'nova-sim trace show REQUEST_ID' or 'nova-sim trace export --format
perfetto|otlp|osprofiler|mermaid|text' read them."""


if __name__ == "__main__":
    main()
