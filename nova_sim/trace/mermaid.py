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
    return _Diagram(traces).render()


class _Diagram:
    """One sequence diagram: lines collected with their time and order, then sorted."""

    def __init__(self, traces: TraceSet):
        self.traces = traces
        self.instances = traces.instances()
        self.alias = {instance: f"P{number}"
                      for number, instance in enumerate(self.instances, start=1)}
        self.items: list[tuple[int, int, int, str]] = []

    def render(self) -> str:
        for root in self.traces.roots:
            self.visit(root)
        lines = ["sequenceDiagram"]
        if any(s["name"] == "wsgi.request" for s in self.traces.spans):
            lines.append("    actor client")
        for instance in self.instances:
            lines.append(f"    participant {self.alias[instance]} as "
                         f"{_clean(' '.join(instance))}")
        lines.extend(item[3] for item in sorted(self.items))
        return "\n".join(lines) + "\n"

    def where(self, span: dict[str, Any]) -> str:
        return self.alias[(span["service"], span["host"])]

    def add(self, when: Any, seq: Any, line: str) -> None:
        self.items.append((int(when), int(seq or 0), len(self.items), "    " + line))

    def receiver(self, span: dict[str, Any]) -> dict[str, Any] | None:
        for child in self.traces.children_of(span):
            if child["name"].startswith("rpc.server "):
                return child
        return None

    def visit(self, span: dict[str, Any]) -> None:
        """Add the lines of ``span`` and of its descendants; a reply line comes after
        the lines of the work it answers."""
        name = span["name"]
        here = self.where(span)
        after: list[tuple[Any, Any, str]] = []
        if name == "wsgi.request":
            after = self.request(span, here)
        elif name.startswith(("rpc.call ", "rpc.cast ", "rpc.fanout ")):
            after = self.message(span, here)
        elif name.startswith("driver.") or span.get("kind") == "event":
            text = name if span.get("kind") != "event" else _event_text(
                name, span.get("attributes") or {})
            if span.get("kind") != "event":
                text = f"{name} ({_duration(span)})"
            self.add(span["start"], span.get("seq"), f"Note over {here}: {_clean(text)}")
        for event in span.get("events") or []:
            self.add(event["time"], event.get("seq"), f"Note over {here}: "
                     f"{_clean(_event_text(event['name'], event.get('attributes') or {}))}")
        for child in self.traces.children_of(span):
            self.visit(child)
        for when, when_seq, line in after:
            self.add(when, when_seq, line)

    def request(self, span: dict[str, Any], here: str) -> list[tuple[Any, Any, str]]:
        """The client's request arrow; returns the response arrow, drawn after."""
        attributes = span.get("attributes") or {}
        self.add(span["start"], span.get("seq"), f"client->>{here}: "
                 f"{_clean(attributes.get('method', ''))} "
                 f"{_clean(attributes.get('path', ''))}")
        result = "error" if span.get("status") == "error" else "response"
        return [(span["end"], span.get("end_seq"),
                 f"{here}-->>client: {result} ({_duration(span)})")]

    def message(self, span: dict[str, Any], here: str) -> list[tuple[Any, Any, str]]:
        """The arrow of an RPC call or cast to the service that received it; for a
        call, returns the reply arrow, drawn after."""
        kind, method = span["name"][4:].split(" ", 1)
        child = self.receiver(span)
        there = self.where(child) if child is not None else here
        work = self.traces.children_of(child) if child is not None else []
        if len(work) == 1:  # the object the conductor works on: "Instance.save"
            what = work[0]["name"].split(".", 1)[-1]
            if what != method:
                method = f"{method} {what}"
        if kind != "call":
            self.add(span["start"], span.get("seq"), f"{here}-){there}: {kind} "
                     f"{_clean(method)}")
            return []
        self.add(span["start"], span.get("seq"), f"{here}->>{there}: call {_clean(method)}")
        result = f"{_clean(span.get('error'))}" if span.get("status") == "error" else "done"
        return [(span["end"], span.get("end_seq"),
                 f"{there}-->>{here}: {result} ({_duration(span)})")]


def _event_text(name: str, attributes: dict[str, Any]) -> str:
    if name == "instance.state":
        state = "/".join(str(attributes.get(k)) for k in ("vm_state", "task_state")
                         if k in attributes)
        return f"{name} {state}".strip()
    return " ".join([name] + [f"{k}={v}" for k, v in attributes.items()
                              if k != "instance_uuid"])
