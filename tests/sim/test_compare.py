"""compare: verdicts from the noise between seeds, and refusals."""

from __future__ import annotations

import json

import pytest

from nova_sim.sim import compare, results


def test_verdicts():
    assert compare.verdict([1.0, 1.0], [1.0, 1.0]) == "same"
    assert compare.verdict([1.0], [2.0]) == "n/a"  # one seed: no noise estimate
    assert compare.verdict([1.0, 1.1, 0.9], [5.0, 5.1, 4.9]) == "differs"
    assert compare.verdict([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]) == "noise"


def test_mean_ci_uses_students_t():
    stats = results.mean_ci([1.0, 2.0, 3.0])
    assert stats["mean"] == 2.0 and stats["sd"] == 1.0
    assert stats["ci95"] == pytest.approx(4.303 / 3 ** 0.5, abs=1e-6)


def test_percentile_interpolates_as_rallys():
    assert results.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert results.percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert results.percentile([], 0.5) is None


def test_refuses_what_is_not_a_results_directory(tmp_path):
    with pytest.raises(compare.CompareError, match="cannot read"):
        compare.load(str(tmp_path))
    (tmp_path / "results.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(compare.CompareError, match="not a nova-sim results file"):
        compare.load(str(tmp_path))
    (tmp_path / "results.json").write_text(json.dumps({"schema": results.SCHEMA,
                                                       "version": 99}))
    with pytest.raises(compare.CompareError, match="schema version 99"):
        compare.load(str(tmp_path))
