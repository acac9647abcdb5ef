"""The dashboard's JSON endpoints, read through its WSGI application (no socket, no
browser) on a traced one-process cloud under the virtual clock that has booted a server."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import webob

from nova_sim import context as nova_context
from nova_sim import green, rpc, trace
from nova_sim.dashboard import Dashboard
from nova_sim.deploy import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.trace import cli

HOST = "127.0.0.1:8780"


@pytest.fixture
def booted(tmp_path):
    """(cloud, dashboard, request id of the boot, instance uuid): a traced cloud with
    two computes, its dashboard (not listening: its application is called directly)
    and a server booted by a user's request."""
    conf = new_conf()
    conf.set_override("enabled", True, group="trace")
    conf.set_override("output_dir", str(tmp_path / "traces"), group="trace")
    conf.set_override("spawn_latency", "fixed:2", group="fake_driver")
    with green.virtual_time(seed=7):
        cloud = Cloud(conf=conf, computes=2).start()
        dashboard = Dashboard(conf, cloud)
        rpc.add_instrument(dashboard.messages)
        try:
            ctxt = nova_context.RequestContext(user_id="u", project_id="p", overwrite=False)
            [instance] = cloud.api.create(ctxt, "2", CIRROS_IMAGE_ID, "web1")
            cloud.wait_for_instance(instance["uuid"], "active")
            yield cloud, dashboard, ctxt.request_id, instance["uuid"]
        finally:
            rpc.remove_instrument(dashboard.messages)
            cloud.stop()
            trace.get_tracer().uninstall()


def get(dashboard, path, **headers):
    headers.setdefault("Host", HOST)
    return webob.Request.blank(path, headers=headers).get_response(dashboard.app)


def get_json(dashboard, path):
    answer = get(dashboard, path)
    assert answer.status_code == 200, answer.body
    assert answer.content_type == "application/json"
    return json.loads(answer.body)


def test_overview_shows_services_hosts_and_the_active_instance(booted):
    cloud, dashboard, _request_id, uuid = booted
    data = get_json(dashboard, "/api/overview")
    services = {(s["binary"], s["host"]): s for s in data["services"]}
    assert set(services) == {("nova-conductor", "nova-sim"), ("nova-scheduler", "nova-sim"),
                             ("nova-compute", "compute1"), ("nova-compute", "compute2")}
    assert all(s["state"] == "up" and not s["forced_down"] for s in services.values())
    assert all(0 <= s["heartbeat_age"] <= cloud.conf.service_down_time
               for s in services.values())
    hosts = {h["host"]: h for h in data["hosts"]}
    [latest] = data["instances"]["latest"]
    assert latest["uuid"] == uuid and latest["vm_state"] == "active"
    assert hosts[latest["host"]]["vcpus_used"] == 1  # flavor 2: one vCPU
    assert data["instances"]["by_state"] == [
        {"vm_state": "active", "task_state": "-", "count": 1}]


def test_overview_shows_a_service_forced_down(booted):
    cloud, dashboard, _request_id, _uuid = booted
    ctxt = cloud.admin_context()
    [row] = cloud.api.service_list(ctxt, binary="nova-compute", host="compute2")
    cloud.api.service_update(ctxt, row["id"], {"forced_down": True})
    services = {s["host"]: s for s in get_json(dashboard, "/api/overview")["services"]
                if s["binary"] == "nova-compute"}
    assert services["compute2"]["forced_down"] and services["compute2"]["state"] == "down"
    assert services["compute1"]["state"] == "up"


def test_messages_are_the_boots_rpc_between_services(booted):
    _cloud, dashboard, request_id, _uuid = booted
    data = get_json(dashboard, f"/api/messages?request_id={request_id}")
    seen = [(m["kind"], m["method"], m["source"], m["target"]) for m in data["messages"]]
    assert ("cast", "schedule_and_build_instances", "nova-api", "nova-conductor") in seen
    assert ("call", "select_destinations", "nova-conductor", "nova-scheduler") in seen
    assert ("reply", "select_destinations", "nova-scheduler", "nova-conductor") in seen
    casts = [m for m in data["messages"] if m["method"] == "build_and_run_instance"]
    assert [m["kind"] for m in casts] == ["cast"]
    assert casts[0]["target"].startswith("nova-compute@compute")
    assert all(m["request_id"] == request_id for m in data["messages"])
    call = next(m for m in data["messages"] if m["kind"] == "call")
    reply = next(m for m in data["messages"] if m["kind"] == "reply")
    assert call["latency"] == reply["latency"] and call["latency"] >= 0
    assert reply["seq"] > call["seq"] and call["size"] > 100
    everything = get_json(dashboard, "/api/messages")
    assert everything["last"] == everything["messages"][-1]["seq"]
    later = get_json(dashboard, f"/api/messages?since={everything['last']}")
    assert later["messages"] == []


def test_greenthreads_say_how_they_started_and_what_they_wait_on(booted):
    cloud, dashboard, _request_id, _uuid = booted
    event = green.Event()
    queue = green.Queue()

    def waits_for_event():
        event.wait()

    def waits_for_queue():
        queue.get()

    with trace.service_scope("nova-compute", "compute1"):
        waiter = green.spawn(waits_for_event)
    green.spawn_n(waits_for_queue)
    later = green.spawn_after(30, waits_for_event)
    green.sleep(0)
    data = get_json(dashboard, "/api/greenthreads")
    threads = {t["name"]: t for t in data["greenthreads"]}
    by_event = threads[waits_for_event.__qualname__]
    assert (by_event["origin"], by_event["state"], by_event["blocked_on"],
            by_event["service"]) == ("spawn", "blocked", "event", "nova-compute@compute1")
    line = waits_for_event.__code__.co_firstlineno + 1
    assert by_event["where"].endswith(f"waits_for_event:{line}")
    by_queue = threads[waits_for_queue.__qualname__]
    assert (by_queue["origin"], by_queue["blocked_on"]) == ("spawn_n", "queue")
    assert by_queue["detail"].startswith("Queue.get at ")
    scheduled = {s["name"]: s for s in data["scheduled"]}
    assert scheduled[waits_for_event.__qualname__]["origin"] == "spawn_after"
    assert 0 < scheduled[waits_for_event.__qualname__]["starts_in"] <= 30
    assert any(s["origin"] == "periodic" for s in data["scheduled"])
    pools = {p["name"]: p for p in data["pools"]}
    executor = pools["nova-compute@compute1: RPC executor"]
    assert executor["size"] == cloud.conf.executor_thread_pool_size
    assert executor["free"] == executor["size"] - executor["running"]
    later.cancel()
    queue.put(None)
    event.send(None)
    waiter.wait()


def test_a_sleeping_greenthread_says_when_it_wakes(booted):
    _cloud, dashboard, _request_id, _uuid = booted

    def naps():
        green.sleep(12)

    napper = green.spawn(naps)
    green.sleep(0)
    [thread] = [t for t in get_json(dashboard, "/api/greenthreads")["greenthreads"]
                if t["name"] == naps.__qualname__]
    assert thread["state"] == "sleeping" and thread["wakes_in"] == 12
    napper.kill()


def test_requests_list_the_boot_and_show_its_spans_as_trace_show_does(booted, capsys):
    cloud, dashboard, request_id, uuid = booted
    listed = get_json(dashboard, "/api/requests")
    assert listed["traced"] is True
    assert request_id in [r["request_id"] for r in listed["requests"]]
    data = get_json(dashboard, f"/api/requests/{request_id}")
    names = {s["name"]: s for s in data["spans"]}
    cast = names["rpc.cast build_and_run_instance"]
    server = names["rpc.server build_and_run_instance"]
    assert {"from": cast["span_id"], "to": server["span_id"]} in data["arrows"]
    assert server["service"] == "nova-compute" and cast["service"] == "nova-conductor"
    assert data["start"] <= min(s["start"] for s in data["spans"])
    assert cli.main(["show", request_id], cloud.conf) == 0
    assert capsys.readouterr().out.startswith(data["text"])
    [action] = data["actions"]
    assert action["instance_uuid"] == uuid and action["action"] == "create"
    assert "compute__do_build_and_run_instance" in [e["event"] for e in action["events"]]


def test_an_unknown_request_is_404(booted):
    _cloud, dashboard, _request_id, _uuid = booted
    assert get(dashboard, "/api/requests/req-unknown").status_code == 404


@pytest.mark.parametrize("page", ["overview", "messages", "greenthreads", "requests",
                                  "simulation"])
def test_pages_and_their_scripts_are_served(booted, page):
    _cloud, dashboard, _request_id, _uuid = booted
    answer = get(dashboard, f"/{page}")
    assert answer.status_code == 200 and answer.content_type == "text/html"
    assert f'src="static/{page}.js"' in answer.text
    script = get(dashboard, f"/static/{page}.js")
    assert script.status_code == 200 and "javascript" in script.content_type


def test_only_get_from_this_origin(booted):
    _cloud, dashboard, _request_id, _uuid = booted
    for method in ("POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        answer = webob.Request.blank("/api/overview", method=method,
                                     headers={"Host": HOST}).get_response(dashboard.app)
        assert answer.status_code == 405 and answer.headers["Allow"] == "GET"
    assert get(dashboard, "/api/overview", Host="evil.example:8780").status_code == 403
    assert get(dashboard, "/api/overview", **{"Sec-Fetch-Site": "cross-site"}
               ).status_code == 403
    answer = get(dashboard, "/api/overview", Origin="http://evil.example")
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.lower().startswith("access-control")]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert get(dashboard, "/static/../app.py").status_code == 404
    assert get(dashboard, "/").headers["Location"] == "/overview"


def test_message_sizes_are_the_json_of_the_message():
    from nova_sim.dashboard.messages import MessageLog
    from nova_sim.rpc.target import Target

    log = MessageLog(keep=3)
    message = {"method": "ping", "args": {"n": 1}, "_unique_id": "u1",
               "_context_request_id": "req-1"}
    with contextlib.redirect_stdout(io.StringIO()):
        for _ in range(5):
            log.message_sent("cast", Target(topic="compute", server="c1"), message)
    assert [r["seq"] for r in log.since()] == [3, 4, 5] and log.total == 5
    record = log.since()[-1]
    assert record["size"] == len(json.dumps(message))
    assert record["target"] == "nova-compute@c1" and record["source"] == "nova-api"
    log.message_sent("fanout", Target(topic="compute", fanout=True), message)
    assert log.since(5)[0]["target"] == "nova-compute@*"


def test_rates_count_the_apis_requests_and_the_messages():
    import types

    from nova_sim.dashboard.sources import Sources

    api_server = types.SimpleNamespace(requests=0)
    own = types.SimpleNamespace(requests=0)
    messages = types.SimpleNamespace(total=0)
    sources = Sources(None, None, messages, servers=[("nova-api", api_server),
                                                     ("dashboard", own)])
    assert sources.rates() == {"messages_per_s": None, "requests_per_s": None}
    with green.virtual_time():
        sources._clock = green.now
        sources.sample()
        green.sleep(2)
        api_server.requests, own.requests, messages.total = 10, 500, 30
        sources.sample()
    assert sources.rates() == {"messages_per_s": 15.0, "requests_per_s": 5.0}


def test_an_rpc_dispatch_names_its_server_and_method(booted):
    from nova_sim.rpc.client import RPCClient
    from nova_sim.rpc.server import RPCServer
    from nova_sim.rpc.target import Target

    cloud, dashboard, _request_id, _uuid = booted
    release = green.Event()

    class Endpoint:
        def hold(self, ctxt):
            release.wait()

    target = Target(topic="demo", server="h1")
    server = RPCServer(cloud.transport, target, [Endpoint()])
    server.start()
    try:
        RPCClient(cloud.transport, target).cast(cloud.admin_context(), "hold")
        green.sleep(0)
        [dispatch] = [t for t in get_json(dashboard, "/api/greenthreads")["greenthreads"]
                      if t["origin"] == "rpc dispatch"]
        assert dispatch["name"] == "RPC server demo.h1" and dispatch["method"] == "hold"
        assert dispatch["blocked_on"] == "event" and dispatch["where"].split(":")[0].endswith(
            "hold")
        assert dispatch["pool"] is None  # a pool of no service the dashboard knows
    finally:
        release.send(None)
        server.stop()
        server.wait()
