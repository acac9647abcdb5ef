"""The span log and span files: what is recorded comes back as span records, whatever
the attributes hold, across flushes, and from a file cut short."""

import datetime
import io
import json
import os
import time

import msgpack
import pytest

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


def _boot_like_spans(tmp_path):
    with green.virtual_time(seed=3):
        tracer = Tracer(service="nova-compute", host="c1", seed=3,
                        output_dir=str(tmp_path)).install()
        try:
            with trace.span("compute.build", request_id="req-b", instance_uuid="u1"):
                with trace.span("driver.spawn"):
                    green.sleep(2)
        finally:
            tracer.uninstall()
    [path] = tmp_path.iterdir()
    return path


def _check_records(records):
    assert records[0] == {"type": "header", "format": "nova-sim-trace", "version": 1}
    assert records[1]["type"] == "process" and records[1]["service"] == "nova-compute"
    spawn, build = [r for r in records if r["type"] == "span"]
    assert spawn["name"] == "driver.spawn" and build["name"] == "compute.build"
    assert spawn["parent_id"] == build["span_id"] and build["parent_id"] is None
    assert spawn["trace_id"] == build["trace_id"]
    assert spawn["end"] - spawn["start"] == 2 * 10**9
    assert (build["service"], build["host"], build["greenthread"]) == (
        "nova-compute", "c1", "main")
    assert build["request_id"] == spawn["request_id"] == "req-b"
    assert build["attributes"] == {"request_id": "req-b", "instance_uuid": "u1"}
    assert build["status"] == "ok" and build["events"] == []
    assert build["seq"] < spawn["seq"] < spawn["end_seq"] < build["end_seq"]


def test_a_process_span_file_is_msgpack_with_a_header_and_named_fields(tmp_path):
    """What a process writes, msgpack's own reader reads: the header naming the format
    and its version, the process record, then one map per span, its fields by name."""
    path = _boot_like_spans(tmp_path)
    _check_records(list(msgpack.Unpacker(io.BytesIO(path.read_bytes()), raw=False)))


def test_a_merged_span_file_is_json_lines_with_the_same_records(tmp_path):
    path = _boot_like_spans(tmp_path / "spans")
    merged = store.write(store.read_files([str(path)]), str(tmp_path / "merged.jsonl"))
    lines = [json.loads(line) for line in open(merged, encoding="ascii")]
    assert lines[0] == store.header_record()
    _check_records(lines)


@pytest.mark.parametrize("encoding", ["msgpack", "json lines"])
def test_junk_is_skipped_and_joined_files_stay_readable(tmp_path, encoding):
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path / "a")).install()
        try:
            with trace.span("one", request_id="req-1"):
                pass
        finally:
            tracer.uninstall()
    [path] = (tmp_path / "a").iterdir()
    if encoding == "json lines":
        path = store.write(store.read_files([str(path)]), str(tmp_path / "one.jsonl"))
        junk = b"not json\n[1, 2]\n\n"
    else:
        junk = msgpack.packb([1, 2]) + msgpack.packb("text")
    data = open(path, "rb").read()
    joined = tmp_path / "joined"  # as `cat a b > joined` makes it
    joined.write_bytes(data + junk + data)
    records = store.read_files([str(joined)])
    assert [r["type"] for r in records] == ["process", "span", "process", "span"]
    assert {r["name"] for r in records if r["type"] == "span"} == {"one"}


@pytest.mark.parametrize("header, message", [
    ({"type": "header", "format": "nova-sim-trace", "version": 2}, "version 2"),
    ({"type": "header", "format": "other-trace", "version": 1}, "not a nova-sim trace"),
])
def test_a_header_of_another_format_or_a_newer_version_is_refused(tmp_path, header,
                                                                     message):
    path = tmp_path / "future.spans"
    path.write_text(json.dumps(header) + "\n" + json.dumps(
        {"type": "span", "name": "x", "span_id": "1", "trace_id": "t"}) + "\n")
    with pytest.raises(store.FormatError, match=message):
        store.read_files([str(path)])


def test_a_file_that_is_not_a_span_file_gives_nothing(tmp_path):
    path = tmp_path / "junk.spans"
    path.write_bytes(b"\x80\x04not a span file at all\n")
    assert store.read_files([str(tmp_path)]) == []


def test_a_full_span_file_is_rotated(tmp_path):
    """With a cap, the span file is renamed .1.spans when it passes it (replacing the
    one before): the process keeps at most about twice the cap, the latest spans."""
    with green.virtual_time(seed=3):
        tracer = Tracer(seed=3, output_dir=str(tmp_path), max_file_bytes=2000).install()
        try:
            for number in range(40):
                with trace.span(f"s{number}", request_id=f"req-{number}"):
                    pass
                tracer.flush()
        finally:
            tracer.uninstall()
    files = sorted(path.name for path in tmp_path.iterdir())
    assert len(files) == 2 and files[0].endswith(".1.spans")
    assert all(path.stat().st_size < 2000 + 1000 for path in tmp_path.iterdir())
    names = [r["name"] for r in store.read_files([str(tmp_path)]) if r["type"] == "span"]
    assert "s39" in names and "s0" not in names


def test_an_idle_process_writes_its_spans_within_two_seconds(tmp_path):
    """On the real clock a span that ends while nothing else is traced reaches the file
    within the flush interval (1 s): the hub's flush timer writes it, as no later span
    comes to look at the clock. Polled with a bounded deadline."""
    tracer = Tracer(output_dir=str(tmp_path)).install()
    try:
        with trace.span("lonely", request_id="req-idle"):
            pass
        ended = time.monotonic()
        while not [r for r in store.read_files([str(tmp_path)], missing_ok=True)
                   if r.get("name") == "lonely"]:
            assert time.monotonic() - ended < 2.0, "the span was not written within 2 s"
            green.sleep(0.02)
    finally:
        tracer.uninstall()


def test_the_virtual_clock_gets_no_flush_timer(tmp_path):
    """A timer would be work that keeps a simulation going: a virtual-clock hub gets
    none, so a traced simulation ends, and draws, as an untraced one."""
    with green.virtual_time(seed=3) as hub:
        tracer = Tracer(seed=3, output_dir=str(tmp_path)).install()
        try:
            with trace.span("work", request_id="req-v"):
                green.sleep(5)
            assert hub.pending_timers == 0
        finally:
            tracer.uninstall()
