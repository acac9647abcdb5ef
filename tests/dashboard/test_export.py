"""``nova-sim simulate --out DIR`` writes the dashboard's Simulation page of the run
into DIR/dashboard: the page, its script and style, and the run's figures."""

from __future__ import annotations

import json
import os

from nova_sim.cmd.main import main
from nova_sim.sim import results

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASK = os.path.join(ROOT, "etc", "nova-sim", "tasks", "boot-and-delete.yaml")


def test_simulate_writes_the_simulation_page(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", TASK, "--out", str(out), "--no-progress"]) == 0
    page = out / "dashboard" / "simulation.html"
    assert f"Dashboard: {page}" in capsys.readouterr().out
    html = page.read_text()
    assert '<script src="simulation-data.js"></script>' in html
    assert '<body data-page="simulation">' in html
    for name in ("app.css", "app.js", "simulation.js"):
        assert (out / "dashboard" / "static" / name).is_file()
    script = (out / "dashboard" / "simulation-data.js").read_text()
    prefix = "window.NOVA_STATIC = true;\nwindow.SIMULATION = "
    assert script.startswith(prefix) and script.endswith(";\n")
    data = json.loads(script[len(prefix):-2])
    document = json.loads((out / "results.json").read_text())
    [workload] = document["runs"][0]["workloads"]
    [shown] = data["workloads"]
    assert shown["response_table"] == results.response_table(workload["response_times"])
    assert shown["sla_table"] == results.sla_table(workload)
    assert len(shown["plots"]) == 4 and all(p.startswith("<svg") for p in shown["plots"])
    # the report shows the same plots
    report = (out / "report.html").read_text()
    assert all(plot.replace("<\\/", "</") in report for plot in shown["plots"])
    assert "</script" not in script
