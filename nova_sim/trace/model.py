"""A loaded trace: span records as a forest, selected by request id, in a stable order.

Owns ``TraceSet``, what every exporter reads: the span records of one or many processes
(``store.load``/``store.read_files``), their parent/child links (across processes: an RPC
server span's parent is the sender's span), the selection of one request (``select``) and
one depth-first order that ties on equal times never reorder (a virtual clock gives many).

Must not know file formats of the exporters, nor the services.
"""

from __future__ import annotations

from typing import Any, Iterable

#: Span-file fields a writer may leave out, and their values.
SPAN_DEFAULTS = {"parent_id": None, "request_id": None, "global_request_id": None,
                 "status": "ok", "error": None, "kind": "internal", "seq": 0,
                 "end_seq": 0, "attributes": {}, "events": [], "greenthread": "?"}


#: What ``latest`` / ``select(last=...)`` can look for.
LAST_KINDS = ("user", "request", "any")
_READS = ("GET", "HEAD")


def _is_request(span: dict[str, Any], reads: bool) -> bool:
    """Whether ``span`` began a request made to the API (``reads``: GET and HEAD too)."""
    if span["name"] == "wsgi.request":
        method = str((span.get("attributes") or {}).get("method", "")).upper()
        return reads or method not in _READS
    return span["name"].startswith("api.") and not span.get("parent_id")


def _key(span: dict[str, Any]) -> tuple:
    return (int(span.get("start") or 0), str(span.get("service")), str(span.get("host")),
            int(span.get("seq") or 0), str(span.get("span_id")))


class TraceSet:
    """Spans (dicts as in the span files), their tree and the greenthread switches."""

    def __init__(self, records: Iterable[dict[str, Any]]):
        records = list(records)
        self.processes = [r for r in records if r.get("type") == "process"]
        spans = []
        for record in records:
            if record.get("type") == "span":
                for key, value in SPAN_DEFAULTS.items():
                    if key not in record:
                        record[key] = type(value)() if isinstance(value, (dict, list)) \
                            else value
                spans.append(record)
        self.switches = [r for r in records if r.get("type") == "switch"]
        by_id: dict[str, dict[str, Any]] = {}
        for span in spans:
            by_id.setdefault(span["span_id"], span)
        self.by_id = by_id
        children: dict[str, list[dict[str, Any]]] = {}
        roots = []
        for span in sorted(by_id.values(), key=_key):
            parent = span.get("parent_id")
            if parent and parent in by_id and parent != span["span_id"]:
                children.setdefault(parent, []).append(span)
            else:
                roots.append(span)
        self.children = children
        self.roots = roots
        self.spans = self._depth_first()

    def _depth_first(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        stack = list(reversed(self.roots))
        while stack:
            span = stack.pop()
            if span["span_id"] in seen:
                continue
            seen.add(span["span_id"])
            out.append(span)
            stack.extend(reversed(self.children.get(span["span_id"], [])))
        return out

    def __len__(self) -> int:
        return len(self.spans)

    def missing_parents(self) -> list[dict[str, Any]]:
        """Spans whose parent is not in this set, in depth-first order. A span is
        written when it ends, so a parent still running (or in a process whose file was
        not read, or a peer that does not trace) leaves its children without it: the
        trace may still be growing."""
        return [s for s in self.spans
                if s.get("parent_id") and s["parent_id"] not in self.by_id]

    def children_of(self, span: dict[str, Any]) -> list[dict[str, Any]]:
        """The span's children, in start order."""
        return self.children.get(span["span_id"], [])

    def depth(self, span: dict[str, Any]) -> int:
        """How many ancestors the span has in this set."""
        depth = 0
        parent = span.get("parent_id")
        while parent in self.by_id and depth < 10000:
            depth += 1
            parent = self.by_id[parent].get("parent_id")
        return depth

    def trace_ids(self) -> list[str]:
        """The trace ids, in order of each trace's first span."""
        out: list[str] = []
        seen: set[str] = set()
        for span in self.spans:
            if span["trace_id"] not in seen:
                seen.add(span["trace_id"])
                out.append(span["trace_id"])
        return out

    def request_ids(self) -> list[str]:
        """Request ids seen, in order of first appearance."""
        out: list[str] = []
        seen: set[str] = set()
        for span in self.spans:
            for key in ("request_id", "global_request_id"):
                value = span.get(key)
                if value and value not in seen:
                    seen.add(value)
                    out.append(value)
        return out

    def select(self, request_id: str | None = None, trace_id: str | None = None,
               last: str | None = None) -> TraceSet:
        """Only the traces of one request: those holding a span with ``request_id``
        (or ``global_request_id``), or ``trace_id``, or the latest trace of a kind
        (``last``, one of ``LAST_KINDS``: see ``latest``). Switch records are kept. May
        be empty."""
        wanted: set[str] = set()
        if request_id:
            wanted = {s["trace_id"] for s in self.spans
                      if request_id in (s.get("request_id"), s.get("global_request_id"))}
        elif trace_id:
            wanted = {trace_id}
        elif last:
            latest = self.latest(last)
            if latest is not None:
                wanted = {latest["trace_id"]}
        spans = [s for s in self.spans if s["trace_id"] in wanted]
        return TraceSet(self.processes + spans + self.switches)

    def latest(self, kind: str = "user") -> dict[str, Any] | None:
        """The span that began the latest request of ``kind`` (None when there is none):

        - ``user``: a request a user made that acts on the cloud: a REST request other
          than a read (``wsgi.request`` whose method is not GET or HEAD: the polls of a
          client waiting for a server are reads) or a call of the compute API made in
          code (a top-level ``api.*`` span);
        - ``request``: any REST request or compute API call, reads included;
        - ``any``: any trace, periodic tasks and service heartbeats included.
        """
        if kind not in LAST_KINDS:
            raise ValueError(f"unknown kind of request {kind!r} (one of {LAST_KINDS})")
        if kind == "any":
            candidates = [r for r in self.roots if r.get("kind") != "event"]
        else:
            candidates = [s for s in self.spans if _is_request(s, reads=kind == "request")]
        return max(candidates, key=_key) if candidates else None

    def bounds(self) -> tuple[int, int]:
        """(earliest start, latest end) in ns; (0, 0) when empty."""
        if not self.spans:
            return 0, 0
        return (min(int(s["start"]) for s in self.spans),
                max(int(s["end"]) for s in self.spans))

    def instances(self) -> list[tuple[str, str]]:
        """Service instances (service, host) in order of their first span."""
        out: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for span in sorted(self.spans, key=lambda s: (int(s["start"]), int(s.get("seq") or 0),
                                                      str(s["service"]), str(s["host"]))):
            key = (span["service"], span["host"])
            if key not in seen:
                seen.add(key)
                out.append(key)
        return out
