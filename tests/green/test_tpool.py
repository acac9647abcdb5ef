"""nova_sim.green.tpool: blocking calls in native threads while the hub keeps running."""

from __future__ import annotations

import threading

import pytest

from nova_sim import green
from nova_sim.green import tpool


def test_the_hub_runs_other_greenthreads_while_a_thread_blocks():
    released = threading.Event()
    order = []

    def blocking() -> str:
        # Blocks its native thread until a greenthread releases it: if the hub were
        # waiting for this call, nothing could set the event (the test would time out).
        assert released.wait(timeout=30)
        order.append("thread done")
        return threading.current_thread().name

    def other() -> None:
        order.append("greenthread ran")
        released.set()

    green.spawn(other)
    name = tpool.execute(blocking)
    assert name.startswith("nova-sim-tpool") and name != threading.current_thread().name
    assert order == ["greenthread ran", "thread done"]


def test_errors_come_back_to_the_caller():
    def fails() -> None:
        raise KeyError("from the thread")

    with pytest.raises(KeyError, match="from the thread"):
        tpool.execute(fails)


def test_many_callers_wait_at_once():
    results = green.GreenPool(10).imap(lambda n: tpool.execute(pow, n, 2), range(20))
    assert list(results) == [n * n for n in range(20)]


def test_the_virtual_clock_calls_directly():
    with green.virtual_time():
        assert tpool.execute(threading.current_thread) is threading.current_thread()
