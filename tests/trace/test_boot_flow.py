"""The boot flow's trace, asserted exactly: tree, order, services, greenthreads, states,
request ids, agreement with os-instance-actions, and determinism."""

from __future__ import annotations

from nova_sim.deploy import trace_example
from nova_sim.trace import cli, osprofiler, store
from nova_sim.trace.model import TraceSet

# (depth) service@host name, in depth-first order (children by start, ties by the
# tracer's sequence): the API casts to the conductor, which calls the scheduler and casts
# to the compute, whose build (on its own greenthread) saves through the conductor.
BOOT_TREE = [
    "nova-api@controller wsgi.request",
    "  nova-api@controller api.create",
    "    nova-api@controller rpc.cast schedule_and_build_instances",
    "      nova-conductor@controller rpc.server schedule_and_build_instances",
    "        nova-conductor@controller conductor.schedule_and_build_instances",
    "          nova-conductor@controller rpc.call select_destinations",
    "            nova-scheduler@controller rpc.server select_destinations",
    "              nova-scheduler@controller scheduler.select_destinations",
    "          nova-conductor@controller conductor.cast_build",
    "            nova-conductor@controller rpc.cast build_and_run_instance",
    "              nova-compute@compute1 rpc.server build_and_run_instance",
    "                nova-compute@compute1 compute.build_and_run_instance",
    "                  nova-compute@compute1 rpc.call object_class_action_versions",
    "                    nova-conductor@controller rpc.server object_class_action_versions",
    "                      nova-conductor@controller conductor.InstanceActionEvent.event_start",
    "                  nova-compute@compute1 rpc.call object_action",
    "                    nova-conductor@controller rpc.server object_action",
    "                      nova-conductor@controller conductor.Instance.save",
    "                  nova-compute@compute1 compute.instance_claim",
    "                    nova-compute@compute1 rpc.call object_action",
    "                      nova-conductor@controller rpc.server object_action",
    "                        nova-conductor@controller conductor.Instance.save",
    "                    nova-compute@compute1 rpc.call object_action",
    "                      nova-conductor@controller rpc.server object_action",
    "                        nova-conductor@controller conductor.ComputeNode.save",
    "                  nova-compute@compute1 compute.build_resources",
    "                    nova-compute@compute1 rpc.call object_action",
    "                      nova-conductor@controller rpc.server object_action",
    "                        nova-conductor@controller conductor.Instance.save",
    "                    nova-compute@compute1 driver.allocate_network",
    "                    nova-compute@compute1 rpc.call object_action",
    "                      nova-conductor@controller rpc.server object_action",
    "                        nova-conductor@controller conductor.Instance.save",
    "                  nova-compute@compute1 rpc.call object_action",
    "                    nova-conductor@controller rpc.server object_action",
    "                      nova-conductor@controller conductor.Instance.save",
    "                  nova-compute@compute1 driver.spawn",
    "                  nova-compute@compute1 rpc.call object_action",
    "                    nova-conductor@controller rpc.server object_action",
    "                      nova-conductor@controller conductor.Instance.save",
    "                  nova-compute@compute1 rpc.fanout update_instance_info",
    "                    nova-scheduler@controller rpc.server update_instance_info",
    "                  nova-compute@compute1 rpc.call object_class_action_versions",
    "                    nova-conductor@controller rpc.server object_class_action_versions",
    "                      nova-conductor@controller conductor.InstanceActionEvent.event_finish",
]

BOOT_STATES = [
    ("building", "scheduling"),
    ("building", None),
    ("building", "networking"),
    ("building", "block_device_mapping"),
    ("building", "spawning"),
    ("active", None),
]


def outline(traces):
    return ["  " * traces.depth(s) + f"{s['service']}@{s['host']} {s['name']}"
            for s in traces.spans]


def find(traces, name):
    return [s for s in traces.spans if s["name"] == name]


def test_boot_span_tree_and_order_exactly(boot_run):
    traces = boot_run.traces
    assert outline(traces) == BOOT_TREE
    assert len(traces.trace_ids()) == 1
    # every span of the flow carries the API's request id
    assert {s["request_id"] for s in traces.spans} == {boot_run.request_id}
    assert all(s["status"] == "ok" for s in traces.spans)


def test_boot_spans_sit_on_the_right_greenthreads(boot_run):
    traces = boot_run.traces
    [request] = find(traces, "wsgi.request")
    [dispatch] = find(traces, "rpc.server build_and_run_instance")
    [build] = find(traces, "compute.build_and_run_instance")
    [spawn] = find(traces, "driver.spawn")
    assert request["greenthread"] == "main"
    # the compute returns from the cast at once: the build runs on a greenthread of its
    # own (spawn_n), child of the dispatch through the copied context
    assert build["greenthread"] != dispatch["greenthread"]
    assert build["parent_id"] == dispatch["span_id"]
    assert spawn["greenthread"] == build["greenthread"]
    # each conductor dispatch runs on its own pool greenthread
    saves = find(traces, "rpc.server object_action")
    assert len({s["greenthread"] for s in saves}) == len(saves)
    names = {s["greenthread"] for s in traces.spans}
    assert all(n == "main" or n.startswith("gt") for n in names)


def test_boot_rpc_spans_link_sender_and_receiver(boot_run):
    traces = boot_run.traces
    for server in [s for s in traces.spans if s["name"].startswith("rpc.server ")]:
        sender = traces.by_id[server["parent_id"]]
        method = server["name"].split(" ", 1)[1]
        assert sender["name"].split(" ", 1)[1] == method
        assert sender["kind"] in ("client", "producer")
        assert server["kind"] == ("server" if sender["kind"] == "client" else "consumer")
        assert server["start"] >= sender["start"]
        if sender["kind"] == "client":  # a call's span covers the callee's work
            assert sender["end"] >= server["end"]
    [call] = find(traces, "rpc.call select_destinations")
    assert call["attributes"]["topic"] == "scheduler"
    assert call["attributes"]["kind"] == "call"


def test_boot_state_events_follow_novas_sequence(boot_run):
    traces = boot_run.traces
    events = sorted(
        ((e["time"], e["seq"], e["attributes"]) for s in traces.spans
         for e in s["events"] if e["name"] == "instance.state"),
        key=lambda item: item[:2])
    states = [(a["vm_state"], a["task_state"]) for _, _, a in events]
    assert states == BOOT_STATES
    assert {a["instance_uuid"] for _, _, a in events} == {boot_run.uuid}
    [spawn] = find(traces, "driver.spawn")
    assert spawn["end"] - spawn["start"] == 1_500_000_000  # fixed:1.5 on the virtual clock


def test_instance_actions_and_trace_agree(boot_run):
    [action] = boot_run.actions
    assert action["request_id"] == boot_run.request_id
    [event] = boot_run.events
    assert event["event"] == "compute__do_build_and_run_instance"
    [build] = find(boot_run.traces, "compute.build_and_run_instance")
    assert event["host"] == build["host"]
    assert event["start_time"] == osprofiler.timestamp(build["start"])
    assert event["finish_time"] == osprofiler.timestamp(build["end"])
    assert event["result"] == "Success" and build["status"] == "ok"


def test_start_up_spans_belong_to_their_services(boot_run):
    services = {(s["service"], s["host"]) for s in boot_run.all.spans
                if s["name"] == "compute.init_host"}
    assert services == {("nova-compute", "compute1"), ("nova-compute", "compute2")}


def exports(records, request_id):
    traces = TraceSet(store.merge(records)).select(request_id=request_id)
    return {fmt: cli.render(traces, fmt) for fmt in cli.FORMATS}


def test_two_seeded_runs_export_identical_bytes():
    first_records, first_ids = trace_example.boot(seed=5)
    second_records, second_ids = trace_example.boot(seed=5)
    assert first_ids == second_ids
    assert first_records[1:] == second_records[1:]  # [0] names the OS process
    first, second = exports(first_records, first_ids[0]), exports(second_records, second_ids[0])
    for fmt in cli.FORMATS:
        assert first[fmt] == second[fmt], fmt
    everything = TraceSet(store.merge(first_records))
    assert cli.render(everything, "perfetto") == cli.render(
        TraceSet(store.merge(second_records)), "perfetto")
    other_records, other_ids = trace_example.boot(seed=6)
    assert other_ids != first_ids
    assert exports(other_records, other_ids[0])["otlp"] != first["otlp"]
