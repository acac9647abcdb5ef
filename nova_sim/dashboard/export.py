"""The dashboard's static pages of a finished simulation run.

Owns ``write(out, document, title, drawn)``: what ``nova-sim simulate --out DIR`` writes
into ``DIR/dashboard/``: ``simulation.html`` (the dashboard's Simulation page), its
script and style under ``static/``, and ``simulation-data.js``, the run's figures (the
report's tables and plots, as in ``report.html``) as one JavaScript value. A script
file rather than JSON fetched by the page: a browser opens the page from the disk
(``file://``), offline, where it may not fetch a file next to it. The live pages are
not written: a finished run has no services, greenthreads or live messages.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from nova_sim.dashboard.app import STATIC_DIR, page
from nova_sim.sim import report, results

#: The directory under ``--out`` that holds the pages.
DIRECTORY = "dashboard"


def simulation_data(document: dict[str, Any], title: str,
                    drawn: list[list[str]] | None = None) -> dict[str, Any]:
    """What the Simulation page shows of a results document: its title, a summary line,
    per workload (first seed's run) its tables and plots, and the figures over the
    seeds when repeated. ``drawn``: the workloads' ``report.plots``, when drawn
    already."""
    run = document["runs"][0]
    workloads = []
    for index, workload in enumerate(run["workloads"]):
        workloads.append({
            "scenario": workload["scenario"],
            "response_table": results.response_table(workload["response_times"]),
            "sla_table": results.sla_table(workload),
            "nova": results.nova_lines(workload),
            "plots": drawn[index] if drawn is not None else report.plots(workload),
        })
    return {
        "title": title,
        "summary": (f"Clock: {document['clock']}; seeds: {document['seeds']}; figures: "
                    f"seed {run['seed']}."),
        "workloads": workloads,
        "repeat": results.repeat_lines(document) if "repeat" in document else None,
    }


def write(out: str, document: dict[str, Any], title: str,
          drawn: list[list[str]] | None = None) -> str:
    """Write the static pages of a run into ``out/dashboard``; returns the path of
    ``simulation.html``."""
    directory = os.path.join(out, DIRECTORY)
    static = os.path.join(directory, "static")
    os.makedirs(static, exist_ok=True)
    for name in ("app.css", "app.js", "simulation.js"):
        shutil.copyfile(os.path.join(STATIC_DIR, name), os.path.join(static, name))
    data = simulation_data(document, title, drawn)
    # "</" cannot end the script early: the plots are SVG text
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    with open(os.path.join(directory, "simulation-data.js"), "w", encoding="utf-8") as stream:
        stream.write("window.NOVA_STATIC = true;\nwindow.SIMULATION = " + text + ";\n")
    path = os.path.join(directory, "simulation.html")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(page("simulation"))
    return path
