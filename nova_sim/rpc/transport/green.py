"""``green://``: an in-process AMQP-like broker on the hub, and its transport.

Owns the green broker (exchanges, queues, bindings, consumers) and the transport over it.
The broker has the same topology as oslo.messaging on RabbitMQ: a topic exchange
(``control_exchange``) with queues ``topic`` and ``topic.server``, a fanout exchange
``topic_fanout`` with one ``topic_fanout_<uuid>`` queue per server, reply queues
``reply_<uuid>`` reached through the default exchange. A body is what the JSON round
trip of the message would give (``wire.copy_message``: the same values, the same errors
for what JSON cannot hold, nothing shared with the sender), not the bytes themselves:
encoding and decoding JSON would cost several times more and tell the receiver nothing
more. Each queue a message reaches gets its own copy. Raw bodies (bytes or text, as
``wire.encode`` writes them) published by hand are delivered as they are and decoded by
their consumer.

Delivery needs no consumer greenthread and no polling: publishing hands the body to one
consumer of each routed queue (round robin among competing consumers), whose ``deliver``
only schedules work; with no consumer the queue keeps the message (dropping it once its
``expiration`` has passed, as RabbitMQ does). So the virtual clock is never held up and a
run is repeatable. Routing keys match exactly (oslo.messaging uses no wildcards).

A broker belongs to one hub and one name (``green://name``); transports with the same
URL on the same hub share it. Must not know about endpoints, contexts or Nova.
"""

from __future__ import annotations

import collections
import itertools
import logging
import weakref
from typing import Any, Callable

from nova_sim import green
from nova_sim.rpc import wire
from nova_sim.rpc.options import RPCOptions
from nova_sim.rpc.target import Target
from nova_sim.rpc.transport.base import Listener, Transport

LOG = logging.getLogger(__name__)


class _Queue:
    """A queue: buffered messages and competing consumers (round robin)."""

    __slots__ = ("name", "messages", "consumers", "_next", "arguments", "bindings")

    def __init__(self, name: str, arguments: dict | None = None):
        self.name = name
        self.arguments = arguments or {}
        self.messages: collections.deque = collections.deque()
        self.consumers: list[Callable[[Any], None]] = []
        self._next = 0
        #: (exchange, routing key) pairs this queue is bound with (deleting it is then
        #: quick whatever the number of queues: 10,000 computes declare 30,000)
        self.bindings: list[tuple[str, str]] = []

    def put(self, body: Any, expires_at: float | None) -> None:
        consumers = self.consumers
        if not consumers:
            self.messages.append((body, expires_at))
            return
        if len(consumers) == 1:
            consumers[0](body)
            return
        index = self._next % len(consumers)
        self._next = index + 1
        consumers[index](body)

    def add_consumer(self, deliver: Callable[[Any], None]) -> None:
        self.consumers.append(deliver)
        messages, self.messages = self.messages, collections.deque()
        now = green.now() if messages else 0.0
        for body, expires_at in messages:
            if expires_at is not None and expires_at <= now:
                LOG.debug("Queue %s: dropping an expired message", self.name)
                continue
            self.put(body, expires_at)

    def remove_consumer(self, deliver: Callable[[Any], None]) -> None:
        try:
            self.consumers.remove(deliver)
        except ValueError:
            pass


class GreenBroker:
    """Exchanges, queues and bindings of one in-process virtual host."""

    def __init__(self, name: str = ""):
        self.name = name
        #: messages published so far (benchmarks read it)
        self.published = 0
        self.queues: dict[str, _Queue] = {}
        # exchange name -> (type, {routing key: [queue, ...]})
        self.exchanges: dict[str, tuple[str, dict[str, list[_Queue]]]] = {}

    def declare_exchange(self, name: str, type: str) -> None:
        """Create exchange ``name`` if it does not exist (``type``: topic or fanout)."""
        if name not in self.exchanges:
            self.exchanges[name] = (type, {})

    def declare_queue(self, name: str, arguments: dict | None = None) -> _Queue:
        """Create queue ``name`` if it does not exist; return it."""
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = _Queue(name, arguments)
        return queue

    def bind(self, queue: _Queue, exchange: str, routing_key: str) -> None:
        """Route messages published to ``exchange`` with ``routing_key`` to ``queue``."""
        binding = (exchange, routing_key)
        # the queue's own bindings are few; the key's queues may be 10,000 fanout queues
        if binding not in queue.bindings:
            self.exchanges[exchange][1].setdefault(routing_key, []).append(queue)
            queue.bindings.append(binding)

    def delete_queue(self, name: str) -> None:
        """Delete queue ``name`` with its bindings and buffered messages."""
        queue = self.queues.pop(name, None)
        if queue is None:
            return
        for exchange, routing_key in queue.bindings:
            entry = self.exchanges.get(exchange)
            if entry is None:
                continue
            bindings = entry[1]
            bound = bindings.get(routing_key)
            if bound is not None and queue in bound:
                bound.remove(queue)
                if not bound:
                    del bindings[routing_key]
        queue.bindings = []

    def publish(self, exchange: str, routing_key: str, body: Any,
                expiration: float | None = None) -> int:
        """Route ``body``; return the number of queues it reached (0: dropped).

        ``exchange == ""`` is the default exchange: the routing key names the queue.
        ``expiration`` is in seconds (a call's timeout).
        """
        self.published += 1
        expires_at = None if expiration is None else green.now() + expiration
        if not exchange:
            queue = self.queues.get(routing_key)
            if queue is None:
                return 0
            queue.put(body, expires_at)
            return 1
        entry = self.exchanges.get(exchange)
        if entry is None:
            return 0
        type_, bindings = entry
        if type_ == "fanout":
            targets = list(itertools.chain.from_iterable(bindings.values()))
        else:
            targets = bindings.get(routing_key, ())
            if len(targets) == 1:
                targets[0].put(body, expires_at)
                return 1
            targets = list(targets)
        for number, queue in enumerate(targets):
            # every queue gets its own copy of a message (a consumer may change it)
            queue.put(body if number == 0 or type(body) is not dict
                      else wire.copy_message(body), expires_at)
        return len(targets)


# hub -> {broker name: broker}
_brokers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_broker(name: str = "") -> GreenBroker:
    """The broker called ``name`` on the current hub (created on first use)."""
    hub = green.get_hub()
    try:
        brokers = _brokers[hub]
    except KeyError:
        brokers = _brokers[hub] = {}
    broker = brokers.get(name)
    if broker is None:
        broker = brokers[name] = GreenBroker(name)
    return broker


class GreenTransport(Transport):
    """A transport on the in-process green broker named by the URL's host part."""

    scheme = "green"

    def __init__(self, url: str, options: RPCOptions, allowed_remote_exmods=None,
                 broker_name: str = ""):
        super().__init__(url, options, allowed_remote_exmods)
        self.broker = get_broker(broker_name)
        self._fanout_queues: list[str] = []
        self._reply_consumer = None

    def _declare_reply_queue(self, name: str) -> None:
        ttl = self.conf.rabbit_transient_queues_ttl * 1000
        queue = self.broker.declare_queue(name, {"x-expires": ttl})
        self._reply_consumer = self._on_reply
        queue.add_consumer(self._on_reply)

    def send(self, target: Target, message: dict, kind: str,
             timeout: float | None = None) -> None:
        body = wire.copy_message(message)
        broker = self.broker
        if kind == "fanout":
            broker.declare_exchange(target.topic + "_fanout", "fanout")
            broker.publish(target.topic + "_fanout", "", body)
            return
        exchange = target.exchange or self.conf.control_exchange
        if exchange not in broker.exchanges:
            broker.declare_exchange(exchange, "topic")
        routing_key = f"{target.topic}.{target.server}" if target.server else target.topic
        if not broker.publish(exchange, routing_key, body, timeout if kind == "call" else None):
            LOG.debug("Message to %s/%s reached no queue (no server); dropped",
                      exchange, routing_key)

    def send_reply(self, reply_q: str, reply: dict) -> None:
        if not self.broker.publish("", reply_q, wire.copy_message(reply)):
            LOG.warning("Reply queue %s does not exist; reply to %s dropped",
                        reply_q, reply.get("_msg_id"))

    def listen(self, target: Target, deliver: Callable[[Any], None]) -> Listener:
        broker = self.broker
        exchange = self.exchange_for(target)
        broker.declare_exchange(exchange, "topic")
        queues = []
        for name in (target.topic, f"{target.topic}.{target.server}" if target.server else None):
            if name is None:
                continue
            queue = broker.declare_queue(name)
            broker.bind(queue, exchange, name)
            queues.append(queue)
        fanout = f"{target.topic}_fanout"
        broker.declare_exchange(fanout, "fanout")
        fanout_name = f"{fanout}_{wire.new_id()}"
        ttl = self.conf.rabbit_transient_queues_ttl * 1000
        fanout_queue = broker.declare_queue(fanout_name, {"x-expires": ttl})
        broker.bind(fanout_queue, fanout, target.topic)
        queues.append(fanout_queue)
        self._fanout_queues.append(fanout_name)
        for queue in queues:
            queue.add_consumer(deliver)

        def stop() -> None:
            for queue in queues:
                queue.remove_consumer(deliver)
            # A fanout queue belongs to this server alone: RabbitMQ would expire it.
            broker.delete_queue(fanout_name)
            if fanout_name in self._fanout_queues:
                self._fanout_queues.remove(fanout_name)

        return Listener(stop)

    def cleanup(self) -> None:
        for name in self._fanout_queues:
            self.broker.delete_queue(name)
        self._fanout_queues = []
        if self._reply_q is not None:
            self.broker.delete_queue(self._reply_q)
            self._reply_q = None
        for waiter in list(self._waiters.values()):
            waiter.put(None)
        self._waiters.clear()
