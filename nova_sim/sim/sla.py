"""Rally's SLA checks: ``failure_rate``, ``max_seconds_per_iteration``, ``max_avg_duration``.

Owns checking an SLA section and judging a workload's iterations against it, with
Rally's semantics and wording:

- ``failure_rate: {min: P, max: P}`` (percent, defaults 0 and 100): the share of
  iterations with an error lies within [min, max];
- ``max_seconds_per_iteration: S``: no iteration (failed ones too) took more than S;
- ``max_avg_duration: S``: the mean duration of the successful iterations is at most S
  (0 when none succeeded).

Each verdict is Rally's ``{"criterion", "success", "detail"}``. Must not know how the
iterations were run.
"""

from __future__ import annotations

from typing import Any

SUPPORTED = ("failure_rate", "max_seconds_per_iteration", "max_avg_duration")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_config(config: dict[str, Any]) -> None:
    """Raise ValueError naming the first unsupported or malformed SLA criterion."""
    for name, value in config.items():
        if name not in SUPPORTED:
            raise ValueError(f"unsupported SLA {name!r} (nova-sim checks: "
                             f"{', '.join(SUPPORTED)})")
        if name == "failure_rate":
            if not isinstance(value, dict) or not value:
                raise ValueError("SLA failure_rate needs min and/or max (percent)")
            for key, bound in value.items():
                if key not in ("min", "max"):
                    raise ValueError(f"SLA failure_rate: unsupported key {key!r}")
                if not _number(bound) or not 0 <= bound <= 100:
                    raise ValueError(f"SLA failure_rate {key} must be a number in [0, 100]")
        elif not _number(value) or value <= 0:
            raise ValueError(f"SLA {name} must be a number > 0")


def _status(success: bool) -> str:
    return "Passed" if success else "Failed"


def evaluate(config: dict[str, Any], iterations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdict of each criterion of ``config`` over ``iterations`` (dicts with
    ``duration`` and ``error``, a list that is empty on success), in Rally's form."""
    results = []
    total = len(iterations)
    errors = sum(1 for iteration in iterations if iteration["error"])
    for name, value in config.items():
        if name == "failure_rate":
            low, high = value.get("min", 0), value.get("max", 100)
            rate = errors * 100.0 / total if total else 0.0
            success = low <= rate <= high
            detail = (f"Failure rate criteria {low:.2f}% <= {rate:.2f}% <= {high:.2f}% - "
                      f"{_status(success)}")
        elif name == "max_seconds_per_iteration":
            longest = max((iteration["duration"] for iteration in iterations), default=0.0)
            success = longest <= value
            detail = (f"Maximum seconds per iteration {longest:.2f}s <= {value:.2f}s - "
                      f"{_status(success)}")
        else:  # max_avg_duration
            ok = [iteration["duration"] for iteration in iterations if not iteration["error"]]
            mean = sum(ok) / len(ok) if ok else 0.0
            success = mean <= value
            detail = (f"Average duration of one iteration {mean:.2f}s <= {value:.2f}s - "
                      f"{_status(success)}")
        results.append({"criterion": name, "success": success, "detail": detail})
    return results
