"""What every transport shares: the interface the client and server use, reply waiters.

Owns the transport interface and the client side of replies: one reply queue per
transport (created on the first call), a waiter queue per ``_msg_id`` in flight, and
routing each incoming reply to its waiter. Must not know about endpoints, serializers or
contexts (the client and server do), nor about Nova.

The interface (all of it is used from greenthreads of one hub):

- ``send(target, message, kind, timeout)``: publish a request dict (``kind`` is
  ``"call"``, ``"cast"`` or ``"fanout"``); ``timeout`` bounds how long publishing may
  wait for a lost broker (None: ``rpc_response_timeout``), and a call's becomes the
  message's expiration.
- ``reply_queue()``: the name of this transport's reply queue (consuming from then on).
- ``expect_reply(msg_id)`` / ``forget_reply(msg_id)``: the queue the replies of a call
  arrive on, as decoded dicts.
- ``listen(target, deliver)``: consume the server queues of ``target``; ``deliver(body)``
  is called with each request's raw body, already acknowledged (at most once), and must
  not block. Returns a listener with ``stop()``.
- ``send_reply(reply_q, reply)``: publish a reply dict to a reply queue.
- ``cleanup()``: stop consuming, delete what this transport alone uses, close.
- ``connected``: False while a transport with a broker has no connection to it.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from nova_sim import green
from nova_sim.rpc import wire
from nova_sim.rpc.options import RPCOptions
from nova_sim.rpc.target import Target

LOG = logging.getLogger(__name__)


class Listener:
    """A server's subscription; ``stop()`` stops consuming (idempotent)."""

    def __init__(self, stop: Callable[[], None]):
        self._stop = stop
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._stop()


class Transport:
    """Base class of transports (see the module docstring for the interface)."""

    scheme = "base"

    def __init__(self, url: str, options: RPCOptions,
                 allowed_remote_exmods: list[str] | tuple[str, ...] | None = None):
        self.url = url
        self.conf = options
        self.allowed_remote_exmods = tuple(
            list(options.allowed_remote_exmods) + list(allowed_remote_exmods or [])
        )
        self._reply_q: str | None = None
        self._waiters: dict[str, Any] = {}

    # -- the client side of replies ------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether this transport can reach its broker now (always True in process)."""
        return True

    def reply_queue(self) -> str:
        """This transport's reply queue (``reply_<uuid>``), declared on first use."""
        if self._reply_q is None:
            name = "reply_" + wire.new_id()
            self._declare_reply_queue(name)
            self._reply_q = name
        return self._reply_q

    def expect_reply(self, msg_id: str):
        """Register a waiter for ``msg_id``; replies arrive on the returned queue."""
        waiter = green.LightQueue()
        self._waiters[msg_id] = waiter
        return waiter

    def forget_reply(self, msg_id: str) -> None:
        """Stop waiting for ``msg_id`` (late replies are then dropped with a log line)."""
        self._waiters.pop(msg_id, None)

    def _on_reply(self, body: Any) -> None:
        """Route a reply body to its waiter (never raises, never blocks)."""
        try:
            reply = wire.decode(body)
        except wire.WireError as error:
            LOG.warning("Dropping undecodable reply on %s: %s", self._reply_q, error)
            return
        waiter = self._waiters.get(reply.get("_msg_id"))
        if waiter is None:
            LOG.info("No caller waits for reply %s (timed out?); dropped", reply.get("_msg_id"))
            return
        waiter.put(reply)

    # -- what each transport implements ----------------------------------------------

    def _declare_reply_queue(self, name: str) -> None:
        raise NotImplementedError

    def send(self, target: Target, message: dict, kind: str,
             timeout: float | None = None) -> None:
        raise NotImplementedError

    def send_reply(self, reply_q: str, reply: dict) -> None:
        raise NotImplementedError

    def listen(self, target: Target, deliver: Callable[[Any], None]) -> Listener:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def exchange_for(self, target: Target) -> str:
        """The topic exchange of ``target`` (its own, or ``control_exchange``)."""
        return target.exchange or self.conf.control_exchange

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
