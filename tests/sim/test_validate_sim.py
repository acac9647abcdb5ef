"""tools/validate_sim.py: the knee it finds, and one small run on each clock."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from nova_sim.cmd.simulate import default_costs_path
from nova_sim.sim import costs

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "validate_sim.py"


@pytest.fixture(scope="module")
def validate_sim():
    spec = importlib.util.spec_from_file_location("validate_sim", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_knee_is_interpolated_where_p95_doubles(validate_sim):
    points = [(10, 0.5), (20, 0.6), (30, 0.8), (40, 1.6)]
    # 2 x 0.5 = 1.0 is a quarter of the way from 0.8 (30 rps) to 1.6 (40 rps)
    assert validate_sim.knee(points, 0.5) == pytest.approx(32.5)
    assert validate_sim.knee(points, 0.9) is None  # never twice 0.9 in the sweep
    assert validate_sim.knee([(5, 3.0)], 1.0) == 5  # already past it at the first point


def test_a_profile_scaled_to_a_slower_core():
    profile = costs.load_profile(default_costs_path())
    slower = costs.scaled(profile, 2.0)
    assert slower["cpu"]["scheduler"]["select_destinations"] == pytest.approx(
        2 * profile["cpu"]["scheduler"]["select_destinations"])
    assert slower["work"]["client:*"] == pytest.approx(2 * profile["work"]["client:*"])
    assert slower["database"]["transaction"] == pytest.approx(
        2 * profile["database"]["transaction"])
    assert slower["database"]["connections"] == profile["database"]["connections"]
    assert costs.check_profile(slower) == slower


def test_a_virtual_run_with_the_model_queues_where_one_without_does_not(validate_sim):
    profile = dict(costs.load_profile(default_costs_path()), shared_core=True)
    slow = costs.scaled(profile, 50.0)  # a core 50 times slower: 20 boots/s saturate it
    free = validate_sim.boot_times(3, 20, 20, 1, "virtual", None)
    charged = validate_sim.boot_times(3, 20, 20, 1, "virtual", slow)
    assert free[2] == charged[2] == 0
    assert free[3] == charged[3] == 1.0  # the share of a core is the real clock's
    assert free[0] == pytest.approx(0.5, abs=0.01)  # the fixed spawn, nothing else
    assert charged[1] > free[1] + 0.5


def test_real_runs_are_recorded_and_read_back_only_for_the_same_hosts_and_runs(
        validate_sim, tmp_path, capsys):
    import types

    path = str(tmp_path / "real.json")
    options = types.SimpleNamespace(hosts=50, runs=2, save_real=path, real=path)
    runs = {(1.0, 20): [[0.5, 0.52, 0, 0.9, 0.013], [0.51, 0.53, 0, 0.8, 0.012]]}
    validate_sim.write_real_runs(options, runs, (1.0, 1.0, 1.0), (2.0, 2.0, 2.0))
    assert validate_sim.read_real_runs(options) == runs
    assert "recorded" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="other --hosts or --runs"):
        validate_sim.read_real_runs(types.SimpleNamespace(hosts=10, runs=2, real=path))
