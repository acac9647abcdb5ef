"""Task files: both formats, JSON and YAML, Jinja2 arguments, refusals."""

from __future__ import annotations

import json

import pytest

from nova_sim.sim.task import TaskError, load_task, parse_task

V1 = {"NovaServers.boot_server": [{
    "args": {"image": {"name": "cirros"}, "flavor": {"name": "m1.tiny"}},
    "runner": {"type": "constant", "times": 4, "concurrency": 2},
    "context": {"users": {"tenants": 2, "users_per_tenant": 1}},
}]}

V2_YAML = """
version: 2
title: two workloads
subtasks:
  - title: boot
    scenario:
      NovaServers.boot_server: {image: {name: cirros}, flavor: {name: m1.tiny}}
    runner:
      rps: {times: {{ times }}, rps: 2}
    sla:
      max_avg_duration: 10
  - title: list
    workloads:
      - scenario: {NovaServers.list_servers: {detailed: false}}
"""


def test_v1_json_gets_rallys_defaults(tmp_path):
    path = tmp_path / "task.json"
    path.write_text(json.dumps(V1))
    task = load_task(str(path))
    assert task.version == 1
    [workload] = task.workloads
    assert (workload.scenario, workload.runner_type) == ("NovaServers.boot_server",
                                                         "constant")
    assert workload.runner == {"times": 4, "concurrency": 2}
    assert workload.sla == {"failure_rate": {"max": 0}}  # Rally's default SLA
    assert workload.contexts["users"]["tenants"] == 2


def test_v2_yaml_with_task_args_and_args_file(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text(V2_YAML)
    args_file = tmp_path / "args.yaml"
    args_file.write_text("times: 3\n")
    task = load_task(str(path), task_args_file=str(args_file))
    assert [w.runner for w in task.workloads] == [{"times": 3, "rps": 2}, {}]
    assert task.workloads[1].runner_type == "serial"  # no runner: Rally's serial
    task = load_task(str(path), task_args='{"times": 7}', task_args_file=str(args_file))
    assert task.workloads[0].runner["times"] == 7  # --task-args wins over the file


def test_template_default_and_missing_argument(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text(V2_YAML.replace("{{ times }}", "{{ times | default(5) }}"))
    assert load_task(str(path)).workloads[0].runner["times"] == 5
    path.write_text(V2_YAML)
    with pytest.raises(TaskError, match="missing arguments: times"):
        load_task(str(path))


@pytest.mark.parametrize("change, message", [
    ({"NovaServers.resize_server": [{}]}, "unsupported scenario 'NovaServers.resize_server'"),
    ({"NovaServers.boot_server": [{"args": {"image": {"name": "c"}, "flavor": {"name": "f"},
                                            "volume_size": 1}}]},
     "unsupported argument 'volume_size'"),
    ({"NovaServers.list_servers": [{"runner": {"type": "dummy"}}]}, "unsupported runner"),
    ({"NovaServers.list_servers": [{"runner": {"type": "constant", "rampup": 1}}]},
     "unsupported option 'rampup'"),
    ({"NovaServers.list_servers": [{"context": {"network": {}}}]},
     "unsupported context 'network'"),
    ({"NovaServers.list_servers": [{"context": {"quotas": {"nova": {"key_pairs": 1}}}}]},
     "unsupported key 'key_pairs'"),
    ({"NovaServers.list_servers": [{"sla": {"outliers": {}}}]}, "unsupported SLA 'outliers'"),
    ({"NovaServers.boot_and_bounce_server": [{"args": {
        "image": {"name": "c"}, "flavor": {"name": "f"}, "actions": [{"rescue_unrescue": 1}]}}]},
     "unsupported bounce action 'rescue_unrescue'"),
    ({"NovaServers.list_servers": [{"hooks": [{"name": "sys_call", "args": "x",
                                               "trigger": {"name": "event", "args": {}}}]}]},
     "hooks are not supported"),
])
def test_unsupported_content_is_refused_with_one_line(change, message):
    with pytest.raises(TaskError, match=message) as caught:
        parse_task(json.dumps(change))
    assert "\n" not in str(caught.value)


def test_v2_unknown_key_and_version():
    with pytest.raises(TaskError, match="unsupported key 'hooks_x'"):
        parse_task(json.dumps({"version": 2, "title": "t", "hooks_x": 1, "subtasks": []}))
    with pytest.raises(TaskError, match="version 3"):
        parse_task(json.dumps({"version": 3}))
