"""RPC over green:// on the virtual clock: calls, casts, fanout, timeouts, heartbeats,
errors both ways, bad messages, instruments, context."""

from __future__ import annotations

import contextlib
import json
import logging

import pytest

from nova_sim import green, rpc
from nova_sim.rpc import client as rpc_client
from nova_sim.rpc import wire
from nova_sim.rpc.transport.green import get_broker


class Endpoint:
    target = rpc.Target(version="6.1")

    def __init__(self, name="host1", log=None):
        self.name = name
        self.log = log if log is not None else []

    def ping(self, ctxt, arg):
        self.log.append((self.name, "ping", arg))
        return {"pong": arg, "host": self.name, "ctxt": ctxt}

    def note(self, ctxt, what):
        self.log.append((self.name, "note", what))

    def slow(self, ctxt, seconds):
        green.sleep(seconds)
        return seconds

    def boom(self, ctxt):
        raise ValueError(f"simulated failure on {self.name}")

    def unjsonable(self, ctxt):
        return {1, 2}


@pytest.fixture
def vclock():
    with green.virtual_time(seed=7) as hub:
        yield hub


@contextlib.contextmanager
def instrumented(*added):
    """The RPC instruments ``added`` installed for the block, removed after it."""
    for instrument in added:
        rpc.add_instrument(instrument)
    try:
        yield
    finally:
        for instrument in added:
            rpc.remove_instrument(instrument)


def make_server(transport, host="host1", log=None, topic="compute", **kwargs):
    server = rpc.RPCServer(transport, rpc.Target(topic=topic, server=host),
                           [Endpoint(host, log)], **kwargs)
    server.start()
    return server


def test_call_round_trip_with_context(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    result = client.prepare(server="host1").call({"user": "u-1"}, "ping", arg="hello")
    assert result == {"pong": "hello", "host": "host1", "ctxt": {"user": "u-1"}}


def test_call_times_out_on_the_virtual_clock(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"), timeout=30)
    start = green.now()
    with pytest.raises(rpc.MessagingTimeout):
        client.call({}, "slow", seconds=100)
    assert green.now() - start == pytest.approx(30)
    with pytest.raises(rpc.MessagingTimeout):  # no server at all for this topic
        client.prepare(topic="nobody", timeout=5).call({}, "ping", arg=1)


def test_default_timeout_is_rpc_response_timeout(vclock):
    transport = rpc.get_transport("green://")
    client = rpc.RPCClient(transport, rpc.Target(topic="nobody"))
    start = green.now()
    with pytest.raises(rpc.MessagingTimeout):
        client.call({}, "ping")
    assert green.now() - start == pytest.approx(transport.conf.rpc_response_timeout)


def test_call_monitor_heartbeats_keep_a_long_call_alive(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport)
    replies = []

    class Recorder:
        def reply_received(self, target, message, reply):
            replies.append(reply)

    heartbeats = []
    original = transport.send_reply

    def spy(reply_q, reply):
        if not reply["ending"]:
            heartbeats.append(green.now())
        original(reply_q, reply)

    transport.send_reply = spy
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"),
                           timeout=1000, call_monitor_timeout=10)
    start = green.now()
    assert client.call({}, "slow", seconds=60) == 60
    assert [round(t - start) for t in heartbeats] == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
    # the message carried the call-monitor timeout, the call's own only as expiration
    rpc.add_instrument(Recorder())
    try:
        sent = []

        class Sent:
            def message_sent(self, kind, target, message):
                sent.append(dict(message))

        rpc.add_instrument(Sent())
        client.call({}, "ping", arg=1)
        assert sent[-1]["_timeout"] == 10
    finally:
        from nova_sim.rpc.instruments import hooks

        hooks.clear()


def test_call_monitor_timeout_fires_without_heartbeats(vclock):
    transport = rpc.get_transport("green://")
    # a server that never heartbeats: the request goes to a queue nobody consumes
    get_broker("").declare_exchange("nova", "topic")
    queue = get_broker("").declare_queue("silent")
    get_broker("").bind(queue, "nova", "silent")
    client = rpc.RPCClient(transport, rpc.Target(topic="silent"), timeout=1000,
                           call_monitor_timeout=20)
    start = green.now()
    with pytest.raises(rpc.MessagingTimeout, match="no call-monitor heartbeat within 20s"):
        client.call({}, "ping")
    assert green.now() - start == pytest.approx(20)
    # the call's own timeout, when it comes first, is the one named
    with pytest.raises(rpc.MessagingTimeout, match=r"\(ping on silent, timeout 5s\)$"):
        client.prepare(timeout=5).call({}, "ping")


def test_cast_and_competing_consumers_round_robin(vclock):
    transport = rpc.get_transport("green://")
    log = []
    for host in ("host1", "host2", "host3"):
        make_server(transport, host, log)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    for i in range(6):
        client.cast({}, "note", what=i)
    green.sleep(0)
    assert sorted(log, key=lambda entry: entry[2]) == [
        ("host1", "note", 0), ("host2", "note", 1), ("host3", "note", 2),
        ("host1", "note", 3), ("host2", "note", 4), ("host3", "note", 5)]
    log.clear()
    client.prepare(server="host2").cast({}, "note", what="direct")
    green.sleep(0)
    assert log == [("host2", "note", "direct")]


def test_fanout_reaches_every_server(vclock):
    transport = rpc.get_transport("green://")
    log = []
    servers = [make_server(transport, f"host{i}", log) for i in range(5)]
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    client.prepare(fanout=True).cast({}, "note", what="all")
    green.sleep(0)
    assert sorted(log) == [(f"host{i}", "note", "all") for i in range(5)]
    with pytest.raises(rpc.InvalidTarget):
        client.prepare(fanout=True).call({}, "ping", arg=1)
    servers[0].stop()
    log.clear()
    client.prepare(fanout=True).cast({}, "note", what="again")
    green.sleep(0)
    assert len(log) == 4


def test_topology_matches_oslo_messaging(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport, "host1")
    rpc.RPCClient(transport, rpc.Target(topic="nobody"), timeout=1)
    broker = transport.broker
    assert set(broker.exchanges) == {"nova", "compute_fanout"}
    assert broker.exchanges["nova"][0] == "topic"
    assert broker.exchanges["compute_fanout"][0] == "fanout"
    names = set(broker.queues)
    fanout = [name for name in names if name.startswith("compute_fanout_")]
    assert {"compute", "compute.host1"} <= names and len(fanout) == 1
    assert broker.queues[fanout[0]].arguments == {"x-expires": 1800000}
    assert len(fanout[0]) == len("compute_fanout_") + 32


def test_remote_exceptions(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    with pytest.raises(ValueError) as raised:
        client.call({}, "boom")
    assert "simulated failure on host1" in str(raised.value)
    for method in ("nothere", "_private", "__class__"):
        with pytest.raises(rpc.NoSuchMethod):
            client.call({}, method)
    with pytest.raises(rpc.UnsupportedVersion):
        client.prepare(version="7.0").call({}, "ping", arg=1)
    with pytest.raises(TypeError):  # the result could not cross the wire
        client.call({}, "unjsonable")
    with pytest.raises(TypeError):  # an argument cannot cross the wire: fails at the caller
        client.call({}, "ping", arg=object())


def test_version_cap(vclock):
    transport = rpc.get_transport("green://")
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"),
                           version_cap="6.1")
    assert client.can_send_version()
    assert client.can_send_version("6.1")
    assert not client.can_send_version("6.2")
    assert not client.prepare(version="7.0").can_send_version()
    with pytest.raises(rpc.RPCVersionCapError):
        client.prepare(version="6.2").cast({}, "note", what=1)
    with pytest.raises(rpc.MessagingException):
        client.prepare(version="six")


def test_prepare_gives_the_same_client_for_the_same_arguments(vclock, monkeypatch):
    transport = rpc.get_transport("green://")
    make_server(transport, "host1")
    make_server(transport, "host2")
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    one = client.prepare(server="host1", version="6.0")
    assert client.prepare(server="host1", version="6.0") is one
    two = client.prepare(server="host2")
    assert two is not one and two.target.server == "host2"
    assert one.target.server == "host1" and one.target.version == "6.0"
    assert one.call({}, "ping", arg=1)["host"] == "host1"
    assert two.call({}, "ping", arg=1)["host"] == "host2"
    # an unhashable argument still prepares (each time); a bad version is refused each time
    assert client.prepare(server=["host1"]).target.server == ["host1"]
    for _ in range(2):
        with pytest.raises(rpc.MessagingException):
            client.prepare(version="six")
    # beyond the bound the variants are made again, the same
    monkeypatch.setattr(rpc_client, "_PREPARED_SIZE", 2)
    client.prepare(timeout=1)
    assert client.prepare(server="host1", version="6.0") is not one
    assert client.prepare(server="host1", version="6.0").target == one.target


def _publish_raw(transport, routing_key, body):
    transport.broker.publish("nova", routing_key, body)


@pytest.mark.parametrize("body", [
    "not json at all",
    json.dumps({"oslo.version": "2.0"}),
    json.dumps({"oslo.version": "2.0", "oslo.message": "{bad json"}),
    json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps({"args": {}})}),
    json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(["list"])}),
    json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(
        {"method": "ping", "args": [1, 2]})}),
    json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(
        {"method": "_private", "args": {}})}),
])
def test_bad_casts_are_dropped_and_the_server_keeps_serving(vclock, body, caplog):
    transport = rpc.get_transport("green://")
    log = []
    make_server(transport, "host1", log)
    with caplog.at_level(logging.WARNING):
        _publish_raw(transport, "compute.host1", body)
        green.sleep(0)
    assert caplog.records, "a bad message must be logged"
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    assert client.call({}, "ping", arg="still")["pong"] == "still"


@pytest.mark.parametrize("request_dict,error", [
    ({"method": "nothere", "version": "6.0", "args": {}}, rpc.NoSuchMethod),
    ({"method": "_private", "version": "6.1", "args": {}}, rpc.NoSuchMethod),
    ({"method": "ping", "args": {}}, rpc.UnsupportedVersion),  # no version: 1.0
    ({"method": "ping", "version": "9.0", "args": {"arg": 1}}, rpc.UnsupportedVersion),
    ({"method": "ping", "version": "6.0", "args": [1]}, TypeError),
    ({"args": {}}, rpc.exceptions.InvalidMessage),
])
def test_bad_calls_get_a_failure_reply(vclock, request_dict, error):
    transport = rpc.get_transport("green://")
    make_server(transport)
    reply_q = transport.reply_queue()
    message = dict(request_dict, _msg_id="m1", _reply_q=reply_q, _timeout=None,
                   _unique_id=wire.new_id())
    waiter = transport.expect_reply("m1")
    _publish_raw(transport, "compute", wire.encode(message))
    reply = waiter.get(timeout=1)
    assert reply["ending"] is True and reply["result"] is None
    failure = rpc.exceptions.deserialize_failure(reply["failure"])
    assert isinstance(failure, error)


def test_duplicate_messages_are_dropped(vclock):
    transport = rpc.get_transport("green://")
    log = []
    make_server(transport, "host1", log)
    body = wire.encode({"method": "note", "args": {"what": 1}, "version": "6.0",
                        "_unique_id": "u1"})
    _publish_raw(transport, "compute", body)
    _publish_raw(transport, "compute", body)
    green.sleep(0)
    assert log == [("host1", "note", 1)]


def test_pool_bounds_concurrency_and_backlog_drains(vclock):
    transport = rpc.get_transport("green://")
    running = []
    peak = [0]

    class Busy:
        def work(self, ctxt, i):
            running.append(i)
            peak[0] = max(peak[0], len(running))
            green.sleep(1)
            running.remove(i)
            return i

    server = rpc.RPCServer(transport, rpc.Target(topic="busy", server="h"), [Busy()],
                           executor_thread_pool_size=3)
    server.start()
    client = rpc.RPCClient(transport, rpc.Target(topic="busy"))
    pile = green.GreenPile()
    for i in range(10):
        pile.spawn(client.call, {}, "work", i=i)
    assert sorted(pile) == list(range(10))
    assert peak[0] == 3


def test_a_dispatch_may_call_another_server_with_a_full_pool(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport, "host2", topic="inner")

    class Outer:
        def relay(self, ctxt, arg):
            inner = rpc.RPCClient(transport, rpc.Target(topic="inner", version="6.0"))
            return inner.call(ctxt, "ping", arg=arg)["pong"]

    rpc.RPCServer(transport, rpc.Target(topic="outer", server="h"), [Outer()],
                  executor_thread_pool_size=1).start()
    client = rpc.RPCClient(transport, rpc.Target(topic="outer"))
    pile = green.GreenPile()
    for i in range(3):
        pile.spawn(client.call, {}, "relay", arg=i)
    assert list(pile) == [0, 1, 2]


def test_stop_and_wait_finish_in_flight_work(vclock):
    transport = rpc.get_transport("green://")
    server = make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"), timeout=50)
    call = green.spawn(client.call, {}, "slow", seconds=10)
    green.sleep(1)
    server.stop()
    server.wait()
    assert call.wait() == 10
    with pytest.raises(rpc.MessagingTimeout):  # nobody consumes any more
        client.call({}, "ping", arg=1)


def test_serializer_and_current_context(vclock):
    current = []

    class Context:
        def __init__(self, values):
            self.values = values

        def to_dict(self):
            return dict(self.values)

    class Serializer(rpc.Serializer):
        def serialize_entity(self, ctxt, entity):
            return {"wrapped": entity}

        def deserialize_entity(self, ctxt, entity):
            return entity["wrapped"] if isinstance(entity, dict) else entity

        def serialize_context(self, ctxt):
            return ctxt.to_dict()

        def deserialize_context(self, ctxt):
            rebuilt = Context(ctxt)
            current.append(rebuilt)
            return rebuilt

    class Echo:
        def echo(self, ctxt, value):
            assert isinstance(ctxt, Context)
            return [value, ctxt.values["request_id"]]

    transport = rpc.get_transport("green://")
    rpc.RPCServer(transport, rpc.Target(topic="echo", server="h"), [Echo()],
                  serializer=Serializer()).start()
    client = rpc.RPCClient(transport, rpc.Target(topic="echo"), serializer=Serializer())
    ctxt = Context({"request_id": "req-1", "user": "u"})
    assert client.call(ctxt, "echo", value=5) == [5, "req-1"]
    assert current[0].values == {"request_id": "req-1", "user": "u"}


def test_request_context_serializer_makes_the_context_current(vclock):
    from nova_sim import context as nova_context

    seen = []

    class Who:
        def whoami(self, ctxt):
            seen.append(nova_context.get_current())
            return ctxt.request_id

    transport = rpc.get_transport("green://")
    serializer = nova_context.RequestContextSerializer()
    rpc.RPCServer(transport, rpc.Target(topic="who", server="h"), [Who()],
                  serializer=serializer).start()
    client = rpc.RPCClient(transport, rpc.Target(topic="who"), serializer=serializer)
    ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
    assert client.call(ctxt, "whoami") == ctxt.request_id
    assert seen[0].request_id == ctxt.request_id and seen[0] is not ctxt


def test_instruments_see_and_extend_messages(vclock):
    events = []

    class Tracer:
        def message_sent(self, kind, target, message):
            message["_context_trace_id"] = "trace-1"
            events.append(("sent", kind, message["method"]))

        def message_received(self, target, message):
            events.append(("received", message["method"], message["_context_trace_id"]))

        def dispatch_started(self, target, message, ctxt):
            events.append(("started", ctxt.get("trace_id")))

        def dispatch_finished(self, target, message, ctxt, result, error):
            events.append(("finished", type(error).__name__ if error else None))

        def reply_sent(self, target, message, reply):
            events.append(("reply_sent", reply["ending"]))

        def reply_received(self, target, message, reply):
            events.append(("reply_received", reply is not None))

    class Broken:
        def message_sent(self, kind, target, message):
            raise RuntimeError("instrument bug")

    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    with instrumented(Tracer(), Broken()):
        client.call({}, "ping", arg=1)
        client.cast({}, "note", what=2)
        green.sleep(0)
    assert events == [
        ("sent", "call", "ping"), ("received", "ping", "trace-1"), ("started", "trace-1"),
        ("finished", None), ("reply_sent", True), ("reply_received", True),
        ("sent", "cast", "note"), ("received", "note", "trace-1"), ("started", "trace-1"),
        ("finished", None),
    ]


def test_an_instrument_that_raises_is_logged_once_and_removed(vclock, caplog):
    from nova_sim.rpc.instruments import hooks

    class Broken:
        def reply_received(self, target, message, reply):
            raise RuntimeError("instrument bug")

    class Counting:
        def __init__(self):
            self.replies = 0

        def reply_received(self, target, message, reply):
            self.replies += 1

    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    broken, counting = Broken(), Counting()
    for others in ([], [counting]):  # alone (called directly), then beside another
        with instrumented(broken, *others):
            assert hooks.reply_received is not None
            assert hooks.message_sent is None  # no instrument has it
            caplog.clear()
            for arg in range(3):
                assert client.call({}, "ping", arg=arg)["pong"] == arg
            assert broken not in hooks and (counting in hooks) == bool(others)
            [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert "failed in reply_received and was removed" in record.getMessage()
            assert record.exc_info[0] is RuntimeError
        assert hooks.reply_received is None
    assert counting.replies == 3


def test_an_instrument_may_let_a_base_exception_through(vclock):
    from nova_sim.rpc.instruments import hooks

    class Interrupting:
        def message_sent(self, kind, target, message):
            raise KeyboardInterrupt

    transport = rpc.get_transport("green://")
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    with instrumented(Interrupting()):
        with pytest.raises(KeyboardInterrupt):
            client.cast({}, "note", what=1)
        assert hooks.message_sent is not None  # not an instrument's bug: it stays


def test_a_killed_call_and_a_killed_dispatch_still_end_for_instruments(vclock):
    """A tracer ends its spans in reply_received / dispatch_finished: they must come
    even when the caller or the dispatching greenthread is killed."""
    events = []

    class Ends:
        def message_sent(self, kind, target, message):
            events.append(("sent", message["method"]))

        def reply_received(self, target, message, reply):
            events.append(("reply_received", message["method"], reply))

        def dispatch_started(self, target, message, ctxt):
            events.append(("started", message["method"]))

        def dispatch_finished(self, target, message, ctxt, result, error):
            events.append(("finished", message["method"], type(error).__name__))

    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    with instrumented(Ends()):
        caller = green.spawn(client.call, {}, "slow", seconds=100)
        green.sleep(1)
        caller.kill()
        assert events == [("sent", "slow"), ("started", "slow"),
                          ("reply_received", "slow", None)]
        with pytest.raises(rpc.MessagingTimeout):
            client.prepare(timeout=5).call({}, "slow", seconds=100)
        assert events[-1] == ("reply_received", "slow", None)
        del events[:]
        # kill the dispatching greenthread itself
        server_side = []

        class Dispatching:
            def dispatch_started(self, target, message, ctxt):
                server_side.append(green.getcurrent())

        with instrumented(Dispatching()):
            client.cast({}, "slow", seconds=100)
            green.sleep(1)
        [dispatching] = server_side
        dispatching.kill()
        assert events[-1] == ("finished", "slow", "GreenletExit")


def test_same_seed_same_bytes():
    def run():
        bodies = []
        with green.virtual_time(seed=11):
            transport = rpc.get_transport("green://")
            original = transport.broker.publish

            def spy(exchange, key, body, expiration=None):
                bodies.append(body)
                return original(exchange, key, body, expiration)

            transport.broker.publish = spy
            make_server(transport)
            client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
            client.call({"user": "u"}, "ping", arg=1)
            client.prepare(fanout=True).cast({}, "note", what=1)
        return bodies

    first = run()
    assert first and first == run()


def test_brokers_are_per_name_and_hub(vclock):
    a = rpc.get_transport("green://cloud-a")
    b = rpc.get_transport("green://cloud-b")
    make_server(a)
    with pytest.raises(rpc.MessagingTimeout):
        rpc.RPCClient(b, rpc.Target(topic="compute", version="6.0"), timeout=1).call(
            {}, "ping", arg=1)
    a2 = rpc.get_transport("green://cloud-a")
    assert rpc.RPCClient(a2, rpc.Target(topic="compute", version="6.0")).call(
        {}, "ping", arg=1)["pong"] == 1


def test_expired_messages_are_dropped(vclock):
    transport = rpc.get_transport("green://")
    log = []
    server = make_server(transport, "host1", log)
    server.stop()
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"), timeout=5)
    with pytest.raises(rpc.MessagingTimeout):
        client.call({}, "ping", arg="late")
    client.cast({}, "note", what="kept")
    make_server(transport, "host2", log)
    green.sleep(0)
    assert log == [("host2", "note", "kept")]


def test_cleanup_fails_waiting_calls(vclock):
    transport = rpc.get_transport("green://")
    client = rpc.RPCClient(transport, rpc.Target(topic="nobody"), timeout=100)
    call = green.spawn(client.call, {}, "ping")
    green.sleep(1)
    transport.cleanup()
    with pytest.raises(rpc.MessageDeliveryFailure):
        call.wait()


def test_get_transport_urls():
    with pytest.raises(ValueError):
        rpc.get_transport("carrier-pigeon://")
    memory = rpc.get_transport("memory://")
    assert memory.is_memory
    rabbit = rpc.get_transport("rabbit://user:secret@h1:5673,user:secret@h2/vh")
    assert "secret" not in repr(rabbit)
    from nova_sim.rpc.transport.amqp import kombu_url

    assert kombu_url("rabbit://user:secret@h1:5673,user:secret@h2/vh") == (
        "amqp://user:secret@h1:5673/vh;amqp://user:secret@h2:5672/vh")
    assert kombu_url("rabbit://guest:guest@127.0.0.1:5672/") == "amqp://guest:guest@127.0.0.1:5672//"


def test_options_from_conf():
    from oslo_config import cfg

    from nova_sim.conf import new_conf

    conf = new_conf()
    conf.set_override("control_exchange", "cloudy")
    conf.set_override("rpc_response_timeout", 7)
    with green.virtual_time():
        transport = rpc.get_transport("green://", conf=conf)
        assert transport.conf.control_exchange == "cloudy"
        assert transport.conf.rpc_response_timeout == 7
        assert transport.conf.executor_thread_pool_size == 64
    # A ConfigOpts without nova-sim's options is refused, not read with defaults.
    bare = cfg.ConfigOpts()
    bare([])
    with pytest.raises(cfg.NoSuchOptError):
        rpc.get_transport("green://", conf=bare)


def test_none_context_comes_from_the_provider(vclock):
    transport = rpc.get_transport("green://")
    make_server(transport)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"))
    assert client.call(None, "ping", arg=1)["ctxt"] == {}
    rpc.set_context_provider(lambda: {"request_id": "req-current"})
    try:
        assert client.call(None, "ping", arg=1)["ctxt"] == {"request_id": "req-current"}
    finally:
        rpc.set_context_provider(None)


def test_amqp_transports_refuse_the_virtual_clock(vclock):
    transport = rpc.get_transport("rabbit://guest:guest@127.0.0.1:1/")
    with pytest.raises(RuntimeError, match="real clock"):
        rpc.RPCClient(transport, rpc.Target(topic="t")).cast({}, "m")


def test_a_stopped_server_can_start_again(vclock):
    transport = rpc.get_transport("green://")
    log = []
    server = make_server(transport, "host1", log)
    client = rpc.RPCClient(transport, rpc.Target(topic="compute", version="6.0"), timeout=5)
    server.stop()
    server.wait()
    server.start()
    assert client.call({}, "ping", arg="again")["pong"] == "again"


class Answers:
    """Errors that are answers: one marked, one raised as ExpectedException, one not."""

    target = rpc.Target(version="1.0")

    @rpc.expected_exceptions(LookupError)
    def find(self, ctxt, key):
        raise KeyError(key)

    @rpc.expected_exceptions(LookupError)
    def broken(self, ctxt):
        raise ZeroDivisionError("a real fault")

    def save(self, ctxt):
        try:
            raise ValueError("state changed under you")
        except ValueError:
            raise rpc.ExpectedException() from None


def test_expected_errors_are_answers_logged_at_debug(vclock, caplog):
    transport = rpc.get_transport("green://")
    server = rpc.RPCServer(transport, rpc.Target(topic="answers", server="a1"), [Answers()])
    server.start()
    client = rpc.RPCClient(transport, rpc.Target(topic="answers"))
    finished = []

    class Finished:
        def dispatch_finished(self, target, message, ctxt, result, error):
            finished.append(type(error).__name__)

    caplog.set_level(logging.DEBUG, logger="nova_sim.rpc.server")
    with instrumented(Finished()):
        with pytest.raises(KeyError) as found:
            client.call({}, "find", key="flavor-9")
        with pytest.raises(ValueError) as saved:
            client.call({}, "save")
        assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG]
        assert all(r.exc_info is None for r in caplog.records)
        assert "Expected exception during message handling (find" in caplog.text
        with pytest.raises(ZeroDivisionError):
            client.call({}, "broken")  # not named: a fault of the server
    [fault] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "Exception during message handling (broken" in fault.getMessage()
    assert fault.exc_info[0] is ZeroDivisionError
    # the caller has the remote traceback; instruments see the error itself
    assert "Traceback" in str(found.value) and "in find" in str(found.value)
    assert "in save" in str(saved.value)
    assert finished == ["KeyError", "ValueError", "ZeroDivisionError"]
    # called directly, a marked method raises its own error
    with pytest.raises(KeyError):
        Answers().find({}, "flavor-9")


def test_deleting_a_queue_removes_its_bindings_and_only_them(vclock):
    broker = get_broker("bindings")
    broker.declare_exchange("nova", "topic")
    broker.declare_exchange("compute_fanout", "fanout")
    mine = broker.declare_queue("compute.host1")
    other = broker.declare_queue("compute.host2")
    broker.bind(mine, "nova", "compute.host1")
    broker.bind(mine, "nova", "compute")
    broker.bind(other, "nova", "compute")
    broker.bind(mine, "compute_fanout", "compute")
    broker.delete_queue("compute.host1")
    assert broker.exchanges["nova"][1] == {"compute": [other]}
    assert broker.exchanges["compute_fanout"][1] == {}
    assert broker.publish("nova", "compute.host1", {"method": "m"}) == 0
    assert broker.publish("nova", "compute", {"method": "m"}) == 1
    broker.delete_queue("compute.host1")  # again: nothing


def test_entity_hooks_are_skipped_only_where_they_change_nothing(vclock):
    from nova_sim import context as nova_context

    calls = []

    class Wrapping(nova_context.RequestContextSerializer):
        def serialize_entity(self, ctxt, entity):
            calls.append("out")
            return {"wrapped": entity}

        def deserialize_entity(self, ctxt, entity):
            calls.append("in")
            return entity["wrapped"] if isinstance(entity, dict) else entity

    class Counting(rpc.NoOpSerializer):
        def serialize_entity(self, ctxt, entity):
            calls.append("noop-out")
            return entity

    class Echo:
        def echo(self, ctxt, value):
            return value

    assert rpc.serializer.passes_entities(rpc.NoOpSerializer())
    assert rpc.serializer.passes_entities(nova_context.RequestContextSerializer())
    assert not rpc.serializer.passes_entities(Wrapping())
    assert not rpc.serializer.passes_entities(Counting())
    transport = rpc.get_transport("green://")
    for topic, serializer in (("wrap", Wrapping()), ("count", Counting())):
        rpc.RPCServer(transport, rpc.Target(topic=topic, server="h"), [Echo()],
                      serializer=serializer).start()
        client = rpc.RPCClient(transport, rpc.Target(topic=topic), serializer=serializer)
        assert client.call(nova_context.get_admin_context(), "echo", value=5) == 5
    # the argument out and in, the result out and in; then the no-op subclass's two outs
    assert calls == ["out", "in", "out", "in", "noop-out", "noop-out"]
