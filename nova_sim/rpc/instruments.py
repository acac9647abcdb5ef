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

An instrument that raises is logged and ignored. With none installed, the RPC layer
checks one list and pays nothing more. Must not know about the hub or Nova.
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger(__name__)

#: The installed instruments (read by the RPC layer: ``if INSTRUMENTS: notify(...)``).
INSTRUMENTS: list[Any] = []


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


# Per hook, the (instrument, bound method) pairs that have it, as the hub keeps its
# instruments per hook: ``notify`` then looks nothing up per message. Recomputed by
# add/remove, and by ``notify`` when ``INSTRUMENTS`` was changed in place (``_seen`` is the
# list the table was made from).
_HOOK_NAMES = ("message_sent", "message_received", "dispatch_started", "dispatch_finished",
               "reply_sent", "reply_received")
_hooks: dict[str, tuple[tuple[Any, Any], ...]] = {}
_seen: list[Any] = []


def _refresh_hooks() -> None:
    global _seen
    table: dict[str, list[tuple[Any, Any]]] = {}
    for instrument in INSTRUMENTS:
        for hook in _HOOK_NAMES:
            method = getattr(instrument, hook, None)
            if method is not None:
                table.setdefault(hook, []).append((instrument, method))
    _hooks.clear()
    _hooks.update((hook, tuple(pairs)) for hook, pairs in table.items())
    _seen = list(INSTRUMENTS)


def notify(hook: str, *args: Any) -> None:
    """Call ``hook(*args)`` on every instrument that has it; errors are logged."""
    if INSTRUMENTS != _seen:
        _refresh_hooks()
    pairs = _hooks.get(hook)
    if pairs is None:
        if hook in _HOOK_NAMES:
            return
        pairs = tuple((i, getattr(i, hook)) for i in INSTRUMENTS if hasattr(i, hook))
    for instrument, method in pairs:
        try:
            method(*args)
        except Exception:
            LOG.exception("RPC instrument %r failed in %s", instrument, hook)
