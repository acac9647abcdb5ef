"""Span files: writing them per process, reading and merging them, and ``setup``.

Owns the on-disk format and the ``[trace]`` options' meaning. Each traced process appends
JSON lines to ``<output_dir>/<service>-<host>-<pid>.jsonl``: first a ``process`` record
(who wrote the file, and ``span_fields``, the names of a span line's fields), then a JSON
array per span, encoded as the span ends (``Span.to_line``: the keys are not repeated
on every line, which halves what writing costs), and ``switch`` records (greenthread
switches) when ``record_switches`` is on. A span may also be a ``{"type": "span", ...}``
object (what ``merge`` writes: one self-describing object per line). ``merge`` joins the
files of several processes into one file of the same format, in a stable order, which
every exporter reads.

Must not know the exporters or the services.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any, Iterable

from nova_sim import trace as trace_api
from nova_sim.conf import option as _option


def output_dir(conf: Any) -> str:
    """``[trace] output_dir`` (default ``$state_path/traces``), made absolute."""
    path = _option(conf, "trace", "output_dir", None)
    if not path:
        path = os.path.join(_option(conf, None, "state_path", os.getcwd()), "traces")
    return os.path.abspath(os.path.expanduser(path))


def setup(conf: Any, service: str, host: str | None = None,
          context_getter: Any = None, seed: int | None = None) -> Any:
    """Install a tracer for this process when ``[trace] enabled`` is true.

    ``service`` / ``host`` name the process (``nova-compute`` / ``compute1``; a
    one-process cloud uses ``nova-sim``). Spans go to ``[trace] output_dir``;
    ``[trace] record_switches`` adds greenthread switches. Returns the installed tracer,
    the one already installed (it is kept), or None when tracing is off.
    """
    if not _option(conf, "trace", "enabled", False):
        return None
    existing = trace_api.get_tracer()
    if existing is not None:
        return existing
    from nova_sim.trace.tracer import Tracer

    tracer = Tracer(
        service=service, host=host or _option(conf, None, "host", None),
        output_dir=output_dir(conf), seed=seed,
        record_switches=bool(_option(conf, "trace", "record_switches", False)),
        context_getter=context_getter,
    )
    return tracer.install()


def read_files(paths: Iterable[str]) -> list[dict[str, Any]]:
    """Every record of the span files (or directories of them) in ``paths``.

    A line that is not a JSON object (a file cut short by a crash) is skipped. Raises
    FileNotFoundError for a path that does not exist.
    """
    records: list[dict[str, Any]] = []
    for path in paths:
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.jsonl")))
        elif os.path.exists(path):
            files = [path]
        else:
            raise FileNotFoundError(path)
        for name in files:
            with open(name, encoding="utf-8") as stream:
                fields = None
                for line in stream:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        if record.get("type") == "process":
                            fields = record.get("span_fields") or fields
                        records.append(record)
                    elif isinstance(record, list) and fields:
                        records.append(span_from_row(fields, record))
    return records


def span_from_row(fields: list[str], row: list[Any]) -> dict[str, Any]:
    """A span record (dict) from an array line of a span file with ``fields``."""
    record: dict[str, Any] = {"type": "span"}
    record.update(zip(fields, row, strict=False))
    events = record.get("events")
    record["events"] = [
        {"time": e[0], "seq": e[1], "name": e[2], "attributes": e[3]}
        if isinstance(e, list) else e for e in events or []]
    for key in ("global_request_id", "error"):
        if record.get(key) is None:
            record.pop(key, None)
    return record


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
