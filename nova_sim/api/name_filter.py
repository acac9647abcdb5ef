"""The ``name`` filter of ``GET /servers``: a regular expression run in linear time.

Nova matches ``name`` as a regular expression against the display name. A backtracking
engine (Python's ``re``) can take exponential time on a hostile pattern such as
``(a+)+$`` and would hold the whole hub, so the filter runs on RE2 (the ``re2`` module of
google-re2), whose matching time is linear in the name's length and whose compiled
program is bounded in memory.

Fallback, documented in ``docs/reliability.md``: RE2 has no backreferences (``\\1``) nor
look-around (``(?=...)``, ``(?<!...)``); such a pattern, a malformed one, one over the
memory bound or one that is not valid Unicode is refused with 400 rather than run on a
backtracking engine.
"""

from __future__ import annotations

from typing import Any, Callable

import re2

from nova_sim.api import faults

#: Memory bound of one compiled pattern (RE2 refuses larger programs).
MAX_PROGRAM_BYTES = 8 << 20
#: Longest pattern accepted (as Nova's query schema bounds the parameter).
MAX_PATTERN_LENGTH = 255

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = MAX_PROGRAM_BYTES


def compile_filter(pattern: str) -> Callable[[Any], bool]:
    """A predicate telling whether a display name matches ``pattern`` (``re.search``
    semantics: anywhere in the name).

    Raises ``faults.BadRequest`` (400) when the pattern is longer than
    ``MAX_PATTERN_LENGTH``, malformed, uses syntax RE2 lacks (backreferences,
    look-around), exceeds ``MAX_PROGRAM_BYTES`` or holds a lone surrogate. Matching
    never raises: a name that is not valid Unicode does not match.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise faults.BadRequest(f"Invalid name filter: longer than {MAX_PATTERN_LENGTH} "
                                "characters.")
    try:
        program = re2.compile(pattern, options=_OPTIONS)
    except (re2.error, UnicodeError, ValueError, TypeError) as error:
        detail = error.args[0] if error.args else error
        reason = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
        raise faults.BadRequest(
            f"Invalid name filter {pattern[:64]!r}: not a regular expression the "
            f"linear-time engine accepts ({reason}).")

    def matches(name: Any) -> bool:
        if name is None:
            return False
        try:
            return program.search(str(name)) is not None
        except (UnicodeError, ValueError):
            return False

    return matches
