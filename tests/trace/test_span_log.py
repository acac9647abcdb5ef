"""The span log and span files: what is recorded comes back as span records, whatever
the attributes hold, across flushes, and from a file cut short."""

import datetime
import os

from nova_sim import green, trace
from nova_sim.trace import store
from nova_sim.trace.tracer import Tracer


def spans_of(records):
    return [r for r in records if r["type"] == "span"]


def test_unwritten_spans_are_in_records(tmp_path):
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("outer", request_id="req-x"):
                with trace.span("inner"):
                    pass
            names = [r["name"] for r in spans_of(tracer.records())]
            assert names == ["inner", "outer"]
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    written = spans_of(store.read_files([str(path)]))
    assert [r["name"] for r in written] == ["inner", "outer"]
    assert written[0]["request_id"] == "req-x"


def test_values_json_cannot_hold_come_back_as_json_gives_them(tmp_path):
    """Attributes and events may hold anything: the file gives back what a JSON line
    would (a datetime as its text, a tuple as a list), the same as the tracer's own
    records(), and the span keeps a status, an error and its events."""
    when = datetime.datetime(2026, 1, 1)
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("odd", request_id="req-o", when=when, pair=(1, "two"),
                            text='quote " é\n') as span:
                span.add_event("instance.state", {"vm_state": "active", "at": when})
                span.set_error(ValueError("bad\nthing"))
            from_memory = spans_of(tracer.records())
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    [odd] = spans_of(store.read_files([str(path)]))
    assert odd == from_memory[0]
    assert odd["attributes"] == {"request_id": "req-o", "when": str(when),
                                 "pair": [1, "two"], "text": 'quote " é\n'}
    assert (odd["status"], odd["error"]) == ("error", "ValueError: bad")
    [event] = odd["events"]
    assert event["name"] == "instance.state"
    assert event["attributes"] == {"vm_state": "active", "at": str(when)}


def test_a_span_open_across_flushes_gets_its_later_attributes(tmp_path):
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("long", request_id="req-l") as span:
                tracer.flush()  # the span's start is in the file, its end is not
                span.set_attribute("result", "done")
                trace.event("step", n=1)
            tracer.flush()
        finally:
            tracer.uninstall()
    [long] = spans_of(store.read_files([str(tmp_path)]))
    assert long["attributes"] == {"request_id": "req-l", "result": "done"}
    assert [e["name"] for e in long["events"]] == ["step"]


def test_a_file_cut_short_is_read_up_to_the_cut(tmp_path):
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("first", request_id="req-1"):
                pass
            tracer.flush()
            with trace.span("second", request_id="req-2"):
                pass
            with trace.span("third", request_id="req-3"):
                tracer.flush()  # its start is written now, its end at uninstall
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    assert [r["name"] for r in spans_of(store.read_files([str(path)]))] == [
        "first", "second", "third"]
    size = os.path.getsize(path)
    with open(path, "r+b") as stream:
        stream.truncate(size - 5)  # the last flush (the third span's end) is cut
    records = store.read_files([str(path)])
    assert records[0]["type"] == "process"
    assert [r["name"] for r in spans_of(records)] == ["first", "second"]


def test_rows_that_are_not_rows_are_skipped():
    rows = [("p", "t", "s1", None, "ok", "internal", "svc", "h", "gt1", 1, 1, None, None,
             {}, 2, 2, None, None), ("p", "too short"), 7, None, ("?",),
            ("s", 5, "gt1", "gt2")]
    span, switch = store.decode(rows)
    assert (span["name"], span["start"], span["end"], span["status"]) == ("ok", 1, 2, "ok")
    assert switch == {"type": "switch", "time": 5, "from": "gt1", "to": "gt2"}


def test_a_file_that_is_not_a_span_file_gives_nothing(tmp_path):
    path = tmp_path / "junk.spans"
    path.write_bytes(b"not marshal data at all")
    assert store.read_files([str(tmp_path)]) == []
