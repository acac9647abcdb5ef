"""A Mermaid sequence diagram of a request: who asked whom, in order.

Owns the ``mermaid`` export (text for a ```` ```mermaid ```` block, or ``mmdc``):

- a participant per service instance (``nova-conductor ctl``), after a ``client`` when
  the flow starts with an HTTP request;
- ``client->>api: POST /v2.1/servers`` and the answer back for ``wsgi.request`` spans;
- ``A->>B: call method`` and ``B-->>A: method done (12 ms)`` for RPC calls,
  ``A-)B: cast method`` for casts (Mermaid's open arrow: asynchronous);
- ``Note over B: ...`` for the driver's operations and for point events such as
  ``instance.state``.

Items are ordered by time, ties by the tracer's sequence of span starts, ends and events
(a call's reply after what the callee did), so equal virtual-clock instants still read top
to bottom.
Text is kept to characters Mermaid accepts in messages (no ``;`` or ``#``).
"""

from __future__ import annotations

from typing import Any

from nova_sim.trace.model import TraceSet


def _clean(text: str) -> str:
    return (str(text).replace(";", ",").replace("#", "no.").replace("\n", " ")
            .replace("%%", "%").replace("<", "(").replace(">", ")"))


def _duration(span: dict[str, Any]) -> str:
    ms = (int(span["end"]) - int(span["start"])) / 1e6
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


def render(traces: TraceSet) -> str:
    """The sequence diagram text of every span in ``traces``."""
    instances = traces.instances()
    alias = {instance: f"P{number}" for number, instance in enumerate(instances, start=1)}
    items: list[tuple[int, int, int, str]] = []
    uses_client = any(s["name"] == "wsgi.request" for s in traces.spans)

    def where(span: dict[str, Any]) -> str:
        return alias[(span["service"], span["host"])]

    def add(when: Any, seq: Any, line: str) -> None:
        items.append((int(when), int(seq or 0), len(items), "    " + line))

    def receiver(span: dict[str, Any]) -> dict[str, Any] | None:
        for child in traces.children_of(span):
            if child["name"].startswith("rpc.server "):
                return child
        return None

    def visit(span: dict[str, Any]) -> None:
        name = span["name"]
        attributes = span.get("attributes") or {}
        here = where(span)
        after: list[tuple[Any, Any, str]] = []
        start, seq, end_seq = span["start"], span.get("seq"), span.get("end_seq")
        if name == "wsgi.request":
            add(start, seq, f"client->>{here}: "
                f"{_clean(attributes.get('method', ''))} {_clean(attributes.get('path', ''))}")
            result = "error" if span.get("status") == "error" else "response"
            after.append((span["end"], end_seq,
                          f"{here}-->>client: {result} ({_duration(span)})"))
        elif name.startswith(("rpc.call ", "rpc.cast ", "rpc.fanout ")):
            kind, method = name[4:].split(" ", 1)
            child = receiver(span)
            there = where(child) if child is not None else here
            work = traces.children_of(child) if child is not None else []
            if len(work) == 1:  # the object the conductor works on: "Instance.save"
                what = work[0]["name"].split(".", 1)[-1]
                if what != method:
                    method = f"{method} {what}"
            if kind == "call":
                add(start, seq, f"{here}->>{there}: call {_clean(method)}")
                result = (f"{_clean(span.get('error'))}" if span.get("status") == "error"
                          else "done")
                after.append((span["end"], end_seq, f"{there}-->>{here}: {result} "
                              f"({_duration(span)})"))
            else:
                add(start, seq, f"{here}-){there}: {kind} {_clean(method)}")
        elif name.startswith("driver.") or span.get("kind") == "event":
            text = name if span.get("kind") != "event" else _event_text(name, attributes)
            if span.get("kind") != "event":
                text = f"{name} ({_duration(span)})"
            add(start, seq, f"Note over {here}: {_clean(text)}")
        for event in span.get("events") or []:
            add(event["time"], event.get("seq"), f"Note over {here}: "
                f"{_clean(_event_text(event['name'], event.get('attributes') or {}))}")
        for child in traces.children_of(span):
            visit(child)
        for when, when_seq, line in after:
            add(when, when_seq, line)

    for root in traces.roots:
        visit(root)
    lines = ["sequenceDiagram"]
    if uses_client:
        lines.append("    actor client")
    for instance in instances:
        lines.append(f"    participant {alias[instance]} as {_clean(' '.join(instance))}")
    lines.extend(item[3] for item in sorted(items))
    return "\n".join(lines) + "\n"


def _event_text(name: str, attributes: dict[str, Any]) -> str:
    if name == "instance.state":
        state = "/".join(str(attributes.get(k)) for k in ("vm_state", "task_state")
                         if k in attributes)
        return f"{name} {state}".strip()
    return " ".join([name] + [f"{k}={v}" for k, v in attributes.items()
                              if k != "instance_uuid"])
