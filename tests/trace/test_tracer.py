"""The tracer on synthetic spans: parents across spawn / spawn_n / spawn_after / pools,
greenthread names, service scopes, request ids, events, errors, ids, tracing off."""

from __future__ import annotations

import pytest

from nova_sim import green, trace
from nova_sim.trace.model import TraceSet
from nova_sim.trace.tracer import Tracer, current_span


@pytest.fixture
def tracer():
    with green.virtual_time(seed=3):
        tracer = Tracer(service="nova-test", host="h1", seed=3).install()
        try:
            yield tracer
        finally:
            tracer.uninstall()


def spans(tracer):
    return TraceSet(tracer.records())


def by_name(traces, name):
    [span] = [s for s in traces.spans if s["name"] == name]
    return span


def test_tracing_off_returns_the_shared_null_span():
    assert trace.get_tracer() is None
    span = trace.span("compute.build", instance_uuid="u")
    assert span is trace.NULL_SPAN
    with span as entered:
        entered.set_attribute("ignored", 1)
    assert trace.event("instance.state", vm_state="active") is None


def test_nested_spans_record_parent_order_times_and_attributes(tracer):
    with trace.span("outer", method="boot") as outer:
        assert current_span() is outer
        green.sleep(2)
        with trace.span("inner", instance_uuid="u1"):
            green.sleep(1)
        outer.set_attribute("result", "ok")
    assert current_span() is None
    traces = spans(tracer)
    outer, inner = by_name(traces, "outer"), by_name(traces, "inner")
    assert inner["parent_id"] == outer["span_id"] and outer["parent_id"] is None
    assert inner["trace_id"] == outer["trace_id"]
    assert outer["end"] - outer["start"] == 3_000_000_000
    assert inner["start"] - outer["start"] == 2_000_000_000
    assert outer["start"] == 1767225600 * 10**9  # the virtual clock's epoch
    assert outer["attributes"] == {"method": "boot", "result": "ok"}
    assert (outer["service"], outer["host"], outer["greenthread"]) == (
        "nova-test", "h1", "main")
    assert len(outer["span_id"]) == 16 and len(outer["trace_id"]) == 32


def test_context_follows_spawn_spawn_n_spawn_after_and_pools(tracer):
    done = green.Event()
    seen = []

    def child(label):
        with trace.span(f"child.{label}"):
            green.sleep(0)
        seen.append(label)
        if len(seen) == 5:
            done.send(True)

    with trace.span("parent"):
        green.spawn(child, "spawn")
        green.spawn_n(child, "spawn_n")
        green.spawn_after(1, child, "spawn_after")
        pool = green.GreenPool(2)
        pool.spawn(child, "pool_spawn")
        pool.spawn_n(child, "pool_spawn_n")
    done.wait()
    traces = spans(tracer)
    parent = by_name(traces, "parent")
    children = [s for s in traces.spans if s["name"].startswith("child.")]
    assert len(children) == 5
    assert all(c["parent_id"] == parent["span_id"] for c in children)
    threads = {c["greenthread"] for c in children}
    assert len(threads) == 5 and "main" not in threads  # one name per greenthread
    assert by_name(traces, "child.spawn_after")["start"] - parent["start"] == 10**9


def test_recycled_runners_get_a_new_name_per_spawn_n_job(tracer):
    done = green.Event()
    names = []

    def job(number):
        with trace.span(f"job{number}"):
            pass
        names.append(number)
        if len(names) == 3:
            done.send(True)

    for number in range(3):  # sequential jobs reuse one parked runner
        green.spawn_n(job, number)
        green.sleep(0.1)
    done.wait()
    traces = spans(tracer)
    assert len({by_name(traces, f"job{n}")["greenthread"] for n in range(3)}) == 3


def test_greenthread_names_go_into_the_handle(tracer):
    def work():
        with trace.span("named"):
            pass

    gt = green.spawn(work)
    gt.wait()
    assert by_name(spans(tracer), "named")["greenthread"] == gt.name


def test_service_scope_and_entry_spans_choose_the_service(tracer):
    seen = green.Event()

    def periodic():
        with trace.span("periodic.task"):
            pass
        seen.send(True)

    with trace.service_scope("nova-compute", "c7"):
        green.spawn_after(5, periodic)  # a timer armed at start-up keeps the scope
        with trace.span("compute.init_host"):
            pass
    with trace.span("wsgi.request", method="GET", path="/", request_id="req-1"):
        with trace.span("nested"):
            pass
    with trace.span("plain"):
        pass
    seen.wait()
    traces = spans(tracer)

    def where(name):
        span = by_name(traces, name)
        return span["service"], span["host"]

    assert where("compute.init_host") == ("nova-compute", "c7")
    assert where("periodic.task") == ("nova-compute", "c7")
    assert where("wsgi.request") == ("nova-api", "h1")
    assert where("nested") == ("nova-api", "h1")  # the entry span's scope is inherited
    assert where("plain") == ("nova-test", "h1")  # and restored after it
    assert by_name(traces, "nested")["request_id"] == "req-1"


def test_request_id_from_the_context_getter():
    class Context:
        request_id = "req-abc"
        global_request_id = "req-global"

    with green.virtual_time(seed=1):
        tracer = Tracer(seed=1, context_getter=lambda: Context).install()
        try:
            with trace.span("root"):
                with trace.span("child"):
                    pass
        finally:
            tracer.uninstall()
    traces = spans(tracer)
    assert {(s["request_id"], s["global_request_id"]) for s in traces.spans} == {
        ("req-abc", "req-global")}


def test_events_errors_and_orphan_events(tracer):
    trace.event("instance.state", vm_state="building")  # outside any span
    with pytest.raises(ValueError):
        with trace.span("failing"):
            trace.event("instance.state", vm_state="error", task_state=None)
            raise ValueError("no valid host\nsecond line")
    traces = spans(tracer)
    failing = by_name(traces, "failing")
    assert failing["status"] == "error" and failing["error"] == "ValueError: no valid host"
    [event] = failing["events"]
    assert event["name"] == "instance.state"
    assert event["attributes"] == {"vm_state": "error", "task_state": None}
    orphan = by_name(traces, "instance.state")
    assert orphan["kind"] == "event" and orphan["start"] == orphan["end"]
    assert current_span() is None


def test_killed_greenthread_ends_its_span_with_the_error(tracer):
    def sleeper():
        with trace.span("sleeping"):
            green.sleep(100)

    gt = green.spawn(sleeper)
    green.sleep(1)
    gt.kill()
    span = by_name(spans(tracer), "sleeping")
    assert span["status"] == "error" and span["error"] == "GreenletExit"
    assert span["end"] - span["start"] == 10**9


def test_seeded_ids_repeat_and_differ_by_seed_and_service():
    def run(seed, service="s"):
        with green.virtual_time(seed=seed):
            tracer = Tracer(service=service, seed=seed).install()
            try:
                with trace.span("a"):
                    with trace.span("b"):
                        pass
            finally:
                tracer.uninstall()
        return [(s["trace_id"], s["span_id"]) for s in spans(tracer).spans]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert run(1, "x") != run(1, "y")


def test_tracing_does_not_draw_from_the_hubs_random_generator():
    def draws(traced):
        with green.virtual_time(seed=9) as hub:
            tracer = Tracer(seed=9).install() if traced else None
            try:
                with trace.span("a"):
                    green.spawn(lambda: None).wait()
            finally:
                if tracer:
                    tracer.uninstall()
            return hub.random.random()

    assert draws(True) == draws(False)


def test_flush_appends_to_the_span_file(tmp_path):
    with green.virtual_time(seed=4):
        tracer = Tracer(service="nova-conductor", host="c", seed=4,
                        output_dir=str(tmp_path), flush_every=2).install()
        try:
            for number in range(3):
                with trace.span(f"s{number}"):
                    pass
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    assert path.name.startswith("nova-conductor-c-") and path.suffix == ".spans"
    from nova_sim.trace import store

    records = store.read_files([str(path)])
    assert records[0]["type"] == "process" and records[0]["service"] == "nova-conductor"
    assert [r["name"] for r in records[1:]] == ["s0", "s1", "s2"]


def test_switch_recording_names_both_sides():
    with green.virtual_time(seed=5):
        tracer = Tracer(seed=5, record_switches=True).install()
        try:
            with trace.span("main-work"):
                green.spawn(green.sleep, 0).wait()
        finally:
            tracer.uninstall()
    switches = spans(tracer).switches
    assert switches
    pairs = {(s["from"], s["to"]) for s in switches}
    assert ("main", "hub") in pairs
    assert any(a == "hub" and b.startswith("gt") for a, b in pairs)


def test_switch_records_name_a_greenthread_as_its_spans_do():
    """A run of a greenthread is named as it leaves the CPU, so the first run of a
    GreenThread (started on a runner before the runner knows it) and its last (after it
    ended) carry the name its spans carry."""
    with green.virtual_time(seed=6):
        tracer = Tracer(seed=6, record_switches=True).install()
        try:
            def work():
                with trace.span("worker"):
                    green.sleep(1)

            green.spawn(work).wait()
        finally:
            tracer.uninstall()
    traces = spans(tracer)
    worker = by_name(traces, "worker")["greenthread"]
    left = [s["from"] for s in traces.switches]
    assert left.count(worker) == 2  # before its sleep, and after it ended
    assert all(name in ("main", "hub", worker) for name in left)
