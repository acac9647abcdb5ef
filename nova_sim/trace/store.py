"""Span files: the span log and its layout, writing and reading files, merging, ``setup``.

Owns the on-disk format and the ``[trace]`` options' meaning.

The span log
------------
A tracer records as little as it can while the traced code runs: a span keeps the row
made when it started (a tuple: ids, name, service, greenthread, start...), and when it
ends that row, with its end, its outcome and its point events, goes into the span log,
a list; a greenthread switch (when they are recorded) is a row too (see ``SPAN_ROW`` and
``SWITCH_ROW``). Rows are plain tuples of str, int, None and the attribute dicts;
turning them into span records (``decode``) is left to whoever reads them, off the
traced path.

Each traced process appends its log to ``<output_dir>/<service>-<host>-<pid>.spans``:
first a ``process`` record (who wrote the file), then the rows in lists, every value
written with ``marshal`` (version 4): C code, a few hundred nanoseconds a row, where
formatting a JSON line cost the traced code several microseconds. Rows that ``marshal``
cannot write (an attribute that is a datetime or an object) are written as JSON would
hold them (``default=str``). A file cut short by a crash is read up to the cut; a span
that never ended is not in it. The ``.spans`` files are for
``nova-sim trace``; read only files you trust (``marshal``, like ``pickle``, is not meant
for data from elsewhere).

``merge`` joins the files of several processes into one JSON-lines file (one
self-describing ``{"type": "span", ...}`` object per line, ``.jsonl``), in a stable
order, which every exporter reads and which ``read_files`` reads as well.

Must not know the exporters or the services.
"""

from __future__ import annotations

import glob
import json
import marshal
import os
from typing import Any, Iterable, Iterator

import nova_sim.conf
from nova_sim import trace as trace_api

#: Row tags (the first item of every row of a span log).
SPAN, SWITCH = "p", "s"
#: The rows' layouts (after the tag). ``seq`` / ``end_seq`` order starts, ends and
#: events that share a clock reading; ``error`` is None for an ok span; ``events`` is
#: None or a list of ``(time, seq, name, attributes)``.
SPAN_ROW = ("trace_id", "span_id", "parent_id", "name", "kind", "service", "host",
            "greenthread", "start", "seq", "request_id", "global_request_id",
            "attributes", "end", "end_seq", "error", "events")
SWITCH_ROW = ("time", "from", "to")
SPANS_SUFFIX = ".spans"  # a process's span file
_CHUNK = 250  # rows per marshal'd list
_MARSHAL_VERSION = 4

# What JSON cannot hold (a datetime, an object) becomes its text, as in a span record.
_ENCODER = json.JSONEncoder(default=str, separators=(", ", ": "), check_circular=False)


def plain(value: Any) -> Any:
    """``value`` as JSON gives it back: tuples become lists, what JSON cannot hold (a
    datetime, an object) its ``str``."""
    return json.loads(_ENCODER.encode(value))


def decode(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The span and switch records (dicts, as in a merged file) of a span log, in its
    order (spans in the order they ended); rows that are not rows are left out."""
    out: list[dict[str, Any]] = []
    for row in rows:
        try:
            tag = row[0]
            if tag == SPAN:
                out.append(_span_record(*row[1:]))
            elif tag == SWITCH:
                _, when, origin, target = row
                out.append({"type": "switch", "time": when, "from": origin, "to": target})
        except (TypeError, ValueError, IndexError, KeyError):
            continue  # not a row of ours: skipped, as a line that is not JSON
    return out


def _span_record(trace_id: Any, span_id: Any, parent_id: Any, name: Any, kind: Any,
                 service: Any, host: Any, greenthread: Any, start: Any, seq: Any,
                 request_id: Any, global_request_id: Any, attributes: Any, end: Any,
                 end_seq: Any, error: Any, events: Any) -> dict[str, Any]:
    record = {"type": "span", "trace_id": trace_id, "span_id": span_id,
              "parent_id": parent_id, "name": name, "kind": kind, "service": service,
              "host": host, "greenthread": greenthread, "start": start, "end": end,
              "request_id": request_id}
    # a global request id and an error only when there is one (readers fill them in:
    # model.SPAN_DEFAULTS), as merge and the exports always wrote them
    if global_request_id is not None:
        record["global_request_id"] = global_request_id
    if error is None:
        record["status"] = "ok"
    else:
        record["status"] = "error"
        record["error"] = error
    record["seq"] = seq
    record["end_seq"] = end_seq
    record["attributes"] = plain(attributes) if attributes else {}
    record["events"] = [{"time": when, "seq": order, "name": event,
                         "attributes": plain(values)}
                        for when, order, event, values in events or ()]
    return record


def dump_rows(rows: list[Any]) -> Iterator[bytes]:
    """``rows`` as they go into a span file: marshal'd lists of ``_CHUNK`` rows (some
    tens of KB each, which the allocator reuses, where one object of them all would be
    fresh pages from the system every time); a list holding a value marshal cannot
    write is written as JSON would hold it."""
    for first in range(0, len(rows), _CHUNK):
        chunk = rows[first:first + _CHUNK]
        try:
            yield marshal.dumps(chunk, _MARSHAL_VERSION)
        except ValueError:  # an attribute marshal cannot write (a datetime, an object)
            yield marshal.dumps(plain(chunk), _MARSHAL_VERSION)


def dump_header(record: dict[str, Any]) -> bytes:
    """The first object of a span file: its ``process`` record."""
    return marshal.dumps(plain(record), _MARSHAL_VERSION)


def read_span_file(path: str) -> tuple[dict[str, Any] | None, list[Any]]:
    """The ``process`` record and the rows of a ``.spans`` file (None and what could be
    read, for a file that is not one or is cut short)."""
    rows: list[Any] = []
    with open(path, "rb") as stream:
        try:
            header = marshal.load(stream)
        except (EOFError, ValueError, TypeError):
            return None, rows
        if not (isinstance(header, dict) and header.get("type") == "process"):
            return None, rows
        while True:
            try:
                chunk = marshal.load(stream)
            except (EOFError, ValueError, TypeError):  # the end, or a cut
                break
            if isinstance(chunk, list):
                rows.extend(chunk)
    return header, rows


def output_dir(conf: Any = None) -> str:
    """``[trace] output_dir`` of ``conf`` (default: ``nova_sim.conf.CONF``), made
    absolute."""
    conf = conf if conf is not None else nova_sim.conf.CONF
    return os.path.abspath(os.path.expanduser(conf.trace.output_dir))


def setup(conf: Any, service: str, host: str | None = None,
          context_getter: Any = None, seed: int | None = None) -> Any:
    """Install a tracer for this process when ``[trace] enabled`` is true.

    ``service`` / ``host`` name the process (``nova-compute`` / ``compute1``; a
    one-process cloud uses ``nova-sim``). Spans go to ``[trace] output_dir``;
    ``[trace] record_switches`` adds greenthread switches. Returns the installed tracer,
    the one already installed (it is kept), or None when tracing is off.
    """
    conf = conf if conf is not None else nova_sim.conf.CONF
    if not conf.trace.enabled:
        return None
    existing = trace_api.get_tracer()
    if existing is not None:
        return existing
    from nova_sim.trace.tracer import Tracer

    tracer = Tracer(
        service=service, host=host or conf.host,
        output_dir=output_dir(conf), seed=seed,
        record_switches=conf.trace.record_switches,
        context_getter=context_getter,
    )
    return tracer.install()


def read_files(paths: Iterable[str]) -> list[dict[str, Any]]:
    """Every record of the span files (or directories of them) in ``paths``: a process's
    ``.spans`` file, or a JSON-lines file (``merge``'s output, ``.jsonl``).

    A line that is not a JSON object, or the cut end of a ``.spans`` file, is skipped.
    Raises FileNotFoundError for a path that does not exist.
    """
    records: list[dict[str, Any]] = []
    for path in paths:
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.jsonl"))
                           + glob.glob(os.path.join(path, "*" + SPANS_SUFFIX)))
        elif os.path.exists(path):
            files = [path]
        else:
            raise FileNotFoundError(path)
        for name in files:
            if name.endswith(SPANS_SUFFIX):
                header, rows = read_span_file(name)
                if header is not None:
                    records.append(header)
                    records.extend(decode(rows))
                continue
            with open(name, encoding="utf-8") as stream:
                for line in stream:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        records.append(record)
    return records


def _order(record: dict[str, Any]) -> tuple:
    kind = record.get("type")
    if kind == "process":
        return (0, 0, str(record.get("service")), str(record.get("host")), 0, "")
    if kind == "span":
        return (1, int(record.get("start") or 0), str(record.get("service")),
                str(record.get("host")), int(record.get("seq") or 0),
                str(record.get("span_id")))
    return (2, int(record.get("time") or 0), "", "", 0, "")


def merge(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records of several files as one stable list: process records first, then spans by
    start time (ties: service, host, creation order), then switches; duplicates (the same
    span read twice) dropped."""
    seen: set[tuple] = set()
    out = []
    for record in sorted(records, key=_order):
        kind = record.get("type")
        if kind == "span":
            key = ("span", record.get("span_id"), record.get("trace_id"))
        elif kind == "process":
            key = ("process", record.get("service"), record.get("host"), record.get("pid"))
        else:
            key = ("switch", record.get("time"), record.get("from"), record.get("to"))
        if key in seen:
            continue
        seen.add(key)
        out.append(record)
    return out


def write(records: Iterable[dict[str, Any]], path: str) -> str:
    """Write ``records`` as a span file at ``path`` (replacing it); returns ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")
    return path


def load(conf: Any = None, paths: list[str] | None = None) -> list[dict[str, Any]]:
    """The merged records of ``paths`` (default: every file under the output directory),
    plus what this process's own tracer holds in memory (flushed first)."""
    tracer = trace_api.get_tracer()
    if tracer is not None and getattr(tracer, "output_dir", None):
        tracer.flush()
    if paths:
        records = read_files(paths)
    else:
        directory = output_dir(conf)
        records = read_files([directory]) if os.path.isdir(directory) else []
    if tracer is not None and not paths:
        records.extend(tracer.records())
    return merge(records)
