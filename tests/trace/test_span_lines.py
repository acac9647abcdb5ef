"""A span's line in a span file: the fast formatter gives the encoder's bytes."""

import datetime
import json

from nova_sim import green, trace
from nova_sim.trace import store
from nova_sim.trace.tracer import Span, Tracer, encode


def _span(**fields):
    tracer = Tracer(seed=1)
    values = dict(name="rpc.call ping", attributes={"method": "ping", "n": 1},
                  trace_id="a" * 32, span_id="b" * 16, parent_id=None, service="nova-api",
                  host="h1", greenthread="gt1", start=1_700_000_000_000_000_123)
    values.update(fields)
    span = Span(tracer, **values)
    span.end = span.start + 5
    return span


def test_to_line_is_the_encoded_row():
    spans = [
        _span(),
        _span(parent_id="c" * 16, request_id="req-1", global_request_id="req-g",
              attributes={}),
        _span(name='odd "name"\n\\ é', host="hôte", greenthread="main",
              attributes={"when": datetime.datetime(2026, 1, 1), "x": [1.5, None]}),
        _span(host=None),  # not a str: the encoder's path
        _span(request_id=7),
    ]
    spans[1].set_error(ValueError("bad\nthing"))
    spans[1].add_event("instance.state", {"vm_state": "active"}, when=3)
    for span in spans:
        assert span.to_line() == encode(span.to_row())
        json.loads(span.to_line())


def test_unwritten_spans_are_in_records(tmp_path):
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("outer", request_id="req-x"):
                with trace.span("inner"):
                    pass
            names = [r["name"] for r in tracer.records() if r["type"] == "span"]
            assert names == ["inner", "outer"]
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    written = [r for r in store.read_files([str(path)]) if r["type"] == "span"]
    assert [r["name"] for r in written] == ["inner", "outer"]
    assert written[0]["request_id"] == "req-x"
