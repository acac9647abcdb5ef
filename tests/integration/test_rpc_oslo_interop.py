"""Interop with the real oslo.messaging, over RabbitMQ and over kombu's memory:// in one
process: an oslo.messaging client calls, casts and fanouts to a nova_sim RPCServer, and a
nova_sim RPCClient calls and casts to an oslo.messaging RPCServer (threading executor),
including exceptions, timeouts, version mismatches and call-monitor heartbeats.

oslo.messaging blocks OS threads; nova_sim runs on the hub of the test's thread. The
test's greenthread waits for oslo's threads with short green sleeps (real clock)."""

from __future__ import annotations

import threading
import uuid

import kombu
import oslo_messaging
import pytest
from oslo_config import cfg
from oslo_messaging.rpc import dispatcher as oslo_dispatcher

from nova_sim import green, rpc

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module", autouse=True)
def oslo_conf():
    """oslo.messaging reads the global cfg.CONF (nova_sim never touches it)."""
    try:
        cfg.CONF([], project="nova-sim-interop")
    except cfg.Error:
        pass
    return cfg.CONF


@pytest.fixture(params=["rabbit", "memory"])
def urls(request):
    """(nova_sim URL, oslo.messaging URL) of the same broker."""
    if request.param == "memory":
        return "memory://", "kombu+memory:////"
    rabbit_url = request.getfixturevalue("rabbit_url")
    return rabbit_url, rabbit_url


@pytest.fixture
def names(urls):
    exchange = "interop_" + uuid.uuid4().hex[:12]
    topic = "i" + uuid.uuid4().hex[:8]
    leftovers: list[str] = []
    yield exchange, topic, leftovers
    if urls[0].startswith("rabbit"):
        with kombu.Connection(urls[0].replace("rabbit://", "amqp://", 1)) as connection:
            channel = connection.channel()
            for queue in [topic, f"{topic}.h1", f"{topic}.h2"] + leftovers:
                channel.queue_delete(queue)
            for exchange_name in (exchange, f"{topic}_fanout"):
                channel.exchange_delete(exchange_name)


def in_thread(function, *args, **kwargs):
    """Run ``function`` in an OS thread; the hub keeps running meanwhile. Returns its
    result or raises its exception."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args, **kwargs)
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = green.now() + 60
    while thread.is_alive():
        assert green.now() < deadline, "oslo.messaging thread did not finish"
        green.sleep(0.005)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def wait_until(predicate, timeout=15.0):
    deadline = green.now() + timeout
    while not predicate():
        assert green.now() < deadline, "condition not reached in time"
        green.sleep(0.005)


class OurEndpoint:
    target = rpc.Target(version="6.1")

    def __init__(self, name):
        self.name = name
        self.log = []

    def ping(self, ctxt, arg):
        return {"pong": arg, "host": self.name, "ctxt": ctxt}

    def note(self, ctxt, what):
        self.log.append(what)

    def slow(self, ctxt, seconds):
        green.sleep(seconds)
        return "done"

    def boom(self, ctxt):
        raise ValueError(f"nova_sim failure on {self.name}")


class OsloEndpoint:
    target = oslo_messaging.Target(version="6.1")

    def __init__(self):
        self.log = []
        self.noted = threading.Event()

    def ping(self, ctxt, arg):
        return {"oslo": arg, "user": ctxt.get("user")}

    def note(self, ctxt, what):
        self.log.append(what)
        self.noted.set()

    def slow(self, ctxt, seconds):
        threading.Event().wait(seconds)
        return "done"

    def boom(self, ctxt):
        raise KeyError("oslo failure")


def test_oslo_client_to_nova_sim_server(urls, names):
    exchange, topic, leftovers = names
    ours_url, oslo_url = urls
    transport = rpc.get_transport(ours_url)
    endpoints = {}
    for host in ("h1", "h2"):
        endpoints[host] = OurEndpoint(host)
        rpc.RPCServer(transport, rpc.Target(topic=topic, server=host, exchange=exchange),
                      [endpoints[host]]).start()
    green.sleep(0.05)
    oslo_transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=oslo_url)
    allowed = oslo_messaging.get_rpc_transport(
        cfg.CONF, url=oslo_url, allowed_remote_exmods=["oslo_messaging.rpc.dispatcher"])
    target = oslo_messaging.Target(topic=topic, exchange=exchange, version="6.0")
    client = oslo_messaging.get_rpc_client(oslo_transport, target, timeout=10)
    strict = oslo_messaging.get_rpc_client(allowed, target, timeout=10)
    try:
        result = in_thread(client.prepare(server="h2").call, {"user": "u1"}, "ping", arg="x")
        assert result == {"pong": "x", "host": "h2", "ctxt": {"user": "u1"}}
        in_thread(client.prepare(server="h1").cast, {}, "note", what="cast")
        in_thread(client.prepare(fanout=True).cast, {}, "note", what="fanout")
        wait_until(lambda: endpoints["h1"].log.count("fanout") == 1
                   and endpoints["h2"].log == ["fanout"] and "cast" in endpoints["h1"].log)
        with pytest.raises(ValueError, match="nova_sim failure"):
            in_thread(client.call, {}, "boom")
        # our NoSuchMethod / UnsupportedVersion travel under oslo.messaging's module name
        with pytest.raises(oslo_messaging.RemoteError) as raised:
            in_thread(client.call, {}, "nothere")
        assert raised.value.exc_type == "NoSuchMethod"
        with pytest.raises(oslo_dispatcher.NoSuchMethod):
            in_thread(strict.call, {}, "_private")
        with pytest.raises(oslo_dispatcher.UnsupportedVersion):
            in_thread(strict.prepare(version="7.0").call, {}, "ping", arg=1)
        with pytest.raises(oslo_messaging.MessagingTimeout):
            in_thread(client.prepare(timeout=1).call, {}, "slow", seconds=3)
        # call-monitor: our server heartbeats every 1 s, the call outlives 2 s
        monitored = client.prepare(timeout=20, call_monitor_timeout=2)
        assert in_thread(monitored.call, {}, "slow", seconds=3) == "done"
    finally:
        leftovers.extend(t._driver._reply_q for t in (oslo_transport, allowed)
                         if t._driver._reply_q)
        transport.cleanup()
        oslo_transport.cleanup()
        allowed.cleanup()


def test_nova_sim_client_to_oslo_server(urls, names):
    exchange, topic, leftovers = names
    ours_url, oslo_url = urls
    oslo_transport = oslo_messaging.get_rpc_transport(cfg.CONF, url=oslo_url)
    endpoint = OsloEndpoint()
    server = oslo_messaging.get_rpc_server(
        oslo_transport, oslo_messaging.Target(topic=topic, server="h1", exchange=exchange),
        [endpoint], executor="threading")
    server.start()
    transport = rpc.get_transport(ours_url)
    client = rpc.RPCClient(transport, rpc.Target(topic=topic, exchange=exchange,
                                                 version="6.0"), timeout=10)
    try:
        wait_until(lambda: _oslo_listening(server))
        assert client.prepare(server="h1").call({"user": "me"}, "ping", arg=1) == {
            "oslo": 1, "user": "me"}
        client.cast({}, "note", what="cast")
        wait_until(endpoint.noted.is_set)
        endpoint.noted.clear()
        client.prepare(fanout=True).cast({}, "note", what="fanout")
        wait_until(endpoint.noted.is_set)
        assert endpoint.log == ["cast", "fanout"]
        with pytest.raises(KeyError, match="oslo failure"):
            client.call({}, "boom")
        with pytest.raises(rpc.NoSuchMethod):
            client.call({}, "nothere")
        with pytest.raises(rpc.UnsupportedVersion):
            client.prepare(version="7.0").call({}, "ping", arg=1)
        start = green.now()
        with pytest.raises(rpc.MessagingTimeout):
            client.prepare(timeout=1).call({}, "slow", seconds=3)
        assert green.now() - start < 2.5
        # call-monitor: oslo's watchdog heartbeats every 1 s
        monitored = client.prepare(timeout=20, call_monitor_timeout=2)
        assert monitored.call({}, "slow", seconds=3) == "done"
    finally:
        leftovers.extend(_oslo_fanout_queues(server))
        in_thread(server.stop)
        in_thread(server.wait)
        transport.cleanup()
        oslo_transport.cleanup()


def _oslo_listening(server) -> bool:
    try:
        return bool(server.listener._poll_style_listener.conn._consumers)
    except AttributeError:
        return False


def _oslo_fanout_queues(server) -> list[str]:
    try:
        consumers = server.listener._poll_style_listener.conn._consumers
    except AttributeError:
        return []
    return [consumer.queue_name for consumer in consumers if "_fanout_" in consumer.queue_name]
