"""Instruments: optional observers of the RPC layer (tracing, teaching demos, tests).

Owns the registry. An instrument is any object with some of these methods (all
optional; missing ones are skipped):

- ``message_sent(kind, target, message)``: a request is about to be published;
  ``kind`` is ``"call"``, ``"cast"`` or ``"fanout"``; ``message`` is the request dict
  (``method``, ``args``, ``_context_*``, ``_msg_id``...). The instrument may add keys
  (e.g. ``_context_trace_id``): they travel with the message.
- ``message_received(target, message)``: a server decoded a request (before dispatch).
- ``dispatch_started(target, message, ctxt)`` / ``dispatch_finished(target, message,
  ctxt, result, error)``: around the endpoint method, on the dispatching greenthread
  (``error`` is the exception or None).
- ``reply_sent(target, message, reply)``: a server published a reply dict.
- ``reply_received(target, message, reply)``: a caller got its final reply dict
  (``reply`` is None when the call timed out).

An instrument that raises is logged and ignored (one that sets ``catches_own_errors =
True`` promises to do that itself, and is then called with no wrapper, when it is the
only one with that hook). The RPC layer calls a hook through
``on_<hook>`` (``on_message_sent``...): None while no installed instrument has it, so with
none installed a message costs one module attribute read per hook and nothing more.
Must not know about the hub or Nova.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

LOG = logging.getLogger(__name__)

#: The installed instruments, in order (change them with add/remove/clear_instruments).
INSTRUMENTS: list[Any] = []

_HOOK_NAMES = ("message_sent", "message_received", "dispatch_started", "dispatch_finished",
               "reply_sent", "reply_received")

# Per hook, the function the RPC layer calls (None: no instrument has that hook), made
# again by every change of INSTRUMENTS, as the hub keeps its instruments per hook.
on_message_sent: Callable[..., None] | None = None
on_message_received: Callable[..., None] | None = None
on_dispatch_started: Callable[..., None] | None = None
on_dispatch_finished: Callable[..., None] | None = None
on_reply_sent: Callable[..., None] | None = None
on_reply_received: Callable[..., None] | None = None


def add_instrument(instrument: Any) -> None:
    """Install ``instrument`` (idempotent) for every transport of this process."""
    if instrument not in INSTRUMENTS:
        INSTRUMENTS.append(instrument)
    _refresh_hooks()


def remove_instrument(instrument: Any) -> None:
    """Uninstall ``instrument``; unknown instruments are ignored."""
    try:
        INSTRUMENTS.remove(instrument)
    except ValueError:
        pass
    _refresh_hooks()


def clear_instruments() -> None:
    """Uninstall every instrument."""
    INSTRUMENTS.clear()
    _refresh_hooks()


def _caller(hook: str, pairs: list[tuple[Any, Any]]) -> Callable[..., None] | None:
    """One function calling ``hook`` on each instrument of ``pairs``, errors logged."""
    if not pairs:
        return None
    if len(pairs) == 1 and getattr(pairs[0][0], "catches_own_errors", False) is True:
        return pairs[0][1]  # it logs its own errors: called with no wrapper

    def call_each(*args: Any) -> None:
        for instrument, method in pairs:
            try:
                method(*args)
            except Exception:
                LOG.exception("RPC instrument %r failed in %s", instrument, hook)

    return call_each


def _refresh_hooks() -> None:
    names = globals()
    for hook in _HOOK_NAMES:
        pairs = [(instrument, getattr(instrument, hook)) for instrument in INSTRUMENTS
                 if getattr(instrument, hook, None) is not None]
        names["on_" + hook] = _caller(hook, pairs)

