"""The tracer's two implementations of its hot path: C (``_speedups``) and Python.

``make test`` builds the C one (``pip install -e .``) and every other test in this
directory runs against it; ``test_the_python_reference_passes_every_trace_test`` runs
them all again on tracer.py's Python (``NOVA_SIM_PURE_PYTHON=1``), which among them
compares the seeded boot's exports with the shipped docs/trace-example files byte for
byte: the two implementations record the same spans.
"""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys

import pytest

from nova_sim import green
from nova_sim.trace import tracer as tracer_module
from nova_sim.trace.tracer import Span, Tracer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PURE = bool(os.environ.get("NOVA_SIM_PURE_PYTHON"))


def test_the_c_hot_path_is_built_and_used():
    """Fails where the extension did not build (no C compiler, no Python headers): the
    tracer then works, on its Python, but slower. Set NOVA_SIM_PURE_PYTHON=1 to accept
    that (this test then checks the switch works instead)."""
    if PURE:
        assert tracer_module.IMPLEMENTATION == "python"
        assert Span.__mro__[1] is tracer_module._PySpanBase
        return
    assert tracer_module._speedups is not None, (
        "nova_sim/trace/_speedups.c was not built: see the output of `pip install -e .`"
        " (set NOVA_SIM_PURE_PYTHON=1 to run on the Python reference)")
    assert tracer_module.IMPLEMENTATION == "c"
    assert Span.__mro__[1] is tracer_module._speedups.SpanBase
    assert Tracer.__mro__[1] is tracer_module._speedups.TracerBase


@pytest.mark.skipif(PURE, reason="this is the run on the Python reference")
def test_the_python_reference_passes_every_trace_test():
    this = f"{HERE}/test_speedups.py::test_the_python_reference_passes_every_trace_test"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", HERE,
         "--deselect", this],
        cwd=ROOT, env=dict(os.environ, NOVA_SIM_PURE_PYTHON="1"),
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.fixture
def tracer():
    tracer = Tracer(service="nova-test", host="h1", seed=3)
    yield tracer


def run_in_greenthread(func):
    return green.spawn(func).wait()


def test_a_span_records_its_row_and_its_end(tracer):
    def work():
        with tracer.start_span("outer", {"a": 1}) as outer:
            with tracer.span("inner", {"b": 2}) as inner:
                inner.set_attribute("c", 3)
            return outer, inner

    outer, inner = run_in_greenthread(work)
    rows = tracer._log
    assert [row[4] for row in rows] == ["inner", "outer"]
    assert inner.parent_id == outer.span_id and inner.trace_id == outer.trace_id
    assert inner.service == "nova-test" and inner.host == "h1"
    assert inner.attributes == {"b": 2, "c": 3}
    assert rows[0][:14] == inner.row and len(rows[0]) == 18
    start, seq, end, end_seq = rows[0][9], rows[0][10], rows[0][14], rows[0][15]
    assert end >= start and end_seq > seq
    assert rows[0][16:] == (None, None)
    assert tracer_module.current_span() is None


def test_an_escaping_error_is_recorded_and_propagates(tracer):
    def work():
        with tracer.start_span("outer", {}):
            with tracer.span("inner", {}):
                raise KeyError("gone")

    with pytest.raises(KeyError):
        run_in_greenthread(work)
    assert [(row[4], row[16]) for row in tracer._log] == [
        ("inner", "KeyError: 'gone'"), ("outer", "KeyError: 'gone'")]


def test_finish_at_a_given_end_and_with_events(tracer):
    span = tracer.start_span("alone", {}, parent=None)
    span.add_event("tick", {"n": 1}, when=5)
    tracer.finish(span, 7)
    row = tracer._log[-1]
    assert row[14] == 7 and row[17] == [(5, row[17][0][1], "tick", {"n": 1})]


def test_a_span_left_in_another_context_leaves_the_variable_alone(tracer):
    span = tracer.start_span("moved", {}, parent=None)
    contextvars.copy_context().run(span.__enter__)
    assert span.__exit__(None, None, None) is False  # reset fails quietly there
    assert tracer._log[-1][4] == "moved"


def test_leaving_a_span_never_entered_is_an_error(tracer):
    span = tracer.start_span("never", {}, parent=None)
    with pytest.raises(AttributeError):
        span.__exit__(None, None, None)


def test_rpc_span_scopes_and_bad_arguments(tracer):
    span = tracer.rpc_span("rpc.server x", {}, "server", None, "t" * 8, "p" * 4, "req-1",
                           None, ("nova-conductor", "c1"))
    assert (span.trace_id, span.parent_id, span.service, span.host, span.request_id) == (
        "t" * 8, "p" * 4, "nova-conductor", "c1", "req-1")
    child = tracer.rpc_span("rpc.call y", {}, "client", span, None, None, None, "g", None)
    assert (child.trace_id, child.parent_id, child.service, child.request_id,
            child.global_request_id) == ("t" * 8, span.span_id, "nova-conductor", "req-1", "g")
    fresh = tracer.rpc_span("rpc.cast z", {}, "producer", None, None, None, None, None, None)
    assert fresh.parent_id is None and len(fresh.trace_id) == 32
    assert fresh.service == "nova-test"
    with pytest.raises((TypeError, AttributeError)):  # C: TypeError; Python: no .row
        tracer.rpc_span("bad", {}, "client", object(), None, None, None, None, None)


def test_spans_follow_the_hub_they_start_on(tracer):
    """A new hub (virtual_time) is followed: its clock gives the span's times."""
    with green.virtual_time(seed=1):
        with tracer.start_span("virtual", {}, parent=None):
            green.sleep(2)
    row = tracer._log[-1]
    assert row[14] - row[9] == 2_000_000_000
