"""``nova-sim demo``: find, list and run the teaching demos of ``nova_sim.demos``.

A demo is a module ``nova_sim/demos/dNN_slug.py`` whose docstring's first line is its
title and which has a ``main()`` (optionally taking the remaining command-line arguments
as a list). Listing reads titles from the source files without importing them, so a demo
that cannot be imported still shows in the list. Must not know what the demos do.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pathlib
import re
import sys
from dataclasses import dataclass
from typing import Any

PACKAGE = "nova_sim.demos"
_NAME = re.compile(r"^d(?P<number>\d+)_(?P<slug>\w+)$")


class DemoArgumentsError(ValueError):
    """Arguments were given to a demo whose ``main()`` takes none."""


class DemoImportError(Exception):
    """A demo module that cannot be imported or has no ``main``."""


@dataclass(frozen=True)
class Demo:
    """One demo module: ``number`` (1), ``slug`` ("greenlet_switch"), ``module`` name."""

    number: int
    slug: str
    module: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.number:02d}"


def _demos_directory() -> pathlib.Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def _title(path: pathlib.Path) -> str:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError) as error:
        return f"(cannot read: {error.__class__.__name__})"
    doc = ast.get_docstring(tree) or ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return first or "(no title)"


def discover(directory: pathlib.Path | None = None) -> list[Demo]:
    """The demos in ``directory`` (default: the ``nova_sim.demos`` package), by number.

    Only files named ``dNN_slug.py`` count; the order is by number, then slug.
    """
    directory = _demos_directory() if directory is None else directory
    if directory is None or not directory.is_dir():
        return []
    demos = []
    for path in sorted(directory.glob("d*.py")):
        match = _NAME.match(path.stem)
        if match:
            demos.append(
                Demo(int(match["number"]), match["slug"], f"{PACKAGE}.{path.stem}", _title(path))
            )
    return sorted(demos, key=lambda demo: (demo.number, demo.slug))


def find(name: str, demos: list[Demo]) -> Demo:
    """The demo ``name`` designates: a number (``1``, ``01``), ``d01``, the slug
    (``greenlet_switch`` or ``greenlet-switch``), the module's name, or a unique prefix
    of a slug. Raises LookupError with a one-line message otherwise."""
    key = name.strip().lower().replace("-", "_")
    if key.startswith("d") and key[1:].isdigit():
        key = key[1:]
    if key.isdigit():
        matches = [demo for demo in demos if demo.number == int(key)]
    else:
        matches = [
            demo for demo in demos
            if key in (demo.slug, demo.module.rsplit(".", 1)[-1], demo.module)
        ] or [demo for demo in demos if demo.slug.startswith(key)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise LookupError(f"no demo named {name!r} (see 'nova-sim demo --list')")
    names = ", ".join(demo.slug for demo in matches)
    raise LookupError(f"{name!r} is ambiguous: {names}")


def format_list(demos: list[Demo], prog: str = "nova-sim") -> str:
    """The ``demo --list`` text: one line per demo, ``NN  slug  title``, then how to run
    one (``prog``: the command as the user can type it)."""
    if not demos:
        return "No demos found in nova_sim/demos/.\n"
    width = max(len(demo.slug) for demo in demos)
    lines = [f"  {demo.label}  {demo.slug:<{width}}  {demo.title}" for demo in demos]
    lines.append("")
    lines.append(f"Run one with: {prog} demo NUMBER (or NAME), e.g. {prog} demo "
                 f"{demos[0].number}")
    return "\n".join(lines) + "\n"


def run(demo: Demo, argv: list[str]) -> int:
    """Import the demo and call its ``main`` (with ``argv`` when it takes an argument).

    Returns the exit status: what ``main`` returns (None counts as 0). Raises
    DemoArgumentsError when ``argv`` is not empty and ``main`` takes no argument, and
    DemoImportError when the demo cannot be imported or has no ``main``.
    """
    try:
        module = importlib.import_module(demo.module)
    except ImportError as error:
        raise DemoImportError(f"demo {demo.slug} cannot be imported: {error}")
    entry = getattr(module, "main", None)
    if entry is None:
        raise DemoImportError(f"demo {demo.slug} ({demo.module}) has no main()")
    takes_arguments = bool(inspect.signature(entry).parameters)
    if argv and not takes_arguments:
        raise DemoArgumentsError(f"demo {demo.slug} takes no arguments, got {' '.join(argv)}")
    result = entry(argv) if takes_arguments else entry()
    return int(result or 0)


def demo_command(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim demo``."""
    from nova_sim.cmd import CommandError, UsageError

    demos = discover()
    if args.list or not args.name:
        from nova_sim.cmd.launch import command_as_typed

        sys.stdout.write(format_list(demos, command_as_typed("nova-sim") or "nova-sim"))
        return 0
    try:
        demo = find(args.name, demos)
    except LookupError as error:
        raise UsageError(str(error))
    try:
        return run(demo, list(args.demo_args or []))
    except DemoImportError as error:
        raise CommandError(str(error))
    except DemoArgumentsError as error:
        raise UsageError(str(error))

