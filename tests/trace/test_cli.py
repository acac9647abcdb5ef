"""``nova-sim trace show|export|merge`` and ``[trace]`` configuration: a traced cloud
writes its span file under ``output_dir``; the commands read it back."""

from __future__ import annotations

import json

import pytest

from nova_sim import context as nova_context
from nova_sim import green, trace
from nova_sim.deploy import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID
from nova_sim.trace import cli, store


@pytest.fixture(scope="module")
def traced_cloud(tmp_path_factory):
    """A one-process cloud with ``[trace] enabled`` booting two servers; returns
    (conf, request ids, the span file directory)."""
    directory = tmp_path_factory.mktemp("traces")
    conf = new_conf()
    conf.set_override("enabled", True, group="trace")
    conf.set_override("output_dir", str(directory), group="trace")
    conf.set_override("spawn_latency", "fixed:2", group="fake_driver")
    request_ids = []
    with green.virtual_time(seed=21):
        try:
            cloud = Cloud(conf=conf, computes=1, periodic_enable=False).start()
            assert trace.get_tracer() is not None
            for name in ("first", "second"):
                ctxt = nova_context.RequestContext(user_id="u", project_id="p",
                                                   overwrite=False)
                [instance] = cloud.api.create(ctxt, "2", CIRROS_IMAGE_ID, name)
                request_ids.append(ctxt.request_id)
                cloud.wait_for_instance(instance["uuid"], "active")
            cloud.stop()
        finally:
            trace.get_tracer().uninstall()
    assert trace.get_tracer() is None
    return conf, request_ids, directory


def test_enabled_trace_writes_a_span_file_per_process(traced_cloud):
    conf, request_ids, directory = traced_cloud
    [path] = directory.iterdir()
    assert path.name.startswith("nova-sim-nova-sim-") and path.suffix == ".spans"
    records = store.read_files([str(path)])
    assert records[0]["type"] == "process"
    assert {r["request_id"] for r in records if r["type"] == "span"} >= set(request_ids)


def test_a_cloud_built_in_code_does_not_trace_by_default():
    conf = new_conf()
    assert conf.trace.enabled is None
    assert trace.setup(conf, "nova-compute", "c1") is None
    assert trace.get_tracer() is None
    assert store.output_dir(conf).endswith("/traces")


@pytest.mark.parametrize("setting, traced", [(None, True), (False, False), (True, True)])
def test_the_commands_that_run_services_trace_unless_told_not_to(tmp_path, setting,
                                                                  traced):
    """``nova-sim run`` (and each service's command) traces by default; ``[trace]
    enabled = false`` turns it off; the banner says which, and how to change it."""
    from nova_sim.cmd import launch

    conf = new_conf()
    conf.set_override("output_dir", str(tmp_path), group="trace")
    if setting is not None:
        conf.set_override("enabled", setting, group="trace")
    tracer = launch.setup_tracing(conf, "nova-sim", "h")
    try:
        assert (tracer is not None) == traced
        assert (trace.get_tracer() is not None) == traced
        line = launch.describe_tracing(conf, tracer)
        if traced:
            assert str(tmp_path) in line and "128 MiB at most" in line
            assert "[trace] enabled = false turns it off" in line
            assert tracer.max_file_bytes == 64 * 1024 * 1024
        else:
            assert "off ([trace] enabled = true turns it on)" in line
    finally:
        if tracer is not None:
            tracer.uninstall()


def test_show_prints_the_tree_of_one_request(traced_cloud, capsys):
    conf, request_ids, _ = traced_cloud
    assert cli.main(["show", request_ids[0]], conf) == 0
    out = capsys.readouterr().out
    assert out.startswith("trace ") and request_ids[0] in out.splitlines()[0]
    assert "api.create" in out and "rpc.server build_and_run_instance" in out
    assert "driver.spawn" in out and "2.000s" in out
    assert request_ids[1] not in out


def test_show_last_is_the_latest_request(traced_cloud, capsys):
    conf, request_ids, _ = traced_cloud
    assert cli.main(["show", "--last"], conf) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert request_ids[1] in first_line


def test_export_every_format_to_a_file(traced_cloud, tmp_path, capsys):
    conf, request_ids, _ = traced_cloud
    for fmt in cli.FORMATS:
        out = tmp_path / f"boot.{fmt}"
        assert cli.main(["export", "--format", fmt, "--request-id", request_ids[0],
                         "-o", str(out)], conf) == 0
        assert out.read_text()
    assert "wrote text trace" in capsys.readouterr().out
    document = json.loads((tmp_path / "boot.perfetto").read_text())
    assert document["traceEvents"]
    assert json.loads((tmp_path / "boot.otlp").read_text())["resourceSpans"]
    assert (tmp_path / "boot.mermaid").read_text().startswith("sequenceDiagram")


def test_export_to_stdout_reads_input_files(traced_cloud, capsys):
    _, request_ids, directory = traced_cloud
    assert cli.main(["export", "--format", "mermaid", "--last", "-i", str(directory)]) == 0
    assert capsys.readouterr().out.startswith("sequenceDiagram")


def test_merge_joins_files_and_drops_duplicates(traced_cloud, tmp_path, capsys):
    _, request_ids, directory = traced_cloud
    [path] = directory.iterdir()
    out = tmp_path / "merged.jsonl"
    assert cli.main(["merge", str(path), str(path), "-o", str(out)]) == 0
    assert "merged 2 file(s)" in capsys.readouterr().out
    once = store.read_files([str(path)])
    merged = store.read_files([str(out)])
    assert len(merged) == len(once)
    spans = [r for r in merged if r["type"] == "span"]
    assert [r["start"] for r in spans] == sorted(r["start"] for r in spans)
    assert cli.main(["show", request_ids[1], "-i", str(out)]) == 0


def test_errors_are_one_line_with_an_exit_status(traced_cloud, tmp_path, capsys):
    conf, _, directory = traced_cloud
    assert cli.main(["show", "req-unknown"], conf) == 1
    assert capsys.readouterr().err.startswith("nova-sim trace: no trace of req-unknown")
    assert cli.main(["show"], conf) == 2
    assert cli.main(["export", "--format", "svg"], conf) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main([], conf) == 2
    assert cli.main(["export", "--format", "text", "-i", str(tmp_path / "nope")]) == 1
    assert "nope" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0


def test_nova_sim_trace_command_reaches_this_cli(traced_cloud, capsys):
    from nova_sim.cmd.main import main

    _, request_ids, directory = traced_cloud
    assert main(["trace", "show", request_ids[0], "-i", str(directory)]) == 0
    assert request_ids[0] in capsys.readouterr().out


def _span(name, trace_id, start, span_id=None, parent_id=None, **attributes):
    return {"type": "span", "trace_id": trace_id, "span_id": span_id or f"{trace_id}-s",
            "parent_id": parent_id, "name": name, "kind": "internal",
            "service": "nova-api", "host": "h", "greenthread": "main", "start": start,
            "end": start + 10, "request_id": f"req-{trace_id}", "status": "ok",
            "seq": start, "end_seq": start + 1, "attributes": attributes, "events": []}


@pytest.fixture
def requests_file(tmp_path):
    """A user's POST, then a client's polls (GET), a heartbeat and a periodic task."""
    records = [
        _span("wsgi.request", "post", 100, method="POST", path="/v2.1/servers"),
        _span("rpc.cast build_and_run_instance", "post", 110, span_id="post-c",
              parent_id="post-s"),
        _span("wsgi.request", "poll", 200, method="GET", path="/v2.1/servers/detail"),
        _span("rpc.call object_action", "heartbeat", 300),
        _span("conductor.Service.save", "heartbeat", 301, span_id="heartbeat-c",
              parent_id="heartbeat-s"),
        _span("periodic._heal_instance_info_cache", "periodic", 400),
    ]
    return str(store.write(records, str(tmp_path / "requests.jsonl")))


@pytest.mark.parametrize("option, trace_id", [
    ("--last", "post"), ("--last-request", "poll"), ("--last-any", "periodic")])
def test_last_is_the_last_request_a_user_made_and_others_can_be_asked(
        requests_file, capsys, option, trace_id):
    assert cli.main(["show", option, "-i", requests_file]) == 0
    assert f"req-{trace_id}" in capsys.readouterr().out.splitlines()[0]


def test_last_without_a_user_request_says_how_to_see_others(tmp_path, capsys):
    path = store.write([_span("periodic.task", "periodic", 1)], str(tmp_path / "p.jsonl"))
    assert cli.main(["show", "--last", "-i", str(path)]) == 1
    assert "--last-any" in capsys.readouterr().err
    assert cli.main(["show", "--last-any", "-i", str(path)]) == 0


@pytest.mark.parametrize("argv", [
    ["show", "-i", "{file}", "req-post"],
    ["show", "req-post", "-i", "{file}"],
    ["show", "-i", "{file}", "--last"],
    ["show", "--last", "-i", "{file}"],
    ["show", "-i", "{empty}", "-i", "{file}", "req-post"],
    ["export", "-i", "{file}", "--format", "text", "--request-id", "req-post"],
    ["export", "--last", "--format", "text", "-i", "{file}"],
])
def test_options_and_arguments_parse_in_any_order(requests_file, tmp_path, capsys, argv):
    empty = store.write([], str(tmp_path / "empty.jsonl"))
    argv = [arg.format(file=requests_file, empty=empty) for arg in argv]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "req-post" in out.splitlines()[0] and "req-poll" not in out


def test_show_says_when_a_trace_may_still_be_growing(tmp_path, capsys):
    """The compute's span is written, its parent (still running) is not."""
    records = [_span("wsgi.request", "t1", 100, method="POST"),
               _span("compute.build_and_run_instance", "t1", 150, span_id="t1-b",
                     parent_id="t1-not-yet")]
    path = store.write(records, str(tmp_path / "growing.jsonl"))
    assert cli.main(["show", "req-t1", "-i", str(path)]) == 0
    out = capsys.readouterr().out
    assert "may still be growing: 1 span(s) whose parent is not written yet" in out
    complete = store.write(records[:1], str(tmp_path / "complete.jsonl"))
    assert cli.main(["show", "req-t1", "-i", str(complete)]) == 0
    assert "growing" not in capsys.readouterr().out
