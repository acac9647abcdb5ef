"""Trace propagation over RPC: a client span per call/cast, a server span per dispatch.

Owns ``RPCInstrument``, the RPC-layer instrument a tracer installs
(``nova_sim.rpc.add_instrument``):

- ``message_sent``: opens the sender's span, ``rpc.call <method>`` (kind ``client``) or
  ``rpc.cast <method>`` / ``rpc.fanout <method>`` (kind ``producer``), child of the
  current span, and writes ``_context_trace_info = {"hmac_key": None, "base_id": trace
  id, "parent_id": span id}`` into the message. That is where and how OSProfiler puts it
  (Nova's ``ProfilerRequestContextSerializer`` adds ``trace_info`` to the context and its
  peer calls ``osprofiler.profiler.init(**trace_info)``, which needs all three keys; no
  HMAC key: nothing is signed, and an OSProfiler peer then signs no HTTP headers
  either), so it travels as one more ``_context_*`` key, over ``green://`` and RabbitMQ
  alike; a Nova peer with osprofiler continues the trace, one without carries it along.
  A cast's span ends at once; a call's ends when its reply (or its timeout) comes back.
- ``dispatch_started`` / ``dispatch_finished``: the receiver's span, ``rpc.server
  <method>`` (kind ``server`` for calls, ``consumer`` for casts), on the dispatching
  greenthread, child of the sender's span (same trace id), in the service of the RPC
  server (the process's service, or ``nova-<topic>`` in a one-process cloud, on
  ``target.server``), with the request ids of the message's context. It is current
  while the endpoint runs, so the manager's spans and the greenthreads it spawns hang
  under it.

The hooks run for every RPC message: what the spans of one kind of message share (name,
kind, attributes but the message id, the receiving service) is worked out once per
message shape and copied from then on.

Must not know the services; reads only the message dict and the target.
"""

from __future__ import annotations

import logging
from typing import Any

from nova_sim.trace.tracer import _current_span as _span_var
from nova_sim.trace.tracer import safe_id

LOG = logging.getLogger(__name__)
TRACE_KEY = "_context_trace_info"


def _service_of(target: Any, tracer: Any) -> tuple[str, str]:
    """The service instance that dispatches for ``target``: the process's own service in
    a one-service process; in a one-process cloud (where ``green://`` delivers on the
    publisher's greenthread, so the context says nothing about the receiver),
    ``nova-<topic>`` on the target's server."""
    host = target.server or tracer.host
    if tracer.one_service:
        return tracer.service, host
    topic = target.topic or "rpc"
    return (topic if topic.startswith("nova") else f"nova-{topic}"), host


def _new_shape(side: str, target: Any, method: Any, namespace: Any, version: Any,
               scope: tuple[str, str] | None) -> tuple:
    """What the spans of one kind of message share, for ``(side, topic, server, method,
    namespace, version)``: ``(name, kind, template, scope)``: the span's name and kind,
    its attributes but the message's own ``msg_id`` (``template``: copied per span,
    never changed itself) and, for the receiving side, the service that dispatches.
    ``side``: "call", "cast", "fanout" (the sender) or "server"."""
    template: dict[str, Any] = {"method": method, "topic": target.topic}
    if target.server:
        template["server"] = target.server
    if namespace is not None:
        template["namespace"] = namespace
    if version is not None:
        template["version"] = version
    if side != "server":
        template["kind"] = side  # a sender's span says what it sent
    return f"rpc.{side} {method}", _SPAN_KINDS[side], template, scope


_SPAN_KINDS = {"call": "client", "cast": "producer", "fanout": "producer",
               "server": "server"}
_NAME, _KIND, _TEMPLATE, _SCOPE = range(4)


class RPCInstrument:
    """The tracer's RPC-layer hooks (see the module docstring). Each catches and logs
    its own errors and returns: a span that could not be made must not remove the
    tracer from the RPC layer's instruments (which is what an instrument that raises
    gets), nor break the RPC it watches."""

    def __init__(self, tracer: Any):
        self.tracer = tracer
        self._shapes: dict[tuple, tuple] = {}

    def _shape(self, side: str, target: Any, get: Any) -> tuple:
        """The shape of a message (``get``: its dict's ``get``) on ``side``."""
        method = get("method")
        namespace = get("namespace")
        version = get("version")
        key: tuple | None = (side, target.topic, target.server, method, namespace, version)
        try:
            shape = self._shapes.get(key)
        except TypeError:  # a value that cannot be a key (a list for a method...)
            shape = key = None
        if shape is None:
            shape = _new_shape(side, target, method, namespace, version,
                               _service_of(target, self.tracer) if side == "server" else None)
            if key is not None:
                if len(self._shapes) > 10000:
                    self._shapes.clear()
                self._shapes[key] = shape
        return shape

    def _attributes(self, shape: tuple, get: Any) -> dict[str, Any]:
        """A span's attributes: its shape's, and the message's id when it has one."""
        attributes = shape[_TEMPLATE].copy()
        msg_id = get("_msg_id")
        if msg_id is not None:
            attributes["msg_id"] = msg_id
        return attributes

    # -- sending side --------------------------------------------------------------------
    def message_sent(self, kind: str, target: Any, message: dict) -> None:
        try:
            tracer = self.tracer
            get = message.get
            shape = self._shape(kind, target, get)
            span = tracer.rpc_span(
                shape[_NAME], self._attributes(shape, get), shape[_KIND], _span_var.get(),
                None, None, get("_context_request_id"), get("_context_global_request_id"),
                None)
            message[TRACE_KEY] = {"hmac_key": None, "base_id": span.trace_id,
                                  "parent_id": span.span_id}
            msg_id = get("_msg_id")
            if msg_id and kind == "call":
                tracer._calls[msg_id] = span  # ends with its reply
            else:
                tracer.finish(span, span.start)
        except Exception as error:
            self._failed("message_sent", error)

    def reply_received(self, target: Any, message: dict, reply: dict | None) -> None:
        try:
            span = self.tracer._calls.pop(message.get("_msg_id"), None)
            if span is None:
                return
            if reply is None:
                span.set_error("MessagingTimeout")
            elif reply.get("failure"):
                span.set_error(_failure_name(reply["failure"]))
            self.tracer.finish(span)
        except Exception as error:
            self._failed("reply_received", error)

    # -- receiving side ------------------------------------------------------------------
    def dispatch_started(self, target: Any, message: dict, ctxt: Any) -> None:
        try:
            tracer = self.tracer
            get = message.get
            info = get(TRACE_KEY)
            trace_id = parent_id = None
            if type(info) is dict:
                trace_id = safe_id(info.get("base_id"))
                parent_id = safe_id(info.get("parent_id"))
            shape = self._shape("server", target, get)
            span = tracer.rpc_span(
                shape[_NAME], self._attributes(shape, get),
                "server" if get("_msg_id") and get("_reply_q") else "consumer", None,
                trace_id, parent_id,
                getattr(ctxt, "request_id", None) or get("_context_request_id"),
                getattr(ctxt, "global_request_id", None) or get("_context_global_request_id"),
                shape[_SCOPE])
            span.__enter__()  # current while the endpoint runs
            tracer._dispatches[id(message)] = span
        except Exception as error:
            self._failed("dispatch_started", error)

    def dispatch_finished(self, target: Any, message: dict, ctxt: Any, result: Any,
                          error: BaseException | None) -> None:
        try:
            span = self.tracer._dispatches.pop(id(message), None)
            if span is None:
                return
            if error is not None:
                span.set_error(error)
            span._restore()
            self.tracer.finish(span)
        except Exception as failure:
            self._failed("dispatch_finished", failure)

    def _failed(self, hook: str, error: BaseException) -> None:
        LOG.error("Tracing failed in %s", hook, exc_info=error)


def _failure_name(failure: Any) -> str:
    """``RemoteError``-like text from a serialised failure (JSON string or dict)."""
    import json

    if isinstance(failure, str):
        try:
            failure = json.loads(failure)
        except ValueError:
            return failure.splitlines()[0] if failure else "failure"
    if isinstance(failure, dict):
        name = failure.get("class", "Exception")
        text = str(failure.get("message", "")).splitlines()
        return f"{name}: {text[0]}" if text and text[0] else name
    return str(failure)
