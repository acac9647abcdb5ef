"""Casts around a broker restart, on the real RabbitMQ (a virtual host of this run's own;
fails, not skips, under NOVA_SIM_REQUIRE_RABBIT=1).

A broker restart, as the services see it: every connection drops, and the queues that
are not durable are gone until their consumers reconnect and declare them again. A
client that reconnects first publishes into that gap. The restart is played on this
run's own virtual host (the connections of the consumer dropped, its non-durable queues
deleted), so that the broker other runs share is not restarted under them.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import uuid

import kombu
import pytest

from nova_sim import conf as nova_conf
from nova_sim import green, rpc

pytestmark = [pytest.mark.slow, pytest.mark.reliability, pytest.mark.timeout(120)]

CASTS = 100


class Endpoint:
    target = rpc.Target(version="6.0")

    def __init__(self):
        self.seen: list[int] = []

    def note(self, ctxt, number):
        self.seen.append(number)


def wait_until(predicate, timeout=30.0, what="condition"):
    """Let the hub run until ``predicate()`` is true (the broker is another process:
    real clock, bounded)."""
    deadline = green.now() + timeout
    while not predicate():
        assert green.now() < deadline, f"timed out waiting for {what}"
        green.sleep(0.01)


@pytest.fixture
def env(rabbit_url):
    """Unique exchange and topic; transports made through ``transport(**options)`` (with
    ``[oslo_messaging_rabbit]`` options) are cleaned up, and what they declared deleted."""
    made = []
    exchange = "rel_" + uuid.uuid4().hex[:12]
    topic = "t" + uuid.uuid4().hex[:8]

    def transport(retry_interval=0.1, response_timeout=30, **options):
        conf = nova_conf.new_conf()
        conf.set_override("rpc_response_timeout", response_timeout)
        for name, value in options.items():
            conf.set_override(name, value, "oslo_messaging_rabbit")
        made.append(rpc.get_transport(rabbit_url, conf=conf))
        made[-1].conf.rabbit_retry_interval = retry_interval
        made[-1].conf.rabbit_retry_backoff = 0.1
        made[-1].conf.kombu_reconnect_delay = 0.1
        return made[-1]

    env = type("Env", (), dict(exchange=exchange, topic=topic, url=rabbit_url,
                               transport=staticmethod(transport)))()
    yield env
    for item in made:
        item.cleanup()
    with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        for name in (topic, f"{topic}.host1"):
            channel.queue_delete(name)
        channel.exchange_delete(exchange)


def _serve(env, transport):
    endpoint = Endpoint()
    server = rpc.RPCServer(transport, rpc.Target(topic=env.topic, server="host1",
                                                 exchange=env.exchange), [endpoint])
    server.start()
    return server, endpoint


def _client(env, transport):
    return rpc.RPCClient(transport, rpc.Target(topic=env.topic, exchange=env.exchange,
                                               version="6.0"))


def _queues(env) -> dict[str, tuple[bool, str]]:
    """The broker's own account of this test's queues: name -> (durable, type)."""
    vhost = env.url.rsplit("/", 1)[1] or "/"
    done = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "--no-table-headers",
                           "name", "durable", "type"], capture_output=True, text=True,
                          timeout=60, check=True)
    queues = {}
    for line in done.stdout.splitlines():
        name, durable, kind = line.split("\t")
        if name.startswith(env.topic):
            queues[name] = (durable == "true", kind)
    return queues


def _restart_as_seen_by(env, transport) -> dict[str, tuple[bool, str]]:
    """The consumer's connection drops and its non-durable queues are gone (the broker
    says which are durable). Returns the queues as they were."""
    queues = _queues(env)
    with kombu.Connection(env.url.replace("rabbit://", "amqp://", 1)) as connection:
        channel = connection.channel()
        transport._sock.shutdown(socket.SHUT_RDWR)
        for name, (durable, _kind) in queues.items():
            if not durable:
                channel.queue_delete(name)
    return queues


@pytest.mark.parametrize("options", [{}, {"amqp_durable_queues": True},
                                     {"rabbit_quorum_queue": True}],
                         ids=["defaults", "amqp_durable_queues", "rabbit_quorum_queue"])
def test_casts_published_in_the_restart_gap_are_delivered(env, options, caplog):
    """100 casts published while the consumer is still reconnecting (it waits 1 s before
    its first attempt) all arrive: with durable or quorum queues the broker keeps them;
    with the defaults they come back unroutable and are published again until the
    consumer has declared its queue (a WARNING says so), where oslo.messaging's broker
    drops them without a word."""
    durable = bool(options)
    server_transport = env.transport(retry_interval=1.0, **options)
    server, endpoint = _serve(env, server_transport)
    client = _client(env, env.transport(**options))
    client.cast({}, "note", number=-1)  # connected and routed before the "restart"
    wait_until(lambda: endpoint.seen == [-1], what="the first cast")
    caplog.set_level(logging.WARNING, logger="nova_sim.rpc")
    reconnects = server_transport.reconnects
    queues = _restart_as_seen_by(env, server_transport)
    expected_type = "quorum" if "rabbit_quorum_queue" in options else "classic"
    for name in (env.topic, f"{env.topic}.host1"):
        assert queues[name] == (durable, expected_type)
    for number in range(CASTS):
        client.cast({}, "note", number=number)
    wait_until(lambda: len(endpoint.seen) == CASTS + 1, what=f"{CASTS} casts delivered")
    assert sorted(endpoint.seen[1:]) == list(range(CASTS))
    assert server_transport.reconnects > reconnects  # the consumer did reconnect
    returned = [r for r in caplog.records if "unroutable" in r.getMessage()]
    if durable:
        assert not returned  # the queue outlived the "restart"
    else:
        assert returned and "'note'" in returned[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    server.stop()


def test_a_cast_that_stays_unroutable_is_logged_at_error(env, caplog):
    """No consumer ever comes: after ``rpc_response_timeout`` of publishing again, one
    ERROR line names the method, the exchange and the routing key."""
    client = _client(env, env.transport(retry_interval=0.1, response_timeout=1))
    caplog.set_level(logging.WARNING, logger="nova_sim.rpc")
    client.cast({}, "schedule_and_build_instances", number=1)

    def error_logged():
        return [r for r in caplog.records if r.levelno >= logging.ERROR]

    wait_until(error_logged, what="the ERROR line")
    (record,) = error_logged()
    text = record.getMessage()
    assert "'schedule_and_build_instances'" in text and env.exchange in text
    assert env.topic in text and "dropped" in text
