"""nova_sim.rpc over RabbitMQ: topology, message properties, errors, bad messages,
broker loss. Needs the broker (``rabbit_url`` fixture); every test uses its own exchange
and deletes what it declared."""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid

import amqp
import kombu
import pytest

from nova_sim import green, rpc
from nova_sim.rpc import wire

pytestmark = pytest.mark.timeout(60)


class Endpoint:
    target = rpc.Target(version="6.0")

    def __init__(self, name):
        self.name = name
        self.log = []

    def ping(self, ctxt, arg):
        return {"pong": arg, "host": self.name}

    def note(self, ctxt, what):
        self.log.append(what)

    def slow(self, ctxt, seconds):
        green.sleep(seconds)
        return seconds

    def boom(self, ctxt):
        raise ValueError(f"simulated failure on {self.name}")


def wait_until(predicate, timeout=10.0):
    """Let the hub run until ``predicate()`` is true (real clock, bounded)."""
    deadline = green.now() + timeout
    while not predicate():
        assert green.now() < deadline, "condition not reached in time"
        green.sleep(0.01)


@pytest.fixture
def env(rabbit_url):
    """Unique exchange and topic; transports made through it are cleaned up."""
    made = []
    exchange = "test_" + uuid.uuid4().hex[:12]
    topic = "t" + uuid.uuid4().hex[:8]

    def transport():
        made.append(rpc.get_transport(rabbit_url))
        made[-1].conf.rabbit_retry_interval = 0.1
        made[-1].conf.rabbit_retry_backoff = 0.1
        made[-1].conf.kombu_reconnect_delay = 0.1
        return made[-1]

    env = type("Env", (), dict(exchange=exchange, topic=topic, transport=staticmethod(transport),
                               url=rabbit_url))()
    yield env
    for item in made:
        item.cleanup()
    with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        for name in (topic, f"{topic}.host1", f"{topic}.host2", "probe_" + topic):
            channel.queue_delete(name)
        for name in (exchange, f"{topic}_fanout"):
            channel.exchange_delete(name)


def plain_connection(env) -> amqp.Connection:
    """A py-amqp connection of the test's own to the broker (blocking, not green)."""
    where, _, vhost = env.url.split("://")[1].split("@")[1].partition("/")
    connection = amqp.Connection(where, userid="guest", password="guest",
                                 virtual_host=vhost or "/")
    connection.connect()
    return connection


def start_server(env, transport, host="host1"):
    endpoint = Endpoint(host)
    server = rpc.RPCServer(transport, rpc.Target(topic=env.topic, server=host,
                                                 exchange=env.exchange), [endpoint])
    server.start()
    return server, endpoint


def client_for(env, transport, **kwargs):
    return rpc.RPCClient(transport, rpc.Target(topic=env.topic, exchange=env.exchange,
                                               version="6.0"), **kwargs)


def test_call_cast_fanout_and_errors(env):
    server_transport, client_transport = env.transport(), env.transport()
    _, one = start_server(env, server_transport, "host1")
    _, two = start_server(env, env.transport(), "host2")
    client = client_for(env, client_transport, timeout=10)
    assert client.prepare(server="host2").call({"user": "u"}, "ping", arg="x") == {
        "pong": "x", "host": "host2"}
    client.prepare(server="host1").cast({}, "note", what="direct")
    client.prepare(fanout=True).cast({}, "note", what="everyone")
    wait_until(lambda: "everyone" in one.log and "everyone" in two.log and "direct" in one.log)
    with pytest.raises(ValueError, match="simulated failure"):
        client.call({}, "boom")
    with pytest.raises(rpc.NoSuchMethod):
        client.call({}, "_private")
    with pytest.raises(rpc.UnsupportedVersion):
        client.prepare(version="7.0").call({}, "ping", arg=1)
    with pytest.raises(rpc.MessagingTimeout):
        client.prepare(timeout=1).call({}, "slow", seconds=3)


def test_topology_and_properties_are_oslo_messaging_s(env):
    transport = env.transport()
    start_server(env, transport)
    client = client_for(env, transport, timeout=30)
    client.call({}, "ping", arg=1)  # declares the reply queue
    connection = plain_connection(env)
    try:
        channel = connection.channel()
        # re-declaring with the same flags and arguments succeeds (equivalent entities)...
        channel.exchange_declare(env.exchange, "topic", durable=False, auto_delete=False)
        channel.exchange_declare(f"{env.topic}_fanout", "fanout", durable=False,
                                 auto_delete=True)
        for name in (env.topic, f"{env.topic}.host1"):
            channel.queue_declare(name, durable=False, auto_delete=False)
        ttl = {"x-expires": 1800000}
        channel.queue_declare(transport.reply_queue(), durable=False, auto_delete=False,
                              arguments=ttl)
        fanout = [c.queue.name for c in transport._consumers.values()
                  if c.queue.name.startswith(f"{env.topic}_fanout_")]
        assert len(fanout) == 1 and len(fanout[0]) == len(env.topic) + len("_fanout_") + 32
        channel.queue_declare(fanout[0], durable=False, auto_delete=False, arguments=ttl)
        # ...and with other arguments fails: the queue has x-expires
        with pytest.raises(amqp.exceptions.PreconditionFailed):
            channel.queue_declare(fanout[0], durable=False, auto_delete=False)
        channel = connection.channel()
        # the properties of a call, read from a probe queue bound to the topic
        probe = "probe_" + env.topic
        channel.queue_declare(probe, durable=False, auto_delete=False)
        channel.queue_bind(probe, env.exchange, probe)
        probe_client = rpc.RPCClient(transport, rpc.Target(topic=probe, exchange=env.exchange),
                                     timeout=30)
        call = green.spawn(probe_client.call, {"user": "u"}, "ping", arg=1)
        message = None
        while message is None:
            green.sleep(0.05)
            message = channel.basic_get(probe, no_ack=True)
        call.kill()
        assert message.properties["content_type"] == "application/json"
        assert message.properties["content_encoding"] == "utf-8"
        assert message.properties["delivery_mode"] == 2
        assert message.properties["priority"] == 0
        assert message.properties["expiration"] == "30000"
        body = json.loads(message.body)
        assert set(body) == {"oslo.version", "oslo.message"}
        request = json.loads(body["oslo.message"])
        assert request["_reply_q"] == transport.reply_queue()
        assert request["_timeout"] is None and request["_context_user"] == "u"
        channel.queue_delete(probe)
    finally:
        connection.close()


def test_bad_messages_do_not_stop_the_server(env):
    transport = env.transport()
    _, endpoint = start_server(env, transport)
    client = client_for(env, transport, timeout=10)
    client.call({}, "ping", arg=0)
    for body in ("garbage", json.dumps({"oslo.version": "2.0", "oslo.message": "{"}),
                 json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps({"x": 1})})):
        transport._publish(kombu.Exchange(env.exchange, type="topic", durable=False),
                           env.topic, {"placeholder": True}, None, green.now() + 5)
        transport._channel.basic_publish(
            transport._channel.prepare_message(body, 0, "application/json", "utf-8", {}, {}),
            exchange=env.exchange, routing_key=env.topic)
    reply_q = transport.reply_queue()
    waiter = transport.expect_reply("bad-call")
    transport._publish(kombu.Exchange(env.exchange, type="topic", durable=False), env.topic,
                       {"method": "nothere", "args": {}, "version": "6.0", "_msg_id": "bad-call",
                        "_reply_q": reply_q, "_unique_id": wire.new_id()}, None,
                       green.now() + 5)
    reply = waiter.get(timeout=10)
    assert "NoSuchMethod" in reply["failure"]
    assert client.call({}, "ping", arg="alive")["pong"] == "alive"


def _cut(transport):
    """Cut the transport's TCP connection under it (as a network failure would)."""
    transport._sock.shutdown(socket.SHUT_RDWR)


def test_server_and_client_resume_after_the_connection_is_cut(env):
    server_transport, client_transport = env.transport(), env.transport()
    _, endpoint = start_server(env, server_transport)
    client = client_for(env, client_transport, timeout=20)
    assert client.call({}, "ping", arg=1)["pong"] == 1
    _cut(server_transport)
    # the request waits in the shared queue until the server is back
    assert client.call({}, "ping", arg=2)["pong"] == 2
    assert server_transport.reconnects >= 2
    # a call in flight when the caller's connection drops gets its reply after reconnecting
    call = green.spawn(client.call, {}, "slow", seconds=1)
    green.sleep(0.3)
    _cut(client_transport)
    assert call.wait() == 1
    client.prepare(fanout=True).cast({}, "note", what="after")
    wait_until(lambda: "after" in endpoint.log)


def test_calls_fail_clearly_when_the_broker_is_unreachable():
    transport = rpc.get_transport("rabbit://guest:guest@127.0.0.1:1/")
    transport.conf.rabbit_retry_interval = 0.1
    client = rpc.RPCClient(transport, rpc.Target(topic="nowhere"), timeout=1)
    start = green.now()
    with pytest.raises(rpc.MessagingTimeout, match="Cannot reach the broker"):
        client.call({}, "ping")
    assert green.now() - start < 5
    with pytest.raises(rpc.MessageDeliveryFailure, match="Cannot reach the broker"):
        client.prepare(timeout=1).cast({}, "ping")
    transport.cleanup()


def test_amqp_heartbeats_keep_an_idle_connection_alive(env):
    transport = env.transport()
    transport.conf.heartbeat_timeout_threshold = 1  # the broker drops us after ~2 s silent
    transport.conf.heartbeat_rate = 2
    start_server(env, transport)
    client = client_for(env, transport, timeout=10)
    assert client.call({}, "ping", arg=1)["pong"] == 1
    reconnects = transport.reconnects
    green.sleep(4)  # idle: only heartbeats cross the wire
    assert client.call({}, "ping", arg=2)["pong"] == 2
    assert transport.reconnects == reconnects


def test_large_messages_and_concurrent_callers_share_one_connection(env):
    transport = env.transport()  # client and server on one connection, writes coalesced
    start_server(env, transport)
    client = client_for(env, transport, timeout=20)
    big = "x" * 300_000  # larger than a frame (frame_max 131072) and the 64 KiB flush mark
    assert client.call({}, "ping", arg=big)["pong"] == big
    pile = green.GreenPile()
    for i in range(50):
        pile.spawn(client.call, {}, "ping", arg=[i, "y" * (i * 1000)])
    assert [result["pong"][0] for result in pile] == list(range(50))


def _close_from_the_broker(transport):
    """Have RabbitMQ close the transport's connection (connection.close from the broker,
    as `rabbitmqctl close_all_connections` does, but for this connection only)."""
    import subprocess

    port = transport._sock.getsockname()[1]
    listing = subprocess.run(["rabbitmqctl", "-q", "list_connections", "pid", "peer_port"],
                             capture_output=True, text=True, timeout=30).stdout
    pids = [line.split()[0] for line in listing.splitlines()
            if line.split()[1:] == [str(port)]]
    assert pids, f"no broker connection from port {port}"
    subprocess.run(["rabbitmqctl", "-q", "close_connection", pids[0], "nova-sim test"],
                   check=True, capture_output=True, timeout=30)


def test_server_resumes_after_the_broker_closes_its_connection(env):
    if shutil.which("rabbitmqctl") is None:
        if os.environ.get("NOVA_SIM_REQUIRE_RABBIT") == "1":
            pytest.fail("rabbitmqctl is not available and NOVA_SIM_REQUIRE_RABBIT=1")
        pytest.skip("rabbitmqctl is not available")
    server_transport, client_transport = env.transport(), env.transport()
    _, endpoint = start_server(env, server_transport)
    client = client_for(env, client_transport, timeout=20)
    assert client.call({}, "ping", arg=1)["pong"] == 1
    reconnects = server_transport.reconnects
    _close_from_the_broker(server_transport)
    wait_until(lambda: server_transport.reconnects > reconnects, timeout=15)
    assert client.call({}, "ping", arg=2)["pong"] == 2
    client.prepare(fanout=True).cast({}, "note", what="fanout after")
    wait_until(lambda: "fanout after" in endpoint.log)


def test_a_started_server_has_its_queues_bound(env):
    """``start()`` returns once the server's queues are declared and bound, as
    oslo.messaging's does: a message published by another process right after (before
    this hub ran anything else) is not routed to nowhere and lost. (Two scheduler
    processes that printed "ready" too early made a caller wait for a reply that
    could never come.)"""
    start_server(env, env.transport())
    connection = plain_connection(env)  # blocking: the hub does not run meanwhile
    try:
        channel = connection.channel()
        returned = []
        channel.events["basic_return"].add(lambda *args: returned.append(args))
        body = wire.encode({"method": "note", "args": {"what": "at once"}})
        for routing_key in (env.topic, f"{env.topic}.host1"):
            channel.basic_publish(amqp.Message(body), exchange=env.exchange,
                                  routing_key=routing_key, mandatory=True)
        channel.queue_declare(env.topic, passive=True)  # a round trip: returns came first
        channel.queue_declare(f"{env.topic}.host1", passive=True)
        assert returned == []
    finally:
        connection.close()


@pytest.mark.slow
def test_a_flood_of_unknown_method_casts_drains_fast_in_bounded_memory(env):
    """Issue 18's target over RabbitMQ: 1,600 unknown-method casts (a version-skewed
    peer) drain in under 2 s with under 20 MB of memory growth, and the 100th failure
    reply is the size of the first. Server and client on transports of their own."""
    import gc
    import logging
    import time
    import tracemalloc

    flood = 1600
    counted = {"finished": 0, "replies": []}

    class Counter:
        def dispatch_finished(self, target, message, ctxt, result, error):
            counted["finished"] += 1

        def reply_sent(self, target, message, reply):
            counted["replies"].append(len(json.dumps(reply)))

    start_server(env, env.transport())
    client = client_for(env, env.transport())
    assert client.call({}, "ping", arg=0)["pong"] == 0  # queues declared and consumed
    counter = Counter()
    rpc.add_instrument(counter)
    logging.disable(logging.WARNING)  # one warning per bad cast is not what is measured
    try:
        def drain() -> float:
            begin, start = counted["finished"], time.perf_counter()
            for index in range(flood):
                client.cast({}, "object_action_v99", index=index)
            wait_until(lambda: counted["finished"] - begin >= flood, timeout=60)
            return time.perf_counter() - start

        drain()  # warm up
        seconds = drain()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            drain()
            gc.collect()
            growth = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        del counted["replies"][:]
        for _ in range(100):
            with pytest.raises(rpc.NoSuchMethod):
                client.call({}, "object_action_v99")
    finally:
        logging.disable(logging.NOTSET)
        rpc.remove_instrument(counter)
    assert seconds < 2.0, f"{flood} casts took {seconds:.2f} s to drain"
    assert growth < 20 * 2**20, f"memory grew {growth / 2**20:.1f} MB over {flood} casts"
    replies = counted["replies"]
    assert len(replies) == 100 and replies[99] == replies[0], (replies[0], replies[99])
