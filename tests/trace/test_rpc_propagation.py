"""Trace propagation over RPC: sender and receiver spans, parents across the wire,
request ids from the context, failures and timeouts; in one process on green:// and
across a process boundary over RabbitMQ."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from nova_sim import green, rpc, trace
from nova_sim.context import RequestContext, RequestContextSerializer
from nova_sim.trace import store
from nova_sim.trace.model import TraceSet
from nova_sim.trace.rpc import TRACE_KEY
from nova_sim.trace.tracer import Tracer


class Endpoint:
    def __init__(self):
        self.contexts = []

    def ping(self, ctxt, arg):
        self.contexts.append(ctxt)
        with trace.span("endpoint.ping", arg=arg):
            return {"pong": arg}

    def note(self, ctxt, what):
        self.contexts.append(ctxt)
        with trace.span("endpoint.note"):
            pass

    def boom(self, ctxt):
        raise ValueError("simulated failure")

    def slow(self, ctxt):
        green.sleep(30)


@pytest.fixture
def traced():
    with green.virtual_time(seed=5):
        tracer = Tracer(service="nova-sim", host="h", seed=5).install()
        try:
            yield tracer
        finally:
            tracer.uninstall()


def start_server(transport, endpoint, topic="compute", server="host1"):
    rpc_server = rpc.RPCServer(transport, rpc.Target(topic=topic, server=server), [endpoint],
                               serializer=RequestContextSerializer())
    rpc_server.start()
    return rpc_server


def client(transport, topic="compute", server="host1", timeout=None):
    return rpc.RPCClient(transport, rpc.Target(topic=topic, server=server),
                         timeout=timeout, serializer=RequestContextSerializer())


def named(traces, name):
    return [s for s in traces.spans if s["name"] == name]


def test_call_makes_a_client_and_a_server_span_linked_across_the_wire(traced):
    transport = rpc.get_transport("green://")
    endpoint = Endpoint()
    start_server(transport, endpoint)
    ctxt = RequestContext(user_id="u", project_id="p", overwrite=False)
    with trace.span("caller"):
        assert client(transport).call(ctxt, "ping", arg=1) == {"pong": 1}
    traces = TraceSet(traced.records())
    [caller] = named(traces, "caller")
    [call] = named(traces, "rpc.call ping")
    [server] = named(traces, "rpc.server ping")
    [work] = named(traces, "endpoint.ping")
    assert call["parent_id"] == caller["span_id"] and call["kind"] == "client"
    assert server["parent_id"] == call["span_id"] and server["kind"] == "server"
    assert work["parent_id"] == server["span_id"]
    assert len({s["trace_id"] for s in (caller, call, server, work)}) == 1
    assert (server["service"], server["host"]) == ("nova-compute", "host1")
    assert work["service"] == "nova-compute"  # the dispatch's scope covers the endpoint
    assert server["greenthread"] != call["greenthread"]
    assert call["request_id"] == server["request_id"] == work["request_id"] == \
        ctxt.request_id
    assert call["attributes"]["method"] == "ping" and call["attributes"]["topic"] == "compute"
    assert call["end"] >= server["end"]
    # the receiver's context carries the trace info on, like OSProfiler's trace_info
    assert endpoint.contexts[0].extra[TRACE_KEY[len("_context_"):]] == {
        "hmac_key": None, "base_id": call["trace_id"], "parent_id": call["span_id"]}


def test_cast_span_ends_at_once_and_parents_the_receiver(traced):
    transport = rpc.get_transport("green://")
    start_server(transport, Endpoint())
    ctxt = RequestContext(overwrite=False)
    client(transport).cast(ctxt, "note", what="x")
    green.sleep(0.1)
    traces = TraceSet(traced.records())
    [cast] = named(traces, "rpc.cast note")
    [server] = named(traces, "rpc.server note")
    assert cast["kind"] == "producer" and cast["start"] == cast["end"]
    assert server["kind"] == "consumer" and server["parent_id"] == cast["span_id"]
    assert server["request_id"] == ctxt.request_id
    assert named(traces, "endpoint.note")[0]["parent_id"] == server["span_id"]


def test_remote_failure_and_timeout_mark_the_spans(traced):
    transport = rpc.get_transport("green://")
    start_server(transport, Endpoint())
    ctxt = RequestContext(overwrite=False)
    with pytest.raises(ValueError):
        client(transport).call(ctxt, "boom")
    with pytest.raises(rpc.MessagingTimeout):
        client(transport, timeout=5).call(ctxt, "slow")
    traces = TraceSet(traced.records())
    [boom_call] = named(traces, "rpc.call boom")
    [boom_server] = named(traces, "rpc.server boom")
    assert boom_server["status"] == "error"
    assert boom_server["error"] == "ValueError: simulated failure"
    assert boom_call["status"] == "error" and boom_call["error"].startswith("ValueError")
    [slow_call] = named(traces, "rpc.call slow")
    assert slow_call["error"] == "MessagingTimeout"
    assert slow_call["end"] - slow_call["start"] == 5 * 10**9


def test_a_message_without_trace_info_still_gives_the_receiver_its_request_id(traced):
    class Untraced:  # what a peer that does not trace sends: no trace info
        def message_sent(self, kind, target, message):
            message.pop(TRACE_KEY, None)

    transport = rpc.get_transport("green://")
    start_server(transport, Endpoint())
    stripper = Untraced()
    rpc.add_instrument(stripper)
    try:
        ctxt = RequestContext(overwrite=False)
        client(transport).call(ctxt, "ping", arg=2)
    finally:
        rpc.remove_instrument(stripper)
    traces = TraceSet(traced.records())
    [call] = named(traces, "rpc.call ping")
    [server] = named(traces, "rpc.server ping")
    assert server["parent_id"] is None and server["trace_id"] != call["trace_id"]
    assert server["request_id"] == ctxt.request_id
    # the request id still groups both sides of the call
    assert {s["name"] for s in traces.select(request_id=ctxt.request_id).spans} == {
        "rpc.call ping", "rpc.server ping", "endpoint.ping"}


SERVER_PROCESS = textwrap.dedent("""
    import sys
    from nova_sim import green, rpc, trace
    from nova_sim.context import RequestContext, RequestContextSerializer
    from nova_sim.trace.tracer import Tracer

    url, topic, out_dir = sys.argv[1:4]
    tracer = Tracer(service="nova-conductor", host="far", output_dir=out_dir).install()

    class Endpoint:
        def ping(self, ctxt, arg):
            with trace.span("conductor.ping", arg=arg):
                return {"pong": arg, "request_id": ctxt.request_id}

    done = green.Event()

    class Control:
        def stop(self, ctxt):
            green.spawn_after(0.2, done.send, True)
            return True

    transport = rpc.get_transport(url)
    server = rpc.RPCServer(transport, rpc.Target(topic=topic, server="far"),
                           [Endpoint(), Control()], serializer=RequestContextSerializer())
    server.start()
    # a call to ourselves: once it is answered, our queues are bound to the exchange
    warm = rpc.RPCClient(transport, rpc.Target(topic=topic, server="far"), timeout=30,
                         serializer=RequestContextSerializer())
    warm.call(RequestContext(overwrite=False), "ping", arg=0)
    print("ready", flush=True)
    done.wait()
    server.stop()
    tracer.uninstall()
    transport.cleanup()
    print("stopped", flush=True)
""")


def delete_queues(rabbit_url, names):
    """Remove the queues a test made on the broker (best effort)."""
    import kombu

    with kombu.Connection(rabbit_url.replace("rabbit://", "amqp://", 1)) as connection:
        for name in names:
            try:
                connection.channel().queue_delete(name)
            except Exception:  # noqa: BLE001 - already gone
                pass


@pytest.mark.slow  # a server process
def test_request_id_and_parent_cross_a_process_boundary_over_rabbitmq(rabbit_url, tmp_path):
    topic = f"trace-test-{os.getpid()}"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER_PROCESS, rabbit_url, topic, str(tmp_path / "far")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        tracer = Tracer(service="nova-compute", host="near",
                        output_dir=str(tmp_path / "near")).install()
        transport = rpc.get_transport(rabbit_url)
        try:
            ctxt = RequestContext(user_id="u", project_id="p", overwrite=False)
            with trace.span("compute.work"):
                reply = client(transport, topic=topic, server="far", timeout=30).call(
                    ctxt, "ping", arg=7)
            assert reply == {"pong": 7, "request_id": ctxt.request_id}
            # a call, not a cast: its reply proves the request left our buffered socket
            # before this greenthread blocks the hub in process.wait()
            assert client(transport, topic=topic, server="far", timeout=30).call(
                RequestContext(overwrite=False), "stop") is True
        finally:
            tracer.uninstall()
        assert process.wait(timeout=30) == 0, process.stderr.read()
        transport.cleanup()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        delete_queues(rabbit_url, [topic, f"{topic}.far"])
    merged = tmp_path / "merged.jsonl"
    from nova_sim.trace import cli

    assert cli.main(["merge", str(tmp_path / "near"), str(tmp_path / "far"),
                     "-o", str(merged)]) == 0
    records = store.read_files([str(merged)])
    assert {r["service"] for r in records if r["type"] == "process"} == {
        "nova-compute", "nova-conductor"}
    traces = TraceSet(records).select(request_id=ctxt.request_id)
    outline = ["  " * traces.depth(s) + f"{s['service']}@{s['host']} {s['name']}"
               for s in traces.spans]
    assert outline == [
        "nova-compute@near compute.work",
        "  nova-compute@near rpc.call ping",
        "    nova-conductor@far rpc.server ping",
        "      nova-conductor@far conductor.ping",
    ]
    [server] = [s for s in traces.spans if s["name"] == "rpc.server ping"]
    assert server["request_id"] == ctxt.request_id
    # the real clock of two processes: the receiver starts after the sender
    [call] = [s for s in traces.spans if s["name"] == "rpc.call ping"]
    assert call["start"] <= server["start"] <= server["end"] <= call["end"] + 10**9
    document = json.loads(cli.render(traces, "perfetto"))
    flows = [e for e in document["traceEvents"] if e["ph"] in ("s", "f")]
    assert sorted(e["ph"] for e in flows) == ["f", "s"]


def rpc_spans(tracer):
    return [r for r in tracer.records() if r["type"] == "span" and r["name"].startswith("rpc.")]


def test_rpc_span_attributes_are_their_own_and_stay_editable(traced):
    """RPC spans copy their attributes from a template made once per method: each span
    gets the message's msg_id, and a change to one span's attributes touches no other."""
    transport = rpc.get_transport("green://")
    start_server(transport, Endpoint())
    ctxt = RequestContext(overwrite=False)
    caller = rpc.RPCClient(transport, rpc.Target(topic="compute", version="1.0"),
                           serializer=RequestContextSerializer())
    caller.prepare(server="host1").call(ctxt, "ping", arg='quote " and \\ and é')
    with trace.span("outer") as outer:
        caller.prepare(server="host1").call(ctxt, "ping", arg=2)
        outer.set_attribute("after", "the call")
    caller.cast(ctxt, "note", what="x")
    caller.prepare(fanout=True).cast(ctxt, "note", what="y")
    green.sleep(0.1)
    spans = rpc_spans(traced)
    assert sorted(span["name"] for span in spans) == [
        "rpc.call ping", "rpc.call ping", "rpc.cast note", "rpc.fanout note",
        "rpc.server note", "rpc.server note", "rpc.server ping", "rpc.server ping"]
    first, second = [span for span in spans if span["name"] == "rpc.call ping"]
    assert list(first["attributes"]) == ["method", "topic", "server", "version", "kind",
                                         "msg_id"]
    assert first["attributes"]["msg_id"] != second["attributes"]["msg_id"]
    assert {span["attributes"]["kind"] for span in spans
            if not span["name"].startswith("rpc.server")} == {"call", "cast", "fanout"}
    [outer] = [r for r in traced.records() if r.get("name") == "outer"]
    assert outer["attributes"] == {"after": "the call"}
    assert all("after" not in span["attributes"] for span in spans)


def test_rpc_hooks_are_called_directly_and_their_failures_do_not_break_the_call(traced):
    from nova_sim.rpc.instruments import hooks

    # the tracer's hooks catch their own errors: the RPC layer calls them unwrapped
    assert hooks.message_sent == traced._rpc_instrument.message_sent
    transport = rpc.get_transport("green://")
    start_server(transport, Endpoint())
    ctxt = RequestContext(overwrite=False)
    calls = traced._calls
    traced._calls = None  # the tracer now fails in message_sent for calls
    try:
        assert client(transport).call(ctxt, "ping", arg=1) == {"pong": 1}
    finally:
        traced._calls = calls
    assert client(transport).call(ctxt, "ping", arg=2) == {"pong": 2}


def test_odd_messages_still_give_spans(traced):
    """A method that cannot be a dict key, a msg_id that is not a str: the spans are
    made anyway, with what the message said."""
    from nova_sim.trace.rpc import RPCInstrument

    instrument = RPCInstrument(traced)
    target = rpc.Target(topic="compute", server="h1")
    odd = [{"method": ["not", "a", "name"], "_msg_id": "m1", "_reply_q": "r"},
           {"method": "ping", "_msg_id": 7, "_reply_q": "r", "version": "1.0"},
           {"method": "ping", "namespace": "ns"}]
    for message in odd:
        kind = "call" if "_reply_q" in message else "cast"
        instrument.message_sent(kind, target, message)
        instrument.dispatch_started(target, message, None)
        instrument.dispatch_finished(target, message, None, None, None)
        instrument.reply_received(target, message, {"result": None, "failure": None})
    spans = rpc_spans(traced)
    assert len(spans) == 6
    assert [span["attributes"]["method"] for span in spans] == [
        ["not", "a", "name"], ["not", "a", "name"], "ping", "ping", "ping", "ping"]
    assert spans[2]["attributes"]["msg_id"] == 7
    assert spans[-1]["attributes"] == {"method": "ping", "topic": "compute",
                                       "server": "h1", "namespace": "ns"}


def test_trace_info_that_cannot_be_an_id_is_dropped(traced):
    """A peer's trace info is taken only when it can be an id (letters, digits and
    dashes: hex ids, OSProfiler's UUIDs); anything else starts a trace of our own."""
    from nova_sim.trace.rpc import TRACE_KEY, RPCInstrument

    instrument = RPCInstrument(traced)
    target = rpc.Target(topic="compute", server="h1")
    uuid_info = {"base_id": "8d28af1e-acc0-498c-9890-6908e33eff5f",
                 "parent_id": "1b2c0e6a-57d4-4a2e-9b8f-0a4b9f7f0c11"}
    for info in (uuid_info, {"base_id": 'x", "y', "parent_id": "p\n"},
                 {"base_id": 7, "parent_id": ""}):
        message = {"method": "note", TRACE_KEY: info}
        instrument.dispatch_started(target, message, None)
        instrument.dispatch_finished(target, message, None, None, None)
    first, second, third = rpc_spans(traced)[-3:]
    assert (first["trace_id"], first["parent_id"]) == (uuid_info["base_id"],
                                                       uuid_info["parent_id"])
    for span in (second, third):
        assert span["parent_id"] is None and span["trace_id"].isalnum()


def test_a_hook_failure_is_logged_with_its_traceback_and_only_exceptions_are_kept(
        traced, caplog):
    """A hook's Exception is logged (and the RPC goes on); anything else (a greenthread
    being killed) goes through, as it would without tracing."""
    from nova_sim.trace.rpc import RPCInstrument

    instrument = RPCInstrument(traced)
    target = rpc.Target(topic="compute", server="h1")
    calls = traced._calls
    traced._calls = None
    try:
        with caplog.at_level(logging.ERROR, logger="nova_sim.trace.rpc"):
            instrument.message_sent("call", target,
                                    {"method": "ping", "_msg_id": "m1", "_reply_q": "r"})
    finally:
        traced._calls = calls
    [record] = [r for r in caplog.records if r.name == "nova_sim.trace.rpc"]
    assert record.getMessage() == "Tracing failed in message_sent"
    assert record.exc_info and record.exc_info[0] is TypeError

    class Stop(BaseException):
        pass

    class Unreadable:
        server = None

        @property
        def topic(self):
            raise Stop()

    for hook, args in (("message_sent", ("cast", Unreadable(), {"method": "ping"})),
                       ("dispatch_started", (Unreadable(), {"method": "ping"}, None))):
        with pytest.raises(Stop):
            getattr(instrument, hook)(*args)


def test_an_osprofiler_peer_continues_the_trace(traced):
    """What a Nova service with osprofiler does with the trace info of a message
    (``ProfilerRequestContextSerializer.deserialize_context``): ``profiler.init(
    **trace_info)``; it takes ours, and its own trace points land under our span."""
    from osprofiler import profiler

    from nova_sim.trace.rpc import RPCInstrument

    instrument = RPCInstrument(traced)
    message = {"method": "ping", "_context_request_id": "req-1"}
    instrument.message_sent("cast", rpc.Target(topic="compute", server="h1"), message)
    [sent] = rpc_spans(traced)
    context = {key[len("_context_"):]: value for key, value in message.items()
               if key.startswith("_context_")}
    try:
        peer = profiler.init(**context.pop("trace_info"))
        assert (peer.get_base_id(), peer.get_id()) == (sent["trace_id"], sent["span_id"])
    finally:
        profiler.clean()
