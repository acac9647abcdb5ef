"""The hub's pass budgets: a pass of the ready queue that has run long enough on the real
clock ends early so that due timers are served, without changing the order in which the
greenthreads run; a virtual-clock hub ignores the real clock."""

from __future__ import annotations

import itertools

import pytest

from nova_sim import green
from nova_sim.green import hub as hub_module
from nova_sim.green.hub import Hub, set_hub


@pytest.fixture
def real_hub():
    hub = Hub()
    previous = set_hub(hub)
    try:
        yield hub
    finally:
        hub.kill_all()
        hub.close()
        set_hub(previous)


@pytest.fixture
def slow_machine(monkeypatch):
    """Every read of the real clock that bounds a pass sees a millisecond more: as if
    each greenthread's step ran for a millisecond (no real waiting)."""
    ticks = itertools.count()
    monkeypatch.setattr(hub_module, "_monotonic", lambda: next(ticks) * 0.001)


def _run(workers: int = 20, steps: int = 3) -> list[str]:
    """``workers`` greenthreads each record ``steps`` steps, yielding between them; a
    timer due at once records "timer". The events, in order."""
    events: list[str] = []

    def worker(name: int) -> None:
        for step in range(steps):
            events.append(f"w{name}.{step}")
            green.sleep(0)

    threads = [green.spawn(worker, name) for name in range(workers)]
    green.get_hub().call_later(0, lambda _: events.append("timer"))
    for thread in threads:
        thread.wait()
    return events


def _without_timer(events: list[str]) -> list[str]:
    return [event for event in events if event != "timer"]


def test_a_long_pass_serves_a_due_timer_after_its_time_limit(real_hub, slow_machine):
    events = _run()
    # At a millisecond per step, the 2 ms limit ends the first pass after a few steps,
    # not after the twenty greenthreads and the 64 hand-offs of the count budget.
    assert events.index("timer") <= 3
    # The greenthreads still run in FIFO order, each step in turn.
    assert _without_timer(events) == [f"w{name}.{step}" for step in range(3)
                                      for name in range(20)]


def test_without_a_time_limit_the_timer_waits_for_the_whole_pass(real_hub, slow_machine,
                                                                monkeypatch):
    monkeypatch.setattr(real_hub, "pass_time_limit", None)
    events = _run()
    assert events.index("timer") >= 20
    assert _without_timer(events) == [f"w{name}.{step}" for step in range(3)
                                      for name in range(20)]


def test_the_virtual_clock_ignores_the_real_clock(slow_machine):
    # The same program gives the same order whatever the real clock says.
    with green.virtual_time():
        slow = _run()
    with green.virtual_time():
        hub_module._monotonic = lambda: 0.0  # monkeypatch restores the original
        still = _run()
    assert slow == still
    assert slow.index("timer") >= 20
