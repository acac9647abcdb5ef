"""``rabbit://`` / ``amqp://`` and ``memory://``: the transport over kombu.

Owns the AMQP side: one kombu connection and channel per transport, shared by its
clients and servers; the topology of oslo.messaging's rabbit driver (declared here);
publishing; one consumer greenthread that drains the connection; reconnection.

Living with the hub (no monkey patching, no OS thread):

- The consumer greenthread drains with ``drain_events(timeout=0)`` until
  ``socket.timeout``, then waits on the socket's fd with ``green.trampoline`` (read), with
  a timeout so that AMQP heartbeats are checked (``heartbeat_check``) on time. py-amqp
  reads exactly the bytes a frame needs, so an empty socket means nothing is pending.
- py-amqp never yields, so a publish on the shared connection is atomic between
  greenthreads; the socket gets a send timeout (``socket_write_timeout``) so that a
  blocked broker cannot freeze the hub for long. Declarations (server start, the reply
  queue, the first publish to an exchange) are synchronous round trips that block the
  hub for about a millisecond on a local broker.
- ``memory://`` has no socket: the consumer greenthread polls with a green sleep that
  grows from 0.5 ms to 10 ms while idle and drops back after each message.
- Every consumer callback acknowledges the message first, then calls the server's
  ``deliver``, which never blocks (at most once, as oslo.messaging).

Broker loss: the consumer greenthread reconnects with backoff (``rabbit_retry_interval``,
``+rabbit_retry_backoff`` per attempt, up to ``rabbit_interval_max``) and re-declares every
queue and consumer (same names). Publishers wait for the connection up to their deadline
(a call's timeout, else ``rpc_response_timeout``) and then raise MessageDeliveryFailure.
``listen`` (a server's start) waits the same way for the first connection, so that a
started server's queues are bound before anyone is told it started; a broker that stays
away that long is logged and the queues are declared once it comes.
Must not know about endpoints, contexts or Nova.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import select
import socket
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import kombu
from amqp import spec as _amqp_spec

from nova_sim import green
from nova_sim.rpc import wire
from nova_sim.rpc.exceptions import MessageDeliveryFailure
from nova_sim.rpc.options import RPCOptions
from nova_sim.rpc.target import Target
from nova_sim.rpc.transport.base import Listener, Transport

LOG = logging.getLogger(__name__)

_BASIC_PUBLISH = _amqp_spec.Basic.Publish
_MEMORY_POLL_MIN = 0.0005
_MEMORY_POLL_MAX = 0.01
_MEMORY_SCHEMES = ("memory", "kombu+memory")


def kombu_url(url: str) -> str:
    """oslo.messaging's URL as kombu's: ``rabbit://u:p@h1,u:p@h2/vh`` -> ``amqp://...;...``."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() in _MEMORY_SCHEMES:
        return "memory://localhost/"
    netloc, slash, path = rest.partition("/")
    vhost = unquote(path) if slash and path else "/"
    hosts = [part for part in netloc.split(",") if part] or ["localhost"]
    urls = []
    for host in hosts:
        parts = urlsplit("amqp://" + host)
        auth = ""
        if parts.username is not None:
            auth = parts.username + (f":{parts.password}" if parts.password is not None else "")
            auth += "@"
        hostname = parts.hostname or "localhost"
        if ":" in hostname:
            hostname = f"[{hostname}]"
        port = parts.port or 5672
        quoted_vhost = "/" + vhost.replace("/", "%2F") if vhost != "/" else "//"
        urls.append(f"amqp://{auth}{hostname}:{port}{quoted_vhost}")
    return ";".join(urls)


def safe_url(url: str) -> str:
    """``url`` with passwords masked, for logs and error messages."""
    scheme, _, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    hosts = []
    for host in netloc.split(","):
        user, at, where = host.rpartition("@")
        if at and ":" in user:
            user = user.split(":", 1)[0] + ":****"
        hosts.append(f"{user}{at}{where}")
    return f"{scheme}://{','.join(hosts)}{slash}{path}"


def _method_of(body: bytes) -> str:
    """The RPC method named in a message body, for log lines ("?" when unreadable)."""
    try:
        return repr(wire.decode(body).get("method", "?"))
    except Exception:
        return "?"


class _Consumer:
    """What to consume and how to re-declare it after a reconnection."""

    __slots__ = ("queue", "deliver", "tag", "delete_on_stop", "no_ack")

    def __init__(self, queue: kombu.Queue, deliver: Callable[[Any], None], tag: str,
                 delete_on_stop: bool = False, no_ack: bool = False):
        self.queue = queue
        self.deliver = deliver
        self.tag = tag
        self.delete_on_stop = delete_on_stop
        self.no_ack = no_ack


class _Writer:
    """Coalesces the frames written to a broker socket during one hub turn.

    py-amqp writes every publish and ack at once (one send per message). Here a write
    appends to a buffer and the first one schedules a flush (``spawn_n``) that sends the
    whole buffer in one ``send`` after the ready greenthreads have run: 50 replies made
    in one turn leave in one segment. The buffer is also flushed inline once it holds
    64 KiB, before synchronous methods, and after an ack (acks precede dispatch).
    Writes never yield, so frames of one publish stay contiguous. A full socket buffer
    is waited for in ``select`` up to ``write_timeout`` (blocking the hub that long at
    most), then socket.timeout is raised. (py-amqp hands over views of a frame buffer
    it reuses, so buffered writes are copied.) A failed scheduled flush reports to
    ``on_error`` (the transport re-connects): like any TCP write, a publish that
    "succeeded" can still be lost with the connection.
    """

    __slots__ = ("sock", "timeout", "on_error", "chunks", "size", "scheduled", "through")

    def __init__(self, sock: socket.socket, timeout: float | None,
                 on_error: Callable[[_Writer, BaseException], None]):
        self.sock = sock
        self.timeout = timeout
        self.on_error = on_error
        self.chunks: list[bytes] = []
        self.size = 0
        self.scheduled = False
        self.through = False

    def write(self, data: bytes) -> None:
        if self.through:
            if self.chunks:
                self.flush()
            self._send(data)
            return
        self.chunks.append(bytes(data))  # py-amqp reuses its frame buffer: copy
        self.size += len(data)
        if self.size >= 65536:
            self.flush()
        elif not self.scheduled:
            self.scheduled = True
            green.spawn_n(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self.scheduled = False
        try:
            self.flush()
        except Exception as error:
            self.on_error(self, error)

    def flush(self) -> None:
        chunks = self.chunks
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.chunks = []
        self.size = 0
        self._send(data)

    def _send(self, data: bytes) -> None:
        sock = self.sock
        view = memoryview(data)
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                if not select.select((), (sock,), (), self.timeout)[1]:
                    raise socket.timeout("write to the broker timed out")
                continue
            view = view[sent:]


class AMQPTransport(Transport):
    """kombu over py-amqp (``rabbit://``, ``amqp://``) or kombu's ``memory://``."""

    scheme = "amqp"

    def __init__(self, url: str, options: RPCOptions, allowed_remote_exmods=None):
        super().__init__(url, options, allowed_remote_exmods)
        self.is_memory = url.split("://", 1)[0].lower() in _MEMORY_SCHEMES
        self._kombu_url = kombu_url(url)
        self._connection: kombu.Connection | None = None
        self._channel = None
        self._consumers: dict[str, _Consumer] = {}
        self._declared_exchanges: set[str] = set()
        self._ready = green.Event()
        self._runner = None
        self._closed = False
        self._tags = itertools.count(1)
        self._errors: tuple[type[BaseException], ...] = (OSError,)
        self.reconnects = 0  # how many times the connection was re-established
        self._sock = None  # the tuned (non-blocking) socket of a rabbit connection
        self._writer: _Writer | None = None
        self._pending: list[tuple[Callable[[Any], None], Any]] = []
        self._ack_tag = None
        # Mandatory messages the broker returned: (exchange, key, body) -> first return.
        self._returned: dict[tuple[str, str, bytes], float] = {}
        # oslo.messaging: quorum queues are durable whatever amqp_durable_queues says.
        self._durable = bool(options.amqp_durable_queues or options.rabbit_quorum_queue)
        self._queue_arguments = ({"x-queue-type": "quorum"} if options.rabbit_quorum_queue
                                 else None)

    def __repr__(self) -> str:
        return f"<AMQPTransport {safe_url(self.url)}>"

    @property
    def connected(self) -> bool:
        """True while the connection to the broker is up (``memory://``: once opened)."""
        return self._channel is not None

    # -- connection ------------------------------------------------------------------

    def _new_connection(self) -> kombu.Connection:
        conf = self.conf
        transport_options: dict[str, Any] = {}
        heartbeat = 0
        if not self.is_memory:
            heartbeat = conf.heartbeat_timeout_threshold or 0
            if conf.socket_write_timeout:
                transport_options["write_timeout"] = conf.socket_write_timeout
        return kombu.Connection(
            self._kombu_url,
            heartbeat=heartbeat,
            connect_timeout=5,
            transport_options=transport_options,
        )

    def _connect(self) -> None:
        connection = self._new_connection()
        try:
            connection.connect()
            channel = connection.channel()
            self._errors = (
                (OSError, socket.timeout)
                + tuple(connection.connection_errors)
                + tuple(connection.channel_errors)
            )
            self._pending = []
            self._ack_tag = None
            self._sock = None
            if not self.is_memory:
                channel.events["basic_return"].add(self._on_return)
                self._sock = self._tune_socket(connection)
            self._declared_exchanges = set()
            self._channel = channel
            with self._sync():
                for consumer in list(self._consumers.values()):
                    self._declare_consumer(channel, consumer)
        except BaseException:
            self._channel = None
            self._sock = None
            try:
                connection.collect()
            except Exception:
                pass
            raise
        self._connection = connection
        self._channel = channel
        self._ready.send(True)

    def _tune_socket(self, connection: kombu.Connection):
        """Make the socket non-blocking for good, with buffered reads and bounded writes.

        Reads: py-amqp asks for a frame header, then its payload (two recv calls per
        frame) and ``drain_events(timeout=0)`` would switch the socket to non-blocking and
        back around each frame. Instead the socket stays non-blocking and recv is served
        from a 64 KiB buffer, so an empty buffer plus EAGAIN still means "nothing
        pending" and the consumer can trampoline. Writes are coalesced (see _Writer).
        Synchronous AMQP methods (declarations) run in :meth:`_sync`, which makes the
        socket blocking and writes go straight through meanwhile.
        """
        transport = connection.connection.transport
        self._writer = None
        if type(transport).__name__ != "TCPTransport":  # TLS: leave py-amqp's own I/O
            return None
        sock = transport.sock
        sock.settimeout(0.0)
        recv = sock.recv
        buffered = bytearray()

        def buffered_recv(size: int) -> bytes:
            if buffered:
                data = bytes(buffered[:size])
                del buffered[:size]
                return data
            data = recv(65536)
            if len(data) <= size:
                return data
            buffered.extend(memoryview(data)[size:])
            return data[:size]

        writer = _Writer(sock, self.conf.socket_write_timeout or None, self._write_failed)
        transport._quick_recv = buffered_recv
        transport._write = writer.write
        self._writer = writer
        return sock

    def _write_failed(self, writer: _Writer, error: BaseException) -> None:
        """A coalesced write failed in the flushing greenthread: the connection is lost."""
        if self._writer is writer:
            self._lost(error)

    @contextlib.contextmanager
    def _sync(self):
        """Run synchronous AMQP methods: the socket blocks (bounded) meanwhile; then
        acknowledge and deliver what arrived during them."""
        sock = self._sock
        writer = self._writer
        if sock is not None:
            writer.through = True
            writer.flush()
            sock.settimeout(self.conf.socket_write_timeout or None)
        try:
            yield
        finally:
            if sock is not None and sock is self._sock:
                writer.through = False
                try:
                    sock.settimeout(0.0)
                except OSError:
                    pass
        self._flush()

    def _flush(self) -> None:
        """Acknowledge the requests drained so far (one multiple ack), then deliver them.

        Delivering only after the ack reached the socket keeps "at most once": if the
        ack cannot be written, the messages are dropped here (the broker will redeliver
        them to another consumer) and the connection error propagates.
        """
        pending = self._pending
        if not pending:
            return
        self._pending = []
        tag, self._ack_tag = self._ack_tag, None
        channel = self._channel
        try:
            if tag is not None:
                if channel is None:
                    raise MessageDeliveryFailure("connection lost before acknowledging")
                channel.basic_ack(tag, multiple=True)
                if self._writer is not None:
                    self._writer.flush()  # the ack is on the wire before any dispatch
        except BaseException:
            LOG.warning("Discarding %d message(s) that could not be acknowledged", len(pending))
            raise
        for deliver, body in pending:
            deliver(body)

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        """The broker returned a mandatory message: no queue is bound for it.

        A reply (default exchange) is logged: its caller is gone. A cast or call to a
        topic is published again every ``rabbit_retry_interval`` seconds (a consumer
        that is reconnecting after a broker restart re-declares its queue within
        moments) until ``rpc_response_timeout`` seconds have passed since it was first
        returned; then it is logged at ERROR and dropped: never silently."""
        if not exchange:
            LOG.warning("Broker returned a message to %r (routing key %s): %s",
                        exchange, routing_key, exc)
            return
        now = green.now()
        body = message.body
        body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        key = (exchange, routing_key, body)
        returned = self._returned
        for old in [k for k, first in returned.items()
                    if now - first > 2 * self.conf.rpc_response_timeout]:
            del returned[old]
        first = returned.setdefault(key, now)
        method = _method_of(body)
        if now - first >= self.conf.rpc_response_timeout or self._closed:
            del returned[key]
            LOG.error("Message %s to exchange %r (routing key %s) could not be routed for "
                      "%.0f s (no queue bound: is the service that consumes it running?); "
                      "it is dropped", method, exchange, routing_key, now - first)
            return
        if first == now:
            LOG.warning("Message %s to exchange %r (routing key %s) was returned "
                        "unroutable (no queue bound yet); publishing it again every %s s "
                        "for up to %s s", method, exchange, routing_key,
                        self.conf.rabbit_retry_interval, self.conf.rpc_response_timeout)
        properties = {"delivery_mode": 2}
        expiration = getattr(message, "properties", {}).get("expiration")
        if expiration is not None:
            properties["expiration"] = expiration
        green.spawn_after(max(self.conf.rabbit_retry_interval, 0.05), self._republish,
                          exchange, routing_key, body, properties)

    def _republish(self, exchange: str, routing_key: str, body: bytes,
                   properties: dict[str, Any]) -> None:
        if self._closed:
            return
        try:
            self._publish_body(self._topic_exchange(exchange), routing_key, body,
                               properties, green.now() + self.conf.rpc_response_timeout,
                               mandatory=True)
        except Exception:
            LOG.exception("Message %s to exchange %r (routing key %s) could not be "
                          "published again; it is dropped", _method_of(body), exchange,
                          routing_key)

    def _lost(self, error: BaseException, from_runner: bool = False) -> None:
        """Forget the broken connection; the consumer greenthread reconnects."""
        connection = self._connection
        if connection is None:
            return
        LOG.warning("Connection to %s lost: %r; reconnecting", safe_url(self.url), error)
        self._connection = None
        self._channel = None
        self._sock = None
        self._writer = None
        if self._pending:
            LOG.warning("Discarding %d unacknowledged message(s)", len(self._pending))
        self._pending = []
        self._ack_tag = None
        self._ready = green.Event()
        if not from_runner and self._runner is not None:
            runner, self._runner = self._runner, None
            runner.kill()
        try:
            connection.collect()
        except Exception:
            pass
        if not from_runner and not self._closed:
            self._runner = green.spawn(self._run)

    def _ensure_runner(self) -> None:
        if self._runner is None and not self._closed:
            if not self.is_memory and isinstance(green.get_hub(), green.VirtualHub):
                raise RuntimeError(
                    f"{self!r} waits on a socket and needs the real clock; use green:// "
                    "under virtual_time()"
                )
            self._runner = green.spawn(self._run)

    def _wait_channel(self, deadline: float | None):
        """The live channel, waiting for (re)connection until ``deadline``."""
        channel = self._channel
        if channel is not None:
            return channel
        self._ensure_runner()
        while self._channel is None:
            if self._closed:
                raise MessageDeliveryFailure(f"{self!r} is closed")
            remaining = None if deadline is None else deadline - green.now()
            if remaining is not None and remaining <= 0:
                raise MessageDeliveryFailure(
                    f"Cannot reach the broker at {safe_url(self.url)} (gave up waiting for "
                    f"the connection)"
                )
            self._ready.wait(remaining)
        return self._channel

    def _run(self) -> None:
        """The consumer greenthread: connect, drain, wait on the socket, reconnect."""
        conf = self.conf
        delay = conf.rabbit_retry_interval
        while not self._closed:
            if self._connection is None:
                try:
                    self._connect()
                except Exception as error:
                    LOG.warning("Cannot connect to %s: %r; retrying in %.1fs",
                                safe_url(self.url), error, delay)
                    green.sleep(delay)
                    delay = min(delay + conf.rabbit_retry_backoff, conf.rabbit_interval_max)
                    continue
                if delay != conf.rabbit_retry_interval or self.reconnects:
                    LOG.info("Reconnected to %s", safe_url(self.url))
                self.reconnects += 1
                delay = conf.rabbit_retry_interval
            try:
                if self.is_memory:
                    self._poll_memory(self._connection)
                else:
                    self._wait_socket(self._connection)
            except self._errors as error:
                if self._closed:
                    return
                self._lost(error, from_runner=True)
                green.sleep(min(delay, conf.kombu_reconnect_delay))
            except Exception as error:  # a bug or an unexpected library error:
                if self._closed:      # start afresh rather than stop consuming
                    return
                LOG.exception("Unexpected error in the consumer of %s", safe_url(self.url))
                self._lost(error, from_runner=True)
                green.sleep(delay)

    def _wait_socket(self, connection: kombu.Connection) -> None:
        raw = connection.connection
        sock = raw.sock
        fd = sock.fileno()
        conf = self.conf
        check_every = None
        if connection.heartbeat:
            check_every = conf.heartbeat_timeout_threshold / max(conf.heartbeat_rate, 1)
        next_check = green.now() + check_every if check_every else None
        drain = connection.drain_events
        while connection is self._connection:
            try:
                while True:
                    drain(timeout=0)
            except socket.timeout:
                pass
            if connection is not self._connection:
                return
            self._flush()
            wait = None
            if next_check is not None:
                now = green.now()
                if now >= next_check:
                    connection.heartbeat_check(rate=conf.heartbeat_rate)
                    next_check = now + check_every
                wait = max(next_check - now, 0.01)
            try:
                green.trampoline(fd, read=True, timeout=wait)
            except (socket.timeout, green.Timeout):
                pass

    def _poll_memory(self, connection: kombu.Connection) -> None:
        poll = _MEMORY_POLL_MIN
        drain = connection.drain_events
        while connection is self._connection:
            try:
                while True:
                    drain(timeout=0)
                    poll = 0.0
            except socket.timeout:
                pass
            green.sleep(poll)
            poll = min(max(poll * 2, _MEMORY_POLL_MIN), _MEMORY_POLL_MAX)

    # -- consumers ---------------------------------------------------------------------

    def _declare_consumer(self, channel, consumer: _Consumer) -> None:
        queue = consumer.queue(channel)
        queue.declare()
        deliver = consumer.deliver
        if consumer.no_ack:
            def on_message(message) -> None:
                deliver(message.body)
        elif self.is_memory:
            def on_message(message) -> None:
                try:
                    channel.basic_ack(message.delivery_tag)
                except Exception as error:  # never dispatch what could not be acknowledged
                    LOG.warning("Discarding a message that could not be acknowledged: %r",
                                error)
                    return
                deliver(message.body)
        else:
            def on_message(message) -> None:
                # acknowledged (one multiple ack per drained batch), then delivered,
                # by _flush before the consumer next waits
                self._ack_tag = message.delivery_tag
                self._pending.append((deliver, message.body))

        channel.basic_consume(queue=queue.name, no_ack=consumer.no_ack, callback=on_message,
                              consumer_tag=consumer.tag)

    def _add_consumer(self, consumer: _Consumer) -> None:
        self._consumers[consumer.tag] = consumer
        channel = self._channel
        if channel is None:
            self._ensure_runner()
            return
        try:
            with self._sync():
                self._declare_consumer(channel, consumer)
        except self._errors as error:
            self._lost(error)

    def _remove_consumer(self, tag: str) -> None:
        consumer = self._consumers.pop(tag, None)
        channel = self._channel
        if consumer is None or channel is None:
            return
        try:
            with self._sync():
                channel.basic_cancel(tag)
                if consumer.delete_on_stop:
                    channel.queue_delete(consumer.queue.name)
        except self._errors as error:
            self._lost(error)

    def _new_tag(self) -> str:
        return f"nova-sim-{next(self._tags)}"

    def _declare_reply_queue(self, name: str) -> None:
        queue = kombu.Queue(
            name,
            exchange=kombu.Exchange("", type="direct"),
            routing_key=name,
            durable=False,
            auto_delete=False,
            queue_arguments={"x-expires": self.conf.rabbit_transient_queues_ttl * 1000},
        )
        self._add_consumer(_Consumer(queue, self._on_reply, self._new_tag(),
                                     delete_on_stop=True, no_ack=not self.is_memory))

    def _topic_exchange(self, name: str) -> kombu.Exchange:
        """The topic exchange ``name`` (durable with ``amqp_durable_queues`` or quorum
        queues, as oslo.messaging declares it)."""
        return kombu.Exchange(name, type="topic", durable=self._durable, auto_delete=False)

    def listen(self, target: Target, deliver: Callable[[Any], None]) -> Listener:
        exchange = self._topic_exchange(self.exchange_for(target))
        names = [target.topic]
        if target.server:
            names.append(f"{target.topic}.{target.server}")
        consumers = [
            _Consumer(kombu.Queue(name, exchange=exchange, routing_key=name,
                                  durable=self._durable, auto_delete=False,
                                  queue_arguments=self._queue_arguments),
                      deliver, self._new_tag())
            for name in names
        ]
        fanout = kombu.Exchange(f"{target.topic}_fanout", type="fanout", durable=False,
                                auto_delete=True)
        consumers.append(_Consumer(
            kombu.Queue(
                f"{target.topic}_fanout_{wire.new_id()}",
                exchange=fanout,
                routing_key=target.topic,
                durable=False,
                auto_delete=False,
                queue_arguments={"x-expires": self.conf.rabbit_transient_queues_ttl * 1000},
            ),
            deliver,
            self._new_tag(),
            delete_on_stop=True,
        ))
        for consumer in consumers:
            self._add_consumer(consumer)
        if self._channel is None:
            # Not connected yet: the consumer greenthread declares every consumer when
            # it connects, before the channel is handed out. Wait for that, so that a
            # started server is bound (as oslo.messaging's listen returns): a message
            # another process publishes as soon as it hears "started" is not routed
            # to nowhere. A broker that stays away is waited for only so long.
            try:
                self._wait_channel(green.now() + self.conf.rpc_response_timeout)
            except MessageDeliveryFailure as error:
                LOG.warning("%s; the queues of %s are declared once it is reachable",
                            error, target)

        def stop() -> None:
            for consumer in consumers:
                self._remove_consumer(consumer.tag)

        return Listener(stop)

    # -- publishing ----------------------------------------------------------------------

    def _publish(self, exchange: kombu.Exchange | None, routing_key: str, message: dict,
                 expiration: float | None, deadline: float | None,
                 mandatory: bool = False) -> None:
        body = wire.encode(message).encode("utf-8")
        properties: dict[str, Any] = {"delivery_mode": 2}
        if expiration is not None:
            properties["expiration"] = str(int(expiration * 1000))
        self._publish_body(exchange, routing_key, body, properties, deadline, mandatory)

    def _publish_body(self, exchange: kombu.Exchange | None, routing_key: str, body: bytes,
                      properties: dict[str, Any], deadline: float | None,
                      mandatory: bool) -> None:
        name = exchange.name if exchange is not None else ""
        while True:
            channel = self._wait_channel(deadline)
            try:
                if exchange is not None and name not in self._declared_exchanges:
                    with self._sync():
                        exchange(channel).declare()
                    # an auto-delete (fanout) exchange vanishes with its last queue:
                    # declare it before every publish (fanouts are rare)
                    if not exchange.auto_delete:
                        self._declared_exchanges.add(name)
                prepared = channel.prepare_message(
                    body, 0, wire.CONTENT_TYPE, wire.CONTENT_ENCODING, {}, dict(properties)
                )
                if self._sock is not None:
                    # py-amqp's basic_publish first drains the socket (to notice a
                    # connection.blocked notice): a recv, an EAGAIN and an exception per
                    # publish. The consumer greenthread drains (and sees those notices)
                    # anyway, so send the method directly.
                    channel.send_method(_BASIC_PUBLISH, "Bssbb",
                                        (0, name, routing_key, mandatory, False), prepared)
                else:
                    channel.basic_publish(prepared, exchange=name, routing_key=routing_key,
                                          mandatory=mandatory)
                return
            except self._errors as error:
                self._lost(error)

    def send(self, target: Target, message: dict, kind: str,
             timeout: float | None = None) -> None:
        deadline = green.now() + (timeout if timeout is not None
                                  else self.conf.rpc_response_timeout)
        if kind == "fanout":
            exchange = kombu.Exchange(f"{target.topic}_fanout", type="fanout",
                                      durable=False, auto_delete=True)
            self._publish(exchange, "", message, None, deadline)
            return
        exchange = self._topic_exchange(self.exchange_for(target))
        routing_key = f"{target.topic}.{target.server}" if target.server else target.topic
        # Mandatory: a message no queue is bound for comes back (see _on_return) instead
        # of being dropped silently by the broker, as it is with oslo.messaging.
        self._publish(exchange, routing_key, message,
                      timeout if kind == "call" else None, deadline,
                      mandatory=not self.is_memory)

    def send_reply(self, reply_q: str, reply: dict) -> None:
        deadline = green.now() + self.conf.rpc_response_timeout
        self._publish(None, reply_q, reply, None, deadline, mandatory=not self.is_memory)

    # -- cleanup -----------------------------------------------------------------------

    def cleanup(self) -> None:
        """Cancel consumers, delete the reply and fanout queues, close (idempotent)."""
        if self._closed:
            return
        for tag in list(self._consumers):
            self._remove_consumer(tag)
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.kill()
        connection, self._connection, self._channel = self._connection, None, None
        if not self._ready.ready():
            self._ready.send(False)
        if connection is not None:
            try:
                if self._sock is not None:
                    self._writer.through = True
                    self._writer.flush()
                    self._sock.settimeout(self.conf.socket_write_timeout or None)
                connection.release()
            except Exception:
                try:
                    connection.collect()
                except Exception:
                    pass
        self._reply_q = None
        for waiter in list(self._waiters.values()):
            waiter.put(None)
        self._waiters.clear()
