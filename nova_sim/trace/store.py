"""Span files: their format, writing and reading them, merging, ``setup``.

Owns the on-disk format (documented in docs/tracing.md, "The span file format") and the
``[trace]`` options' meaning.

The format
----------
A span file is a sequence of records, maps with a ``type``:

- ``header``: ``{"type": "header", "format": "nova-sim-trace", "version": 1}``, the
  first record of every file this package writes. A reader rejects a header of another
  format, or of a version newer than it knows (``FORMAT`` / ``VERSION``); a header may
  appear again further on (files joined with ``cat`` stay readable).
- ``process``: who wrote what follows (``service``, ``host``, ``pid``, ``prefix`` of its
  ids).
- ``span``: one finished span, its fields named (``span_record``).
- ``switch``: one greenthread switch (``time``, ``from``, ``to``), when recorded.

The same records come in two encodings, told apart by the first byte:

- *msgpack* (a stream of maps), what a traced process writes as it runs, to
  ``<output_dir>/<service>-<host>-<pid>.spans``: the header and the process record when
  it creates the file, then, at each flush, the spans finished since the last one,
  encoded in batches (``encode_records``, several times cheaper than JSON for the
  traced process) and written in one call;
- *JSON lines* (one JSON object per line), what ``merge`` writes (``.jsonl``), for
  ``jq``, ``grep`` and any JSON reader.

A span is written once, when it has ended, so a span file holds only whole spans; a
record cut short by a crash (or being written while it is read) ends the reading of a
msgpack file, and is skipped in JSON lines.

Must not know the exporters or the services.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any, Iterable

import msgpack

import nova_sim.conf
from nova_sim import trace as trace_api

#: The format's name and version, written in every file's header line. A change that
#: an older reader would misread (a field renamed, a meaning changed) takes a new
#: version; new optional fields do not.
FORMAT = "nova-sim-trace"
VERSION = 1
SPANS_SUFFIX = ".spans"  # a process's span file

# What JSON cannot hold (a datetime, an object) becomes its text.
_ENCODER = json.JSONEncoder(default=str)


class FormatError(ValueError):
    """A file whose header names another format, or a newer version of ours."""


def header_record() -> dict[str, Any]:
    """The header line's object: the format's name and version."""
    return {"type": "header", "format": FORMAT, "version": VERSION}


def process_record(service: str, host: str, pid: int, prefix: str) -> dict[str, Any]:
    """The record that says which process wrote the records after it."""
    return {"type": "process", "service": service, "host": host, "pid": pid,
            "prefix": prefix}


def switch_record(when: int, origin: str, target: str) -> dict[str, Any]:
    """One greenthread switch: at ``when`` (ns since the epoch) ``origin`` stopped
    running and ``target`` ran next."""
    return {"type": "switch", "time": when, "from": origin, "to": target}


def span_record(span: Any) -> dict[str, Any]:
    """The record of a finished span (a ``tracer.Span``, read by field name).

    ``global_request_id`` and ``error`` are left out when there is none (readers fill
    them in: ``model.SPAN_DEFAULTS``)."""
    record = {"type": "span", "trace_id": span.trace_id, "span_id": span.span_id,
              "parent_id": span.parent_id, "name": span.name, "kind": span.kind,
              "service": span.service, "host": span.host,
              "greenthread": span.greenthread, "start": span.start, "end": span.end,
              "request_id": span.request_id}
    if span.global_request_id is not None:
        record["global_request_id"] = span.global_request_id
    if span.error is None:
        record["status"] = "ok"
    else:
        record["status"] = "error"
        record["error"] = span.error
    record["seq"] = span.seq
    record["end_seq"] = span.end_seq
    record["attributes"] = span.attributes or {}
    record["events"] = [{"time": when, "seq": order, "name": name, "attributes": values}
                        for when, order, name, values in span.events or ()]
    return record


def record_of(entry: Any) -> dict[str, Any]:
    """The record of an entry of a tracer's span log: a record already, or a span."""
    return entry if type(entry) is dict else span_record(entry)


def _lenient(value: Any, depth: int = 0) -> Any:
    """``value`` with what keeps JSON from encoding it (keys that are not text, a loop)
    made text."""
    if depth > 20:
        return str(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _lenient(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lenient(v, depth + 1) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def encode(record: dict[str, Any]) -> str:
    """One record as one JSON line (without its newline); values JSON cannot hold are
    written as their ``str``."""
    try:
        return _ENCODER.encode(record)
    except (TypeError, ValueError):  # a key that is not text, a loop
        return _ENCODER.encode(_lenient(record))


def _packer() -> msgpack.Packer:
    """A msgpack packer writing what msgpack cannot hold (a datetime, an object) as its
    ``str``, as JSON does."""
    return msgpack.Packer(default=str)


def encode_header(process: dict[str, Any]) -> bytes:
    """The first records of a process's span file, in msgpack: the header, then
    ``process``."""
    pack = _packer().pack
    return pack(header_record()) + pack(process)


def encode_records(entries: list[Any]) -> bytes:
    """A batch of span-log entries (spans, records) in msgpack, ready to append."""
    pack = _packer().pack
    try:
        return b"".join([pack(record_of(entry)) for entry in entries])
    except (TypeError, ValueError, OverflowError):  # a loop, a huge integer: one by one
        return b"".join([_pack_leniently(pack, record_of(entry)) for entry in entries])


def _pack_leniently(pack: Any, record: dict[str, Any]) -> bytes:
    try:
        return pack(record)
    except (TypeError, ValueError, OverflowError):
        return pack(_lenient(record))


def plain(value: Any) -> Any:
    """``value`` as a span file gives it back: tuples become lists, what JSON cannot
    hold (a datetime, an object) its ``str``."""
    return json.loads(encode(value))


def check_header(record: dict[str, Any], path: str) -> None:
    """Raise ``FormatError`` unless ``record`` (a header line of ``path``) is a header
    this code reads: our format, a version not newer than ``VERSION``."""
    if record.get("format") != FORMAT:
        raise FormatError(f"{path} is not a nova-sim trace file "
                          f"(format {record.get('format')!r})")
    version = record.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise FormatError(f"{path} is a nova-sim trace file of version {version!r}; this "
                          f"nova-sim reads version {VERSION} and older")


def read_file(path: str) -> list[dict[str, Any]]:
    """The records of one span file (msgpack or JSON lines, see the module docstring),
    headers checked and left out. What is not a record (the cut end of a file being
    written, junk) is skipped. Raises ``FormatError`` (a ValueError) for a header of
    another format or a newer version, OSError when the file cannot be read."""
    with open(path, "rb") as stream:
        data = stream.read()
    first = data.lstrip()[:1]
    objects = _json_lines(data) if first in (b"{", b"[", b"") else _msgpack_objects(data)
    records: list[dict[str, Any]] = []
    for record in objects:
        if not (isinstance(record, dict) and isinstance(record.get("type"), str)):
            continue  # not a record of ours
        if record.get("type") == "header":
            check_header(record, path)
            continue
        records.append(record)
    return records


def _json_lines(data: bytes) -> list[Any]:
    out = []
    for line in data.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:  # not JSON (or not UTF-8)
                continue
    return out


def _msgpack_objects(data: bytes) -> list[Any]:
    out = []
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(data)
    try:
        for item in unpacker:
            out.append(item)
    except (ValueError, msgpack.UnpackException):  # junk: what came before it counts
        pass
    return out


def output_dir(conf: Any = None) -> str:
    """``[trace] output_dir`` of ``conf`` (default: ``nova_sim.conf.CONF``), made
    absolute."""
    conf = conf if conf is not None else nova_sim.conf.CONF
    return os.path.abspath(os.path.expanduser(conf.trace.output_dir))


def enabled(conf: Any, default: bool = False) -> bool:
    """Whether ``conf`` asks for tracing: ``[trace] enabled`` when set, else
    ``default`` (the commands that run services pass True)."""
    value = conf.trace.enabled
    return default if value is None else bool(value)


def setup(conf: Any, service: str, host: str | None = None,
          context_getter: Any = None, seed: int | None = None,
          default: bool = False) -> Any:
    """Install a tracer for this process when tracing is on (``enabled``).

    ``service`` / ``host`` name the process (``nova-compute`` / ``compute1``; a
    one-process cloud uses ``nova-sim``). Spans go to ``[trace] output_dir``, each
    process's file capped by ``[trace] max_file_size``; ``[trace] record_switches`` adds
    greenthread switches. Returns the installed tracer, the one already installed (it
    is kept), or None when tracing is off.
    """
    conf = conf if conf is not None else nova_sim.conf.CONF
    if not enabled(conf, default):
        return None
    existing = trace_api.get_tracer()
    if existing is not None:
        return existing
    from nova_sim.trace.tracer import Tracer

    cap = conf.trace.max_file_size
    tracer = Tracer(
        service=service, host=host or conf.host,
        output_dir=output_dir(conf), seed=seed,
        record_switches=conf.trace.record_switches,
        context_getter=context_getter,
        max_file_bytes=cap * 1024 * 1024 if cap else None,
    )
    return tracer.install()


def read_files(paths: Iterable[str], missing_ok: bool = False) -> list[dict[str, Any]]:
    """Every record of the span files (or directories of them) in ``paths``, in file
    order (a directory: its ``*.jsonl`` and ``*.spans`` files by name), headers left out.

    Raises FileNotFoundError for a path that does not exist (unless ``missing_ok``),
    ``FormatError`` for a file of another format or a newer version (see ``read_file``).
    """
    records: list[dict[str, Any]] = []
    for path in paths:
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.jsonl"))
                           + glob.glob(os.path.join(path, "*" + SPANS_SUFFIX)))
        elif os.path.exists(path):
            files = [path]
        elif missing_ok:
            continue
        else:
            raise FileNotFoundError(path)
        for name in files:
            records.extend(read_file(name))
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
    """Write ``records`` as a span file at ``path`` (replacing it): the header line,
    then one line per record; returns ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="ascii") as stream:
        stream.write(encode(header_record()) + "\n")
        for record in records:
            stream.write(encode(record) + "\n")
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
