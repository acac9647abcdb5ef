"""tools/bench_sim.py measures what it says: a small idle cloud under both drivers."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "bench_sim.py"


@pytest.fixture(scope="module")
def bench_sim():
    spec = importlib.util.spec_from_file_location("bench_sim", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("driver", ["db", "mc"])
def test_small_idle_cloud_figures(bench_sim, driver):
    seen = []
    figures = bench_sim.run(3, 120, driver, before_stop=lambda f: seen.append(dict(f)))
    assert seen and "stop" not in seen[0] and figures["stop"] >= 0
    assert figures["simulated"] == 120
    assert figures["services"] == figures["services_up"] == 5  # 3 computes, 2 controllers
    # 3 computes x 12 heartbeats (db: a call and its reply each), plus the periodic
    # tasks' calls; under mc the heartbeats send nothing.
    heartbeat_messages = 3 * 12 * 2 if driver == "db" else 0
    assert figures["messages"] > heartbeat_messages
    assert figures["timers"] > 3 * 12
    text = bench_sim.report(figures)
    assert f"servicegroup_driver={driver}" in text and "per simulated hour" in text
