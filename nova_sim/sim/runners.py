"""Rally's runners on greenthreads: ``serial``, ``constant``, ``constant_for_duration``, ``rps``.

Owns when each iteration starts, on the hub's clock (virtual or real):

- ``serial`` (``times``, default 1): one iteration after the other;
- ``constant`` (``times`` default 1, ``concurrency`` default 1, ``timeout``): that many
  workers take the next iteration as soon as their last one ends;
- ``constant_for_duration`` (``duration`` required, ``concurrency``, ``timeout``): the
  same, but workers start no new iteration once ``duration`` seconds have passed;
- ``rps`` (``times`` and ``rps`` required, ``max_concurrency``, ``timeout``): iteration
  *i* (from 0) starts when *i* / elapsed <= the wanted rate, that is at *i* / rps for a
  number, and, for ``{start, end, step, duration}``, at the rate Rally computes at that
  instant (``min(start + step * (elapsed / duration - 1), end)``); when
  ``max_concurrency`` iterations run, the next waits for one to end. Rally spreads rps
  over one process per CPU; here there is one process, which changes nothing on the
  virtual clock.

``timeout`` bounds each iteration (default 600 s for ``constant`` and
``constant_for_duration``, none for ``rps``, and ``serial`` has none, as in Rally): past
it the iteration ends with Rally's ``TimeoutException``. ``max_cpu_count`` is accepted
and has no effect (one process). Must not know what an iteration does: it calls
``iteration(number)``.
"""

from __future__ import annotations

from typing import Any, Callable

from nova_sim import green

#: Runner -> (its options, the required ones).
OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "serial": (frozenset(["times"]), frozenset()),
    "constant": (frozenset(["times", "concurrency", "timeout", "max_cpu_count"]),
                 frozenset()),
    "constant_for_duration": (frozenset(["duration", "concurrency", "timeout"]),
                              frozenset(["duration"])),
    "rps": (frozenset(["times", "rps", "timeout", "max_concurrency", "max_cpu_count"]),
            frozenset(["times", "rps"])),
}
DEFAULT_TIMEOUT = 600.0


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _positive_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_config(runner_type: str, config: dict[str, Any]) -> None:
    """Raise ValueError naming the first unsupported runner, option or bad value."""
    if runner_type not in OPTIONS:
        raise ValueError(f"unsupported runner {runner_type!r} (nova-sim runs: "
                         f"{', '.join(OPTIONS)})")
    allowed, required = OPTIONS[runner_type]
    for key in sorted(config):
        if key not in allowed:
            raise ValueError(f"runner {runner_type}: unsupported option {key!r}")
    for key in sorted(required):
        if key not in config:
            raise ValueError(f"runner {runner_type}: {key!r} is required")
    for key in ("times", "concurrency", "max_concurrency", "max_cpu_count"):
        if key in config and not _positive_int(config[key]):
            raise ValueError(f"runner {runner_type}: {key} must be a positive integer")
    for key in ("duration", "timeout"):
        if key in config and not _positive_number(config[key]):
            raise ValueError(f"runner {runner_type}: {key} must be a number > 0")
    if runner_type == "rps":
        _check_rps(config["rps"])


def _check_rps(rps: Any) -> None:
    if not isinstance(rps, dict):
        if not _positive_number(rps):
            raise ValueError("runner rps: rps must be a number > 0 or {start, end, step}")
        return
    for key in sorted(rps):
        if key not in ("start", "end", "step", "duration"):
            raise ValueError(f"runner rps: unsupported rps key {key!r}")
    for key in ("start", "end", "step"):
        if not _positive_number(rps.get(key)) or rps[key] < 1:
            raise ValueError(f"runner rps: rps {key} must be a number >= 1")
    if "duration" in rps and (not _positive_number(rps["duration"]) or rps["duration"] < 1):
        raise ValueError("runner rps: rps duration must be a number >= 1")
    if rps["end"] < rps["start"]:
        raise ValueError("runner rps: rps end value must not be less than rps start value")


def planned_iterations(runner_type: str, config: dict[str, Any]) -> int | None:
    """How many iterations the runner will start (None: it runs for a duration)."""
    if runner_type == "constant_for_duration":
        return None
    return int(config.get("times", 1))


def rps_at(rps: Any, elapsed: float) -> float:
    """The rate Rally's rps runner wants ``elapsed`` seconds after the start."""
    if not isinstance(rps, dict):
        return float(rps)
    stage = elapsed / float(rps.get("duration", 1)) - 1
    return min(float(rps["start"]) + float(rps["step"]) * stage, float(rps["end"]))


def rps_start_time(rps: Any, index: int) -> float:
    """Seconds after the start at which iteration ``index`` (0-based) may start: the
    first instant t with index / t <= rps_at(t) (0 for the first iteration)."""
    if index == 0:
        return 0.0
    if not isinstance(rps, dict):
        return index / float(rps)
    low, high = 0.0, 1.0
    while high * rps_at(rps, high) < index:
        high *= 2
    for _ in range(60):  # bisection on a monotonic function: 60 halvings are exact
        middle = (low + high) / 2
        if middle * rps_at(rps, middle) >= index:
            high = middle
        else:
            low = middle
    return high


class ZeroTimeIteration(RuntimeError):
    """A duration-bound runner met an iteration that takes no time: it would never end."""


def iteration_timeout(runner_type: str, config: dict[str, Any]) -> float | None:
    """The per-iteration timeout, as Rally's runners have it: ``timeout`` or 600 s for
    ``constant`` and ``constant_for_duration``; ``timeout`` or none (0) for ``rps``;
    none for ``serial``. None: no timeout."""
    if runner_type == "serial":
        return None
    default = 0.0 if runner_type == "rps" else DEFAULT_TIMEOUT
    return float(config.get("timeout", default)) or None


def run(runner_type: str, config: dict[str, Any],
        iteration: Callable[[int], Any]) -> None:
    """Run ``iteration(number)`` (numbers from 1) as the runner says; returns when every
    started iteration has ended. ``iteration`` must not raise: it records its own
    errors and enforces ``iteration_timeout(config)`` itself. ZeroTimeIteration when a
    ``constant_for_duration`` iteration takes no time (the run would never end)."""
    numbers = iter(range(1, 1 << 62))
    if runner_type == "serial":
        for _ in range(int(config.get("times", 1))):
            iteration(next(numbers))
    elif runner_type in ("constant", "constant_for_duration"):
        _run_workers(config, iteration, numbers)
    else:
        _run_rps(config, iteration, numbers)


def _run_workers(config: dict[str, Any], iteration: Callable[[int], Any],
                 numbers: Any) -> None:
    times = int(config.get("times", 1))
    duration = config.get("duration")
    started = green.now()
    remaining = [times]

    def worker() -> None:
        while True:
            if duration is not None:
                if green.now() - started >= float(duration):
                    return
            else:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            before = green.now()
            iteration(next(numbers))
            if duration is not None and green.now() == before:
                raise ZeroTimeIteration(
                    "an iteration took no simulated time, so constant_for_duration "
                    "would never end (with no cost model, API calls take no time)")

    workers = int(config.get("concurrency", 1))
    if duration is None:
        workers = min(workers, times)
    threads = [green.spawn(worker) for _ in range(workers)]
    for thread in threads:
        thread.wait()


def _run_rps(config: dict[str, Any], iteration: Callable[[int], Any], numbers: Any) -> None:
    times = int(config["times"])
    slots = green.Semaphore(int(config.get("max_concurrency", times)))
    started = green.now()
    threads = []

    def run_one(number: int) -> None:
        try:
            iteration(number)
        finally:
            slots.release()

    for index in range(times):
        delay = started + rps_start_time(config["rps"], index) - green.now()
        if delay > 0:
            green.sleep(delay)
        slots.acquire()
        threads.append(green.spawn(run_one, next(numbers)))
    for thread in threads:
        thread.wait()
