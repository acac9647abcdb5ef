"""Helpers shared by the teaching demos (not a demo: its name has no ``dNN_`` prefix).

Owns ``narrated_log``: showing one logger's lines in a demo's output, one line each.
Must not know what the demos do.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any, Iterator


class _CurrentStdout:
    """A stream writing to whatever ``sys.stdout`` is now (pytest's capture swaps it)."""

    def write(self, text: str) -> None:
        sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class _OneLine(logging.Formatter):
    """A formatter that leaves tracebacks out: a demo narrates, it does not dump."""

    def formatException(self, exc_info: Any) -> str:
        return ""


@contextlib.contextmanager
def narrated_log(name: str, prefix: str, level: int = logging.WARNING) -> Iterator[None]:
    """Within the block, print logger ``name``'s records of ``level`` and above to stdout
    as ``prefix + message`` (no traceback), and not to the usual handlers. The logger's
    level and propagation are restored afterwards, also on error."""
    handler = logging.StreamHandler(_CurrentStdout())
    handler.setFormatter(_OneLine(prefix + "%(message)s"))
    logger = logging.getLogger(name)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate, logger.level = False, level
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved
