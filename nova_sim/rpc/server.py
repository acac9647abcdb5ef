"""RPCServer: consume a target's queues and dispatch each request on a GreenPool.

Owns the server side of an RPC: taking delivered bodies from the transport (already
acknowledged: at most once), decoding them, rebuilding the context, dispatching on a
GreenPool of ``executor_thread_pool_size`` greenthreads, call-monitor heartbeats while a
call runs, and the reply (result or failure). Bad messages never stop the server: a
call gets a failure reply, a cast is logged and dropped. An error the endpoint expected
(``ExpectedException``, see ``expected_exceptions``) goes back to the caller as itself
and is logged at debug only; any other error of an endpoint is logged with its
traceback as an exception during message handling. Must not know how the transport
moves bytes, nor anything of Nova.

Who owns which greenthread: the transport's consumer (or, on ``green://``, the
publisher) only calls :meth:`RPCServer._deliver`, which never blocks: it starts a pool
greenthread when the pool has room, or appends to the backlog, which the pool's
greenthreads drain before they exit. So a full pool never stops the consumer from
routing replies to callers (which would deadlock a dispatch that itself makes a call).
"""

from __future__ import annotations

import collections
import logging
from typing import Any

from nova_sim import green
from nova_sim.rpc import wire
from nova_sim.rpc.dispatcher import RPCDispatcher
from nova_sim.rpc.exceptions import (
    ExpectedException,
    InvalidMessage,
    NoSuchMethod,
    UnsupportedVersion,
    serialize_failure,
)
from nova_sim.rpc.instruments import hooks
from nova_sim.rpc.serializer import Serializer
from nova_sim.rpc.target import Target
from nova_sim.rpc.transport.base import Transport

LOG = logging.getLogger(__name__)
_DUPLICATE_CHECK_SIZE = 16


class RPCServer:
    """Serves ``endpoints`` on ``target`` (topic and server required).

    ``start()`` declares the queues and starts consuming; ``stop()`` stops consuming
    (requests already taken are still processed); ``wait()`` blocks the calling
    greenthread until in-flight dispatches have finished.
    """

    def __init__(self, transport: Transport, target: Target, endpoints: list[Any],
                 serializer: Serializer | None = None,
                 executor_thread_pool_size: int | None = None):
        if not target.topic:
            raise ValueError(f"an RPC server needs a topic: {target!r}")
        self.transport = transport
        self.target = target
        self.dispatcher = RPCDispatcher(endpoints, serializer)
        self.serializer = self.dispatcher.serializer
        self.pool_size = executor_thread_pool_size or transport.conf.executor_thread_pool_size
        self._pool = None
        self._backlog: collections.deque = collections.deque()
        self._listener = None
        self._recent_ids: collections.deque = collections.deque(maxlen=_DUPLICATE_CHECK_SIZE)
        self._done = None
        self._running = 0

    @property
    def endpoints(self) -> list[Any]:
        return self.dispatcher.endpoints

    def start(self) -> None:
        """Start consuming (idempotent). Raises the transport's error if it cannot."""
        if self._listener is not None:
            return
        if self._pool is None:  # a restarted server keeps its pool (wait() sees all)
            self._pool = green.GreenPool(self.pool_size)
        self._listener = self.transport.listen(self.target, self._deliver)

    def stop(self) -> None:
        """Stop consuming; taken requests (running or in the backlog) still complete."""
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def wait(self) -> None:
        """Block until every taken request has been processed (after ``stop()``)."""
        if self._pool is not None:
            self._pool.waitall()

    # -- per message ---------------------------------------------------------------

    def _deliver(self, body: Any) -> None:
        pool = self._pool
        if pool.free() > 0:
            pool.spawn_n(self._process_loop, body)
        else:
            self._backlog.append(body)

    def _process_loop(self, body: Any) -> None:
        backlog = self._backlog
        while True:
            try:
                self._process(body)
            except Exception:  # never lose the pool greenthread to a bug
                LOG.exception("Unexpected error while processing an RPC message")
            if not backlog:
                return
            body = backlog.popleft()

    def _accept(self, body: Any) -> dict | None:
        """The decoded message of ``body``, shown to the instruments; None (and a log
        line) for a body that cannot be decoded or a duplicate of a recent message."""
        try:
            message = wire.decode(body)
        except wire.WireError as error:
            LOG.error("Dropping an undecodable message on %s: %s", self.target, error)
            return None
        hook = hooks.message_received
        if hook is not None:
            try:
                hook(self.target, message)
            except Exception as problem:
                hooks.failed("message_received", hook, problem)
        unique_id = message.get("_unique_id")
        if unique_id is not None:
            if unique_id in self._recent_ids:
                LOG.warning("Dropping duplicate message %s", unique_id)
                return None
            self._recent_ids.append(unique_id)
        return message

    def _process(self, body: Any) -> None:
        message = self._accept(body)
        if message is None:
            return
        # the message is not changed: the dispatcher reads only the method, its namespace
        # and version and the args, and instruments see the whole message
        request = message
        context = wire.context_of(message)
        get = message.get
        msg_id = get("_msg_id")
        reply_q = get("_reply_q")
        client_timeout = get("_timeout")
        is_call = bool(msg_id and reply_q)

        heartbeat = None
        result = None
        error = None
        ctxt = None
        try:
            if not isinstance(reply_q, (str, type(None))) or "method" not in request:
                keys = sorted(key for key in request if not key.startswith(wire.CONTEXT_PREFIX)
                              and key not in ("_msg_id", "_reply_q", "_timeout"))
                raise InvalidMessage(f"not an RPC request (keys: {keys[:10]})")
            ctxt = self.serializer.deserialize_context(context)
            if is_call and client_timeout:
                heartbeat = self._start_heartbeat(client_timeout, msg_id, reply_q, request)
            hook = hooks.dispatch_started
            if hook is not None:
                try:
                    hook(self.target, message, ctxt)
                except Exception as problem:
                    hooks.failed("dispatch_started", hook, problem)
            result = self.dispatcher.dispatch(request, ctxt)
        except ExpectedException as expected:
            # an answer the endpoint expected to give (NoValidHost, a lost race of
            # states...): the caller gets the error itself, the log only a debug line
            error = expected.exc_info[1]
            LOG.debug("Expected exception during message handling (%s on %s): %s: %s",
                      request.get("method"), self.target, type(error).__name__, error)
        except Exception as raised:
            error = raised
            if isinstance(raised, (NoSuchMethod, UnsupportedVersion, InvalidMessage)):
                LOG.warning("Cannot dispatch %s on %s: %s",
                            request.get("method"), self.target, raised)
            else:
                LOG.exception("Exception during message handling (%s on %s)",
                              request.get("method"), self.target)
        except BaseException as killed:  # GreenletExit, a Timeout: no reply is sent
            error = killed
            raise
        finally:
            if heartbeat is not None:
                heartbeat.kill()
            # also when the dispatch was killed: instruments see every dispatch end
            hook = hooks.dispatch_finished
            if hook is not None:
                try:
                    hook(self.target, message, ctxt, result, error)
                except Exception as problem:
                    hooks.failed("dispatch_finished", hook, problem)
        if not is_call:
            return
        # a cast's failure goes nowhere: its traceback is formatted only for a reply
        failure = None if error is None else serialize_failure(error)
        self._reply(reply_q, wire.reply(msg_id, result, failure), message)

    def _reply(self, reply_q: str, reply: dict, message: dict) -> None:
        transport = self.transport
        try:
            transport.send_reply(reply_q, reply)
        except TypeError as error:  # a result that is not JSON-able
            LOG.error("Cannot serialise the result of %s: %s", reply["_msg_id"], error)
            reply = wire.reply(reply["_msg_id"], None, serialize_failure(error))
            transport.send_reply(reply_q, reply)
        except Exception:
            LOG.exception("Failed to send the reply to %s", reply["_msg_id"])
            return
        hook = hooks.reply_sent
        if hook is not None:
            try:
                hook(self.target, message, reply)
            except Exception as problem:
                hooks.failed("reply_sent", hook, problem)

    def _start_heartbeat(self, client_timeout: Any, msg_id: str, reply_q: str,
                         request: dict):
        """Send ``ending: false`` replies every client_timeout/2 s while the call runs."""
        try:
            interval = int(client_timeout) / 2
        except (TypeError, ValueError):
            interval = 0
        if interval < 1:
            LOG.warning("Client provided an invalid call-monitor timeout %r", client_timeout)
            return None
        transport = self.transport

        def beat() -> None:
            while True:
                green.sleep(interval)
                LOG.debug("Call-monitor heartbeat for %s (%s)", request.get("method"), msg_id)
                try:
                    transport.send_reply(reply_q, wire.reply(msg_id, None, None, ending=False))
                except Exception as error:
                    LOG.debug("Call-monitor heartbeat failed: %s", error)
                    return

        return green.spawn(beat)
