"""``nova-sim trace``: show, export and merge request traces.

Owns the trace commands behind ``nova_sim.cmd.trace`` (the contract:
``main(argv, conf) -> int``)::

    nova-sim trace show REQUEST_ID | --last | --last-request | --last-any  [-i FILE]...
    nova-sim trace export --format perfetto|otlp|osprofiler|mermaid|text
                          [--request-id ID | --last | --last-request | --last-any]
                          [-i FILE]... [-o FILE]
    nova-sim trace merge FILE... -o OUT

Options and arguments come in any order. ``--last`` is the latest request a user made
(a REST request that is not a read, or a compute API call made in code: not the polls of
a client waiting, not heartbeats or periodic tasks); ``--last-request`` includes reads;
``--last-any`` is the latest trace of anything (see ``TraceSet.latest``).

Traces are read from ``-i`` files or directories (a merged file, a process's span file;
``-i`` may be repeated), by default from every span file under ``[trace] output_dir``,
plus what this process's own tracer still holds. ``show`` says when the trace may still
be growing (spans whose parents are not written yet). Exit status: 0 done, 1 nothing
found or unreadable input, 2 bad usage. Errors are one line on standard error.
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


def _add_selection(parser: argparse.ArgumentParser) -> None:
    """The options choosing the latest request of a kind, and the input files."""
    parser.add_argument("--last", dest="last", action="store_const", const="user",
                        help="the latest request a user made (not a read, a heartbeat "
                             "or a periodic task)")
    parser.add_argument("--last-request", dest="last", action="store_const",
                        const="request", help="the latest API request, reads included")
    parser.add_argument("--last-any", dest="last", action="store_const", const="any",
                        help="the latest trace of anything (periodic tasks included)")
    parser.add_argument("-i", "--input", action="append", metavar="FILE",
                        help="a span file or directory (repeatable; default: "
                             "[trace] output_dir)")


def build_parser() -> argparse.ArgumentParser:
    """The ``nova-sim trace`` argument parser (``parse`` reads a command line with it:
    options and positional arguments in any order)."""
    parser = _Parser(prog="nova-sim trace", description="Show, export and merge traces.")
    commands = parser.add_subparsers(dest="command", metavar="show|export|merge",
                                     parser_class=_Parser)
    commands.required = True
    show = commands.add_parser("show", help="print the span tree of one request")
    show.add_argument("request_id", nargs="?", help="a request id (req-...) or trace id")
    _add_selection(show)
    export = commands.add_parser("export", help="write traces in another format")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--request-id", help="only the traces of this request")
    _add_selection(export)
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    merge = commands.add_parser("merge", help="join span files of several processes")
    merge.add_argument("files", nargs="+", metavar="FILE")
    merge.add_argument("-o", "--output", required=True, metavar="OUT")
    parser.set_defaults(commands={"show": show, "export": export, "merge": merge})
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed, the command's options and arguments in any order (argparse
    mixes them only below the sub-command). Raises ``_Usage`` for bad usage and
    SystemExit for ``--help``."""
    parser = build_parser()
    commands = parser.get_default("commands")
    if not argv or argv[0] not in commands:
        return parser.parse_args(argv)  # --help, or a one-line usage error
    args = commands[argv[0]].parse_intermixed_args(argv[1:])
    args.command = argv[0]
    return args


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


def _select(traces: TraceSet, request_id: str | None, last: str | None) -> TraceSet:
    if request_id:
        chosen = traces.select(request_id=request_id)
        if not len(chosen):
            chosen = traces.select(trace_id=request_id)
        return chosen
    if last:
        return traces.select(last=last)
    return traces


_WANTED = {"user": "a request a user made (--last-request or --last-any show others)",
           "request": "an API request (--last-any shows any trace)",
           "any": "any trace"}


def growing_note(traces: TraceSet) -> str:
    """A line saying the trace may still be growing, or "" when every span's parent
    is there."""
    missing = traces.missing_parents()
    if not missing:
        return ""
    return (f"note: this trace may still be growing: {len(missing)} span(s) whose parent "
            "is not written yet (still running, or in a span file not read here) are "
            "shown at the top level; a process writes a span within about a second of "
            "its end\n")


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
        args = parse(list(argv))
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
                sys.stderr.write("nova-sim trace: show needs a REQUEST_ID, --last, "
                                 "--last-request or --last-any\n")
                return 2
            if args.request_id and args.last:
                sys.stderr.write("nova-sim trace: show takes a REQUEST_ID or a --last "
                                 "option, not both\n")
                return 2
            chosen = _select(traces, args.request_id, args.last)
            if not len(chosen):
                what = args.request_id or _WANTED[args.last]
                sys.stderr.write(f"nova-sim trace: no trace of {what} in "
                                 f"{', '.join(args.input or [store.output_dir(conf)])}\n")
                return 1
            _write(render(chosen, "text") + growing_note(chosen), None)
            return 0
        if args.request_id and args.last:
            sys.stderr.write("nova-sim trace: export takes --request-id or a --last "
                             "option, not both\n")
            return 2
        chosen = _select(traces, args.request_id, args.last)
        if (args.request_id or args.last) and not len(chosen):
            what = args.request_id or _WANTED[args.last]
            sys.stderr.write(f"nova-sim trace: no trace of {what}\n")
            return 1
        _write(render(chosen, args.format), args.output)
        if args.output:
            sys.stdout.write(f"wrote {args.format} trace ({len(chosen)} spans) to "
                             f"{args.output}\n")
        return 0
    except (OSError, ValueError) as error:
        sys.stderr.write(f"nova-sim trace: {error}\n")
        return 1
