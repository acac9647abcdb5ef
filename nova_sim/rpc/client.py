"""RPCClient: calls that wait for an answer, casts that don't, fanouts to every server.

Owns the client side of an RPC: building request dicts (arguments through the
serializer, the context flattened to ``_context_*`` keys), the version cap, publishing
through the transport, and waiting for the reply of a call (timeout, call-monitor
heartbeats, failures re-raised). Must not know how the transport moves bytes, nor
anything of Nova.
"""

from __future__ import annotations

from typing import Any

from nova_sim import green
from nova_sim.rpc import wire
from nova_sim.rpc.exceptions import (
    InvalidTarget,
    MessageDeliveryFailure,
    MessagingException,
    MessagingTimeout,
    RPCVersionCapError,
    deserialize_failure,
)
from nova_sim.rpc.instruments import hooks
from nova_sim.rpc.serializer import NoOpSerializer, Serializer, passes_entities
from nova_sim.rpc.target import Target
from nova_sim.rpc.transport.base import Transport

_MARKER = object()
#: How many prepared variants a client keeps (emptied beyond: a server per host of a big
#: cloud would be too many to keep).
_PREPARED_SIZE = 256


class RPCClient:
    """Invokes methods on the servers of a target (oslo.messaging's RPCClient).

    ``timeout`` (seconds) bounds every call; None means ``rpc_response_timeout``.
    ``version_cap`` refuses (``RPCVersionCapError``) requests above that version.
    ``call_monitor_timeout``: when set, the server sends a heartbeat every half of it
    while a call runs, and the call fails once no heartbeat came for that long (the
    overall ``timeout`` still applies).
    """

    def __init__(
        self,
        transport: Transport,
        target: Target,
        timeout: float | None = None,
        version_cap: str | None = None,
        serializer: Serializer | None = None,
        call_monitor_timeout: float | None = None,
    ):
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.version_cap = version_cap
        self.serializer = serializer or NoOpSerializer()
        #: the serializer gives entities back unchanged: no call per argument and result
        self._plain_entities = passes_entities(self.serializer)
        if call_monitor_timeout is None:
            call_monitor_timeout = transport.conf.call_monitor_timeout
        self.call_monitor_timeout = call_monitor_timeout
        #: the variants ``prepare`` made, by its arguments (a service prepares the same few
        #: for every message: a fanout cast every 120 s from each compute)
        self._prepared: dict[tuple, RPCClient] = {}

    def prepare(self, exchange: Any = _MARKER, topic: Any = _MARKER,
                namespace: Any = _MARKER, version: Any = _MARKER, server: Any = _MARKER,
                fanout: Any = _MARKER, timeout: Any = _MARKER, version_cap: Any = _MARKER,
                call_monitor_timeout: Any = _MARKER) -> RPCClient:
        """A client for a variant of this target (other server, version, timeout...).

        The same arguments give the same client (made once; a client is not changed
        after it is made)."""
        key = (exchange, topic, namespace, version, server, fanout, timeout, version_cap,
               call_monitor_timeout)
        prepared = self._prepared
        try:
            return prepared[key]
        except KeyError:
            kept = True
        except TypeError:  # an unhashable argument: made each time
            kept = False
        client = self._prepare(*key)
        if kept:
            if len(prepared) >= _PREPARED_SIZE:
                prepared.clear()
            prepared[key] = client
        return client

    def _prepare(self, exchange: Any, topic: Any, namespace: Any, version: Any, server: Any,
                 fanout: Any, timeout: Any, version_cap: Any,
                 call_monitor_timeout: Any) -> RPCClient:
        overrides = {
            name: value
            for name, value in (("exchange", exchange), ("topic", topic),
                                ("namespace", namespace), ("version", version),
                                ("server", server), ("fanout", fanout))
            if value is not _MARKER
        }
        if "version" in overrides and overrides["version"] is not None:
            try:
                wire.version_is_compatible(overrides["version"], overrides["version"])
            except (ValueError, TypeError):
                raise MessagingException(
                    f"Version must contain a major and minor integer. Got {version}"
                )
        return RPCClient(
            self.transport,
            self.target(**overrides) if overrides else self.target,
            timeout=self.timeout if timeout is _MARKER else timeout,
            version_cap=self.version_cap if version_cap is _MARKER else version_cap,
            serializer=self.serializer,
            call_monitor_timeout=(self.call_monitor_timeout if call_monitor_timeout is _MARKER
                                  else call_monitor_timeout),
        )

    def can_send_version(self, version: Any = _MARKER) -> bool:
        """True when ``version`` (default: the target's) is within the version cap."""
        version = self.target.version if version is _MARKER else version
        return wire.version_is_compatible(self.version_cap, version)

    def _message(self, ctxt: Any, method: str, kwargs: dict, reply_q: str | None) -> dict:
        target = self.target
        if self.version_cap is not None and not wire.version_is_compatible(
            self.version_cap, target.version
        ):
            raise RPCVersionCapError(target.version, self.version_cap)
        serializer = self.serializer
        if self._plain_entities:
            args = kwargs  # a fresh dict already (the call's **kwargs)
        else:
            args = {name: serializer.serialize_entity(ctxt, value)
                    for name, value in kwargs.items()}
        context = serializer.serialize_context(ctxt) or {}
        return wire.request(method, args, context, target.namespace, target.version,
                            reply_q, self.call_monitor_timeout if reply_q else None)

    def cast(self, ctxt: Any, method: str, **kwargs: Any) -> None:
        """Send ``method(ctxt, **kwargs)`` and return at once (fanout when the target is).

        Nobody answers: errors on the server are only logged there. Raises TypeError
        at once if an argument cannot be serialised to JSON, RPCVersionCapError, or
        MessageDeliveryFailure when the broker stays unreachable for ``timeout``
        seconds (default ``rpc_response_timeout``).
        """
        kind = "fanout" if self.target.fanout else "cast"
        message = self._message(ctxt, method, kwargs, None)
        hook = hooks.message_sent
        if hook is not None:
            try:
                hook(kind, self.target, message)
            except Exception as error:
                hooks.failed("message_sent", hook, error)
        self.transport.send(self.target, message, kind, self.timeout)

    def _wait_for_reply(self, waiter: Any, message: dict[str, Any], method: str,
                        start: float, timeout: float) -> dict[str, Any]:
        """The final reply of the call ``message`` sent at ``start``: a failure or an
        ending reply. Call-monitor heartbeats (replies that are not ending) push the
        monitor's deadline back; MessagingTimeout at the first deadline passed;
        MessageDeliveryFailure if the transport is cleaned up meanwhile."""
        target = self.target
        deadline = start + timeout
        monitor = self.call_monitor_timeout
        monitor_deadline = (start + monitor) if monitor else None
        while True:
            now = green.now()
            limit = deadline if monitor_deadline is None else min(deadline, monitor_deadline)
            remaining = limit - now
            if remaining <= 0:
                # name the deadline that passed: the call's timeout, or the call monitor's
                # (no heartbeat from the server for that long)
                which = (f"timeout {timeout}s" if limit == deadline else
                         f"no call-monitor heartbeat within {monitor}s")
                raise MessagingTimeout(
                    f"Timed out waiting for a reply {message['_reply_q']} to message ID "
                    f"{message['_msg_id']} ({method} on {target.topic}"
                    f"{'.' + target.server if target.server else ''}, {which})"
                )
            try:
                reply = waiter.get(timeout=remaining)
            except green.Empty:
                continue
            if reply is None:
                raise MessageDeliveryFailure(
                    f"{self.transport!r} was cleaned up during a call")
            if reply.get("failure") or reply.get("ending", True):
                return reply
            if monitor:
                monitor_deadline = green.now() + monitor

    def call(self, ctxt: Any, method: str, **kwargs: Any) -> Any:
        """Invoke ``method(ctxt, **kwargs)`` on one server and return its result.

        Blocks only the calling greenthread. Raises MessagingTimeout when no reply
        arrives within ``timeout`` seconds (or no call-monitor heartbeat within
        ``call_monitor_timeout``), also when the broker could not be reached for that
        long (the message then says so); re-raises the remote exception (its own class for
        builtins, allowed modules and the RPC layer's errors, else RemoteError);
        InvalidTarget for a fanout target. Cancelling the greenthread (kill, Timeout)
        abandons the call; a late reply is then dropped.
        """
        target = self.target
        if target.fanout:
            raise InvalidTarget("A call cannot be used with fanout", target)
        transport = self.transport
        timeout = self.timeout
        if timeout is None:
            timeout = transport.conf.rpc_response_timeout
        message = self._message(ctxt, method, kwargs, transport.reply_queue())
        hook = hooks.message_sent
        if hook is not None:
            try:
                hook("call", target, message)
            except Exception as error:
                hooks.failed("message_sent", hook, error)
        msg_id = message["_msg_id"]
        waiter = transport.expect_reply(msg_id)
        final = None  # the final reply, once it came
        try:
            start = green.now()
            try:
                transport.send(target, message, "call", timeout)
            except MessageDeliveryFailure as error:
                # the broker stayed unreachable for the whole timeout: to the caller
                # this is a call that timed out (what services catch), said plainly
                raise MessagingTimeout(f"{method} on {target.topic}: {error}") from error
            final = self._wait_for_reply(waiter, message, method, start, timeout)
        finally:
            # also when the call timed out or its greenthread was killed: an instrument
            # that saw the message go sees the call end (a tracer ends its span)
            transport.forget_reply(msg_id)
            hook = hooks.reply_received
            if hook is not None:
                try:
                    hook(target, message, final)
                except Exception as error:
                    hooks.failed("reply_received", hook, error)
        reply = final
        failure = reply.get("failure")
        if failure:
            raise deserialize_failure(failure, transport.allowed_remote_exmods)
        if self._plain_entities:
            return reply.get("result")
        return self.serializer.deserialize_entity(ctxt, reply.get("result"))
