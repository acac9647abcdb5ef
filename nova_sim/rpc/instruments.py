"""Instruments: optional observers of the RPC layer (tracing, teaching demos, tests).

Owns the RPC layer's registry, :data:`hooks`, one per process for every transport. It
is an :class:`nova_sim.green.instruments.Instruments`, the mechanism the hub uses too:
an instrument is any object with some of these methods (missing ones are skipped):

- ``message_sent(kind, target, message)``: a request is about to be published;
  ``kind`` is ``"call"``, ``"cast"`` or ``"fanout"``; ``message`` is the request dict
  (``method``, ``args``, ``_context_*``, ``_msg_id``...). The instrument may add keys
  (e.g. ``_context_trace_id``): they travel with the message.
- ``message_received(target, message)``: a server decoded a request (before dispatch).
- ``dispatch_started(target, message, ctxt)`` / ``dispatch_finished(target, message,
  ctxt, result, error)``: around the endpoint method, on the dispatching greenthread
  (``error`` is the exception or None). Every ``dispatch_started`` is followed by its
  ``dispatch_finished``, also when the dispatching greenthread is killed (``error`` is
  then the ``GreenletExit`` or whatever was thrown in).
- ``reply_sent(target, message, reply)``: a server published a reply dict.
- ``reply_received(target, message, reply)``: a caller is done with a call: its final
  reply dict, or None when there is none (timed out, killed, the request could not be
  sent). Every call's ``message_sent`` is followed by one ``reply_received``.

The RPC layer reads a hook from the registry at each use (``hooks.message_sent`` is None
while no instrument has it), so with none installed a message costs one attribute read
per hook. An instrument that raises an Exception is logged with its traceback and
removed; the message goes on. Must not know about the hub or Nova.
"""

from __future__ import annotations

from typing import Any

from nova_sim.green.instruments import Instruments

HOOK_NAMES = ("message_sent", "message_received", "dispatch_started", "dispatch_finished",
              "reply_sent", "reply_received")

#: The RPC layer's instruments (install with add_instrument / remove_instrument).
hooks = Instruments(HOOK_NAMES, "RPC")


def add_instrument(instrument: Any) -> None:
    """Install ``instrument`` (idempotent) for every transport of this process."""
    hooks.add(instrument)


def remove_instrument(instrument: Any) -> None:
    """Uninstall ``instrument``; unknown instruments are ignored."""
    hooks.remove(instrument)


def clear_instruments() -> None:
    """Uninstall every instrument."""
    hooks.clear()
