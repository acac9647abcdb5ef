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


def remove_instrument(instrument: Any) -> None:
    """Uninstall ``instrument``; unknown instruments are ignored."""
    try:
        INSTRUMENTS.remove(instrument)
    except ValueError:
        pass


def notify(hook: str, *args: Any) -> None:
    """Call ``hook(*args)`` on every instrument that has it; errors are logged."""
    for instrument in tuple(INSTRUMENTS):
        method = getattr(instrument, hook, None)
        if method is None:
            continue
        try:
            method(*args)
        except Exception:
            LOG.exception("RPC instrument %r failed in %s", instrument, hook)
