"""Helpers shared by the teaching demos (not a demo: its name has no ``dNN_`` prefix).

Owns ``narrated_log``: showing one logger's lines in a demo's output, one line each.
Must not know what the demos do.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from typing import Any, Iterator

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class _CurrentStdout:
    """A stream writing to whatever ``sys.stdout`` is now (pytest's capture swaps it)."""

    def write(self, text: str) -> None:
        sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class _OneLine(logging.Formatter):
    """A formatter that leaves tracebacks out (a demo narrates, it does not dump); with
    ``show_error``, a record with an exception ends with ``: Type: message`` instead."""

    def __init__(self, fmt: str, show_error: bool = False):
        super().__init__(fmt)
        self.show_error = show_error

    def format(self, record: logging.LogRecord) -> str:
        # memory addresses in reprs vary from run to run and teach nothing here
        text = _ADDRESS.sub("", super().format(record))
        if self.show_error and record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f": {type(error).__name__}: {error}"
        return text

    def formatException(self, exc_info: Any) -> str:
        return ""

    def formatStack(self, stack_info: str) -> str:
        return ""


@contextlib.contextmanager
def narrated_log(name: str, prefix: str, level: int = logging.WARNING,
                  show_error: bool = False) -> Iterator[None]:
    """Within the block, print logger ``name``'s records of ``level`` and above to stdout
    as ``prefix + message`` (no traceback; with ``show_error``, a logged exception's type
    and message follow), and not to the usual handlers. The logger's level and
    propagation are restored afterwards, also on error."""
    handler = logging.StreamHandler(_CurrentStdout())
    handler.setFormatter(_OneLine(prefix + "%(message)s", show_error))
    logger = logging.getLogger(name)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate, logger.level = False, level
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved
