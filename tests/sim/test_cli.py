"""``nova-sim simulate``: output files, determinism, --repeat, compare, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nova_sim.cmd.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASKS = os.path.join(ROOT, "etc", "nova-sim", "tasks")
BOOT_AND_DELETE = os.path.join(TASKS, "boot-and-delete.yaml")
SMALL = ["--task-args", "{times: 4, concurrency: 2}", "--no-progress"]


def simulate(*argv):
    return main(["simulate", *argv])


def test_simulate_writes_results_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "run"
    assert simulate(BOOT_AND_DELETE, "--out", str(out), *SMALL) == 0
    printed = capsys.readouterr().out
    assert "Response Times (sec)" in printed and "| nova.boot_server " in printed
    assert "SLA: PASSED" in printed
    assert sorted(os.listdir(out)) == ["dashboard", "rally-results.json", "report.html",
                                       "results.json", "run-info.json", "simulate.log",
                                       "traces"]
    traces = out / "traces" / "seed-0" / "workload-0"
    [spans] = os.listdir(traces)
    assert main(["trace", "show", "--last", "-i", str(traces / spans)]) == 0
    assert "wsgi.request" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert (results["schema"], results["version"]) == ("nova-sim/simulation-results", 1)
    [workload] = results["runs"][0]["workloads"]
    assert workload["iterations"] == {"total": 4, "failed": 0, "errors": {}}
    rally = json.loads((out / "rally-results.json").read_text())
    assert rally["info"]["format_version"] == "1.2"
    [rally_workload] = rally["tasks"][0]["subtasks"][0]["workloads"]
    assert rally_workload["total_iteration_count"] == 4
    assert rally_workload["data"][0]["atomic_actions"][0]["name"] == "nova.boot_server"
    report = (out / "report.html").read_text()
    assert report.count("<svg") == 4 and "Response Times" in report


def test_same_task_and_seed_give_byte_identical_results(tmp_path):
    cloud = os.path.join(TASKS, "crash.cloud.yaml")  # faults, two groups, two workers
    argv = [BOOT_AND_DELETE, "--cloud", cloud, "--no-report", *SMALL]
    assert simulate(*argv, "--seed", "1", "--out", str(tmp_path / "a")) in (0, 1)
    # the same in another process, with another string hash seed
    command = [sys.executable, "-m", "nova_sim.cmd.main", "simulate", *argv, "--seed", "1",
               "--out", str(tmp_path / "b")]
    subprocess.run(command, check=False, capture_output=True, timeout=100,
                   env={**os.environ, "PYTHONHASHSEED": "123"})
    assert simulate(*argv, "--seed", "2", "--out", str(tmp_path / "c")) in (0, 1)
    first = (tmp_path / "a" / "results.json").read_bytes()
    assert first == (tmp_path / "b" / "results.json").read_bytes()
    assert first != (tmp_path / "c" / "results.json").read_bytes()


def test_repeat_and_compare(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert simulate(BOOT_AND_DELETE, "--repeat", "3", "--out", str(a), "--no-report",
                    *SMALL) == 0
    assert simulate(BOOT_AND_DELETE, "--repeat", "2", "--seed", "10", "--out", str(b),
                    "--no-report", *SMALL) == 0
    results = json.loads((a / "results.json").read_text())
    assert results["seeds"] == [0, 1, 2]
    figures = results["repeat"][0]["figures"]
    assert figures["total median"]["n"] == 3 and figures["total median"]["ci95"] is not None
    assert "+/-" in capsys.readouterr().out
    assert main(["simulate", "compare", str(a), str(b)]) == 0
    table = capsys.readouterr().out
    assert "A/B comparison" in table and "nova.boot_server median" in table
    assert any(word in table for word in ("same", "noise", "differs"))


def test_unsupported_task_content_exits_2_with_one_line(tmp_path, capsys):
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"NovaServers.boot_server": [{
        "args": {"image": {"name": "x"}, "flavor": {"name": "y"}},
        "runner": {"type": "constant_with_ramp", "times": 2}}]}))
    assert simulate(str(task)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unsupported runner 'constant_with_ramp'" in err


def test_validate_checks_images_and_flavors(tmp_path, capsys):
    assert simulate(BOOT_AND_DELETE, "--validate") == 0
    assert "Task is valid." in capsys.readouterr().out
    assert simulate(BOOT_AND_DELETE, "--validate", "--task-args",
                    "{flavor_name: m1.giant}") == 2
    assert "0 flavors match 'm1.giant'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["boot-rps-v1.json", "bounce.yaml"])
def test_shipped_examples_validate(name):
    assert simulate(os.path.join(TASKS, name), "--validate") == 0
