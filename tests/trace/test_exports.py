"""Every export checked against its format: Perfetto/Chrome JSON (a schema and nesting
check of our own: no library reads it offline), OTLP JSON (opentelemetry-proto's JSON
mapping), the OSProfiler report (osprofiler's own report builder and its CLI), Mermaid
(the grammar we emit; ``mmdc`` renders it when installed) and the text tree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from nova_sim.trace import mermaid, osprofiler, otlp, perfetto, text

HEX = re.compile(r"^[0-9a-f]+$")


# -- Perfetto / Chrome trace JSON -------------------------------------------------------

def check_chrome_trace(document):
    """The Trace Event Format rules a viewer relies on; returns the B slices."""
    assert isinstance(document, dict) and isinstance(document["traceEvents"], list)
    assert document["displayTimeUnit"] in ("ms", "ns")
    events = document["traceEvents"]
    names = {}
    threads = {}
    for event in events:
        assert event["ph"] in ("M", "B", "E", "X", "i", "s", "f"), event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        if event["ph"] == "M":
            assert event["name"] in ("process_name", "process_sort_index", "thread_name",
                                     "thread_sort_index")
            if event["name"] == "process_name":
                names[event["pid"]] = event["args"]["name"]
            if event["name"] == "thread_name":
                threads[(event["pid"], event["tid"])] = event["args"]["name"]
            continue
        assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0
        if event["ph"] in ("B", "X", "i"):
            assert isinstance(event["name"], str) and event["name"]
        if event["ph"] == "X":
            assert event["dur"] >= 0
        if event["ph"] == "i":
            assert event["s"] in ("t", "p", "g")
    stacks: dict = {}
    last_ts: dict = {}
    slices = []
    flows: dict = {}
    for event in events:
        if event["ph"] in ("M", "i", "X"):
            continue
        key = (event["pid"], event["tid"])
        assert event["ts"] >= last_ts.get(key, 0), "time goes back on a thread"
        last_ts[key] = event["ts"]
        stack = stacks.setdefault(key, [])
        if event["ph"] == "B":
            assert event["pid"] in names and key in threads
            stack.append(event)
            slices.append(event)
        elif event["ph"] == "E":
            assert stack, f"E without B on {key}"
            stack.pop()
        else:  # flow ends bind to the slice open on their thread
            assert stack, f"flow {event['id']} outside any slice"
            flows.setdefault(event["id"], {})[event["ph"]] = (event, stack[-1])
    assert all(not stack for stack in stacks.values()), "unclosed slices"
    for flow_id, ends in flows.items():
        assert set(ends) == {"s", "f"}, flow_id
        assert ends["s"][0]["ts"] <= ends["f"][0]["ts"]
        assert ends["s"][0]["cat"] == ends["f"][0]["cat"]
        assert ends["f"][0]["bp"] == "e"
    return slices, flows, names, threads


def test_perfetto_export_is_a_well_formed_chrome_trace(boot_run):
    document = json.loads(perfetto.render(boot_run.traces))
    slices, flows, names, threads = check_chrome_trace(document)
    spans = [s for s in boot_run.traces.spans if s["kind"] != "event"]
    assert len(slices) == len(spans)
    assert sorted(names.values()) == [
        "nova-api controller", "nova-compute compute1", "nova-conductor controller",
        "nova-scheduler controller"]
    # a thread per greenthread, named by the tracer's name and its first span
    assert "main wsgi.request" in threads.values()
    assert any(name.endswith(" compute.build_and_run_instance") for name in threads.values())
    # a flow into every RPC receiver, and into the build spawned on another greenthread
    ends = {ends["f"][1]["name"]: ends["f"][0]["cat"] for ends in flows.values()}
    receivers = {s["name"] for s in spans if s["name"].startswith("rpc.server ")}
    assert receivers <= set(ends)
    assert all(ends[name] == "rpc" for name in receivers)
    assert ends["compute.build_and_run_instance"] == "spawn"
    # slices carry the ids and attributes
    [request] = [e for e in slices if e["name"] == "wsgi.request"]
    assert request["args"]["request_id"] == boot_run.request_id
    assert request["args"]["method"] == "POST"
    instants = [e for e in document["traceEvents"] if e["ph"] == "i"]
    assert [e["args"]["task_state"] for e in instants if e["name"] == "instance.state"][0] \
        == "scheduling"


def test_perfetto_export_nests_zero_length_spans_by_ancestry(boot_run):
    """On the virtual clock a call and everything under it share one instant: the B/E
    order alone says what is inside what, and it must follow the span tree."""
    document = json.loads(perfetto.render(boot_run.traces))
    stacks: dict = {}
    by_id = boot_run.traces.by_id
    for event in document["traceEvents"]:
        key = (event["pid"], event["tid"])
        if event["ph"] == "B":
            stack = stacks.setdefault(key, [])
            if stack:  # the enclosing slice is an ancestor in the span tree
                parent = by_id[event["args"]["span_id"]]["parent_id"]
                ancestors = set()
                while parent in by_id:
                    ancestors.add(parent)
                    parent = by_id[parent]["parent_id"]
                assert stack[-1] in ancestors
            stack.append(event["args"]["span_id"])
        elif event["ph"] == "E":
            stacks[key].pop()


def test_perfetto_export_of_greenthread_switches():
    from nova_sim.deploy import trace_example
    from nova_sim.trace import store
    from nova_sim.trace.model import TraceSet

    records, _ = trace_example.boot(seed=2, record_switches=True)
    traces = TraceSet(store.merge(records))
    assert traces.switches
    document = json.loads(perfetto.render(traces))
    check_chrome_trace(document)
    running = [e for e in document["traceEvents"] if e["ph"] == "X"]
    assert running and all(e["name"] == "running" for e in running)
    [hub] = [e["pid"] for e in document["traceEvents"]
             if e["ph"] == "M" and e["name"] == "process_name"
             and e["args"]["name"] == "hub: greenthread switches"]
    names = {e["args"]["name"] for e in document["traceEvents"]
             if e["ph"] == "M" and e["name"] == "thread_name" and e["pid"] == hub}
    assert {"main", "hub"} <= names


# -- OTLP JSON --------------------------------------------------------------------------

def test_otlp_export_parses_with_the_opentelemetry_proto_json_mapping(boot_run):
    from google.protobuf import json_format
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

    payload = otlp.render(boot_run.traces)
    request = json_format.Parse(payload, trace_service_pb2.ExportTraceServiceRequest())
    spans = [s for r in request.resource_spans for ss in r.scope_spans for s in ss.spans]
    assert len(spans) == len(boot_run.traces.spans)
    services = {
        next(a.value.string_value for a in r.resource.attributes if a.key == "service.name")
        for r in request.resource_spans}
    assert services == {"nova-api", "nova-conductor", "nova-scheduler", "nova-compute"}
    by_name = {s.name: s for s in spans}
    server = by_name["rpc.server select_destinations"]
    assert server.kind == server.SPAN_KIND_SERVER
    assert by_name["rpc.call select_destinations"].kind == server.SPAN_KIND_CLIENT
    assert by_name["rpc.cast schedule_and_build_instances"].kind == server.SPAN_KIND_PRODUCER
    assert by_name["driver.spawn"].end_time_unix_nano - \
        by_name["driver.spawn"].start_time_unix_nano == 1_500_000_000
    # OTLP/JSON ids are hex (not base64): 16 bytes of trace id, 8 of span id
    document = json.loads(payload)
    ids = set()
    for resource in document["resourceSpans"]:
        for span in resource["scopeSpans"][0]["spans"]:
            assert HEX.match(span["traceId"]) and len(span["traceId"]) == 32
            assert HEX.match(span["spanId"]) and len(span["spanId"]) == 16
            ids.add(span["spanId"])
    parents = {span["parentSpanId"] for resource in document["resourceSpans"]
               for span in resource["scopeSpans"][0]["spans"] if "parentSpanId" in span}
    assert parents <= ids
    attributes = {a.key: a.value for a in by_name["wsgi.request"].attributes}
    assert attributes["nova.request_id"].string_value == boot_run.request_id
    assert attributes["thread.name"].string_value == "main"


def test_otlp_marks_errors():
    from nova_sim.trace.model import TraceSet

    record = {"type": "span", "trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "2",
              "parent_id": None, "name": "compute.build", "kind": "internal",
              "service": "nova-compute", "host": "c1", "greenthread": "gt1", "start": 10,
              "end": 20, "status": "error", "error": "RescheduledException: no room",
              "attributes": {"n": 1, "ok": True, "ratio": 0.5, "hosts": ["a"]},
              "events": [], "seq": 1}
    [span] = otlp.build(TraceSet([record]))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert span["status"] == {"code": 2, "message": "RescheduledException: no room"}
    values = {a["key"]: a["value"] for a in span["attributes"]}
    assert values["n"] == {"intValue": "1"} and values["ok"] == {"boolValue": True}
    assert values["ratio"] == {"doubleValue": 0.5}
    assert values["hosts"] == {"arrayValue": {"values": [{"stringValue": "a"}]}}


# -- OSProfiler -------------------------------------------------------------------------

def osprofiler_report_from_notifications(traces):
    """What OSProfiler's own driver builds from the start/stop notifications of the
    spans (drivers/base.py), for comparison with our direct export."""
    from osprofiler.drivers import base

    driver = base.Driver("nova-sim://")
    for span in traces.spans:
        kind = osprofiler.point_type(span)
        start, stop = osprofiler._payloads(span, kind)
        for payload in (start, stop):
            driver._append_results(payload["trace_id"], payload["parent_id"],
                                   payload["name"], payload["project"],
                                   payload["service"], payload["host"],
                                   payload["timestamp"], payload)
    return driver._parse_results()


def test_osprofiler_report_matches_osprofilers_own_builder(boot_run):
    ours = osprofiler.build(boot_run.traces)
    theirs = osprofiler_report_from_notifications(boot_run.traces)
    assert json.dumps(ours) == json.dumps(theirs)
    assert ours["info"]["finished"] == 1500
    [root] = ours["children"]
    assert root["info"]["name"] == "wsgi" and root["info"]["service"] == "nova-api"
    assert ours["stats"]["rpc"]["count"] == sum(
        1 for s in boot_run.traces.spans if s["name"].startswith("rpc."))


def osprofiler_cli():
    path = os.path.join(os.path.dirname(sys.executable), "osprofiler")
    if not os.path.exists(path):
        pytest.fail("the osprofiler CLI (test extra) is not installed in the venv")
    return path


def test_osprofiler_cli_reads_the_report(boot_run, tmp_path):
    report = tmp_path / "boot.osprofiler.json"
    report.write_text(osprofiler.render(boot_run.traces))
    shown = subprocess.run(
        [osprofiler_cli(), "trace", "show", "--json", "--connection-string",
         "redis://127.0.0.1:1", str(report)],
        capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout == report.read_text()
    html = tmp_path / "boot.html"
    subprocess.run(
        [osprofiler_cli(), "trace", "show", "--html", "--connection-string",
         "redis://127.0.0.1:1", "--out", str(html), str(report)],
        capture_output=True, text=True, timeout=60, check=True)
    page = html.read_text()
    assert "$DATA" not in page and '"name": "total"' in page


# -- Mermaid ----------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r"^    (?:actor client"
    r"|participant P\d+ as [^;#]+"
    r"|(?:client|P\d+)(?:->>|-->>|-\))(?:client|P\d+): [^;#]+"
    r"|Note over P\d+: [^;#]+)$")


def test_mermaid_export_is_a_sequence_diagram_of_the_boot(boot_run):
    diagram = mermaid.render(boot_run.traces)
    lines = diagram.splitlines()
    assert lines[0] == "sequenceDiagram"
    declared = set()
    for line in lines[1:]:
        assert MERMAID_LINE.match(line), line
        if "participant" in line:
            declared.add(line.split()[1])
        else:
            for name in re.findall(r"\bP\d+\b", line):
                assert name in declared
    messages = [line.strip() for line in lines if ":" in line and "Note" not in line
                and "participant" not in line]
    assert messages[:5] == [
        "client->>P1: POST /v2.1/servers",
        "P1-)P2: cast schedule_and_build_instances",
        "P1-->>client: response (0.0 ms)",
        "P2->>P3: call select_destinations",
        "P3-->>P2: done (0.0 ms)",
    ]
    assert "P2-)P4: cast build_and_run_instance" in messages
    assert "P4->>P2: call object_action Instance.save" in messages
    assert "    Note over P4: driver.spawn (1500 ms)" in lines
    assert "    Note over P4: instance.state active/None" in lines


def test_mermaid_renders_with_mermaid_cli(boot_run, tmp_path):
    mmdc = os.environ.get("NOVA_SIM_MMDC") or shutil.which("mmdc")
    if not mmdc:
        pytest.skip("mmdc (@mermaid-js/mermaid-cli) is not installed")
    source = tmp_path / "boot.mmd"
    source.write_text(mermaid.render(boot_run.traces))
    command = [mmdc, "-i", str(source), "-o", str(tmp_path / "boot.svg")]
    config = os.environ.get("NOVA_SIM_MMDC_PUPPETEER")
    if config:
        command += ["-p", config]
    subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert "<svg" in (tmp_path / "boot.svg").read_text()


# -- text -------------------------------------------------------------------------------

def test_text_tree_indents_children_and_shows_durations(boot_run):
    tree = text.render(boot_run.traces).splitlines()
    assert tree[0].startswith("trace ") and boot_run.request_id in tree[0]
    assert "(45 spans, 1.500s)" in tree[0]
    assert re.match(r"^\+0\.000s  0\.000s  nova-api@controller +main +wsgi\.request POST "
                    r"/v2\.1/servers$", tree[1])
    [spawn] = [line for line in tree if "driver.spawn" in line]
    assert re.match(r"^\+0\.000s  1\.500s  nova-compute@compute1 +gt\d+ +driver\.spawn", spawn)
    [build] = [line for line in tree if "compute.build_and_run_instance" in line]
    assert spawn.index("driver.spawn") == build.index("compute.build_and_run_instance") + 2
    states = [line for line in tree if "* instance.state" in line]
    assert len(states) == 6 and "task_state=scheduling" in states[0]


# -- the shipped example ----------------------------------------------------------------

def test_the_docs_example_is_what_the_example_scenario_exports(tmp_path):
    """docs/trace-example/ is made by ``python -m nova_sim.deploy.trace_example
    docs/trace-example`` (then ``mmdc`` for boot.mmd.png); when the services' spans
    change, run it again."""
    from nova_sim.deploy import trace_example

    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "trace-example")
    paths = trace_example.write_example(str(tmp_path), picture=False)
    for name in ("boot.jsonl", "boot.perfetto.json", "boot.mmd", "boot.otlp.json",
                 "boot.osprofiler.json", "boot.txt"):
        with open(os.path.join(docs, name), encoding="utf-8") as shipped:
            assert (tmp_path / name).read_text() == shipped.read(), (
                f"docs/trace-example/{name} is stale: run "
                "'.venv/bin/python -m nova_sim.deploy.trace_example docs/trace-example'")
    assert os.path.exists(os.path.join(docs, "boot.mmd.png"))
    assert os.path.exists(os.path.join(docs, "boot.perfetto.png"))
    assert "png" not in paths and set(paths) == {"spans", "perfetto", "mermaid", "otlp",
                                                 "osprofiler", "text"}
