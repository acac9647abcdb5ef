"""``nova-sim trace``: show, export and merge request traces.

Owns the trace commands behind ``nova_sim.cmd.trace`` (the contract:
``main(argv, conf) -> int``)::

    nova-sim trace show REQUEST_ID | --last     [-i FILE...]
    nova-sim trace export --format perfetto|otlp|osprofiler|mermaid|text
                          [--request-id ID | --last] [-i FILE...] [-o FILE]
    nova-sim trace merge FILE... -o OUT

Traces are read from ``-i`` files or directories (a merged file, a process's span file),
by default from every span file under ``[trace] output_dir``, plus what this process's own
tracer still holds. Exit status: 0 done, 1 nothing found or unreadable input, 2 bad usage.
Errors are one line on standard error.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nova_sim.trace import store
from nova_sim.trace.model import TraceSet

FORMATS = ("perfetto", "otlp", "osprofiler", "mermaid", "text")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2 (no usage dump)
        raise _Usage(message)


class _Usage(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The ``nova-sim trace`` argument parser."""
    parser = _Parser(prog="nova-sim trace", description="Show, export and merge traces.")
    commands = parser.add_subparsers(dest="command", metavar="show|export|merge",
                                     parser_class=_Parser)
    commands.required = True
    show = commands.add_parser("show", help="print the span tree of one request")
    show.add_argument("request_id", nargs="?", help="a request id (req-...) or trace id")
    show.add_argument("--last", action="store_true", help="the most recent request")
    show.add_argument("-i", "--input", nargs="+", metavar="FILE",
                      help="span files or directories (default: [trace] output_dir)")
    export = commands.add_parser("export", help="write traces in another format")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--request-id", help="only the traces of this request")
    export.add_argument("--last", action="store_true", help="only the most recent request")
    export.add_argument("-i", "--input", nargs="+", metavar="FILE",
                        help="span files or directories (default: [trace] output_dir)")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    merge = commands.add_parser("merge", help="join span files of several processes")
    merge.add_argument("files", nargs="+", metavar="FILE")
    merge.add_argument("-o", "--output", required=True, metavar="OUT")
    return parser


def render(traces: TraceSet, fmt: str) -> str:
    """``traces`` as text in format ``fmt`` (one of ``FORMATS``)."""
    if fmt == "perfetto":
        from nova_sim.trace import perfetto as module
    elif fmt == "otlp":
        from nova_sim.trace import otlp as module
    elif fmt == "osprofiler":
        from nova_sim.trace import osprofiler as module
    elif fmt == "mermaid":
        from nova_sim.trace import mermaid as module
    elif fmt == "text":
        from nova_sim.trace import text as module
    else:
        raise ValueError(f"unknown trace format {fmt!r}")
    return module.render(traces)


def _select(traces: TraceSet, request_id: str | None, last: bool) -> TraceSet:
    if request_id:
        chosen = traces.select(request_id=request_id)
        if not len(chosen):
            chosen = traces.select(trace_id=request_id)
        return chosen
    if last:
        return traces.select(last=True)
    return traces


def _write(text: str, path: str | None) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def main(argv: list[str], conf: Any = None) -> int:
    """Run ``nova-sim trace ARGV``; returns the exit status (see the module docstring)."""
    try:
        args = build_parser().parse_args(list(argv))
    except _Usage as error:
        sys.stderr.write(f"nova-sim trace: {error}\n")
        return 2
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    try:
        if args.command == "merge":
            records = store.merge(store.read_files(args.files))
            store.write(records, args.output)
            spans = sum(1 for r in records if r.get("type") == "span")
            sys.stdout.write(f"merged {len(args.files)} file(s), {spans} spans -> "
                             f"{args.output}\n")
            return 0
        traces = TraceSet(store.load(conf, args.input))
        if args.command == "show":
            if not args.request_id and not args.last:
                sys.stderr.write("nova-sim trace: show needs a REQUEST_ID or --last\n")
                return 2
            chosen = _select(traces, args.request_id, args.last)
            if not len(chosen):
                what = args.request_id or "any request"
                sys.stderr.write(f"nova-sim trace: no trace of {what} in "
                                 f"{', '.join(args.input or [store.output_dir(conf)])}\n")
                return 1
            _write(render(chosen, "text"), None)
            return 0
        chosen = _select(traces, args.request_id, args.last)
        if (args.request_id or args.last) and not len(chosen):
            sys.stderr.write(f"nova-sim trace: no trace of {args.request_id or 'any request'}"
                             "\n")
            return 1
        _write(render(chosen, args.format), args.output)
        if args.output:
            sys.stdout.write(f"wrote {args.format} trace ({len(chosen)} spans) to "
                             f"{args.output}\n")
        return 0
    except (OSError, ValueError) as error:
        sys.stderr.write(f"nova-sim trace: {error}\n")
        return 1
