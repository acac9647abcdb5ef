"""Instruments are isolated: one that raises is logged once and removed, the hub goes on;
a BaseException goes through; the registry never goes stale."""

from __future__ import annotations

import logging
import socket

import pytest

from nova_sim import green
from nova_sim.green.instruments import Instruments


class Failing:
    """Raises in ``hook`` (every call), records the calls of the others."""

    def __init__(self, hook, error=RuntimeError):
        self.hook = hook
        self.error = error
        self.calls = []

    def _called(self, name):
        self.calls.append(name)
        if name == self.hook:
            raise self.error(f"bug in {name}")

    def spawned(self, gt):
        self._called("spawned")

    def exited(self, gt):
        self._called("exited")

    def timer_fired(self, timer):
        self._called("timer_fired")

    def switched(self, origin, target):
        self._called("switched")


class Counting:
    def __init__(self):
        self.calls = []

    def spawned(self, gt):
        self.calls.append("spawned")

    def exited(self, gt):
        self.calls.append("exited")

    def timer_fired(self, timer):
        self.calls.append("timer_fired")


def _removals(caplog):
    return [r for r in caplog.records
            if r.levelno >= logging.ERROR and "and was removed" in r.getMessage()]


@pytest.mark.parametrize("hook", ["spawned", "exited", "timer_fired", "switched"])
@pytest.mark.parametrize("alone", [True, False], ids=["alone", "with-another"])
def test_an_instrument_that_raises_is_logged_once_and_removed(hook, alone, caplog):
    with green.virtual_time() as hub:
        failing, counting = Failing(hook), Counting()
        hub.add_instrument(failing)
        if not alone:
            hub.add_instrument(counting)
        for _ in range(3):
            assert green.spawn(lambda: 7).wait() == 7
            green.sleep(1)
            green.spawn_n(lambda: None)
            green.sleep(0)
        assert failing not in hub.instruments
        assert failing.calls.count(hook) == 1
        [record] = _removals(caplog)
        assert record.exc_info[0] is RuntimeError
        assert f"failed in {hook}" in record.getMessage()
        if not alone:
            assert counting in hub.instruments
            assert counting.calls.count("spawned") == 6 and counting.calls.count("exited") == 6
        hub.remove_instrument(counting)
        assert len(hub.instruments) == 0 and hub.instruments.spawned is None


def test_io_wait_is_isolated_too(caplog):
    class Watching:
        def io_wait(self, fd, events):
            raise ValueError("io bug")

    hub = green.get_hub()
    watching = Watching()
    hub.add_instrument(watching)
    left, right = socket.socketpair()
    try:
        green_left = green.GreenSocket(sock=left)
        green.spawn_n(right.sendall, b"x")  # after recv has had to wait
        assert green_left.recv(1) == b"x"
        green.spawn_n(right.sendall, b"y")
        assert green_left.recv(1) == b"y"  # the instrument is gone: no second report
    finally:
        hub.remove_instrument(watching)
        left.close()
        right.close()
    [record] = _removals(caplog)
    assert "failed in io_wait" in record.getMessage()


def test_a_base_exception_from_an_instrument_goes_through():
    with green.virtual_time() as hub:
        interrupting = Failing("spawned", KeyboardInterrupt)
        hub.add_instrument(interrupting)
        with pytest.raises(KeyboardInterrupt):
            green.spawn(lambda: None)
        assert interrupting in hub.instruments  # not a bug of the instrument: it stays
        hub.remove_instrument(interrupting)


def test_the_registry_read_at_each_use_never_goes_stale():
    registry = Instruments(("seen",), "test")
    held = registry  # what a module would import: the registry, not a hook
    assert held.seen is None
    calls = []

    class Seeing:
        def seen(self, value):
            calls.append(value)

    first, second = Seeing(), Seeing()
    registry.add(first)
    held.seen(1)
    registry.add(second)
    held.seen(2)
    registry.remove(first)
    held.seen(3)
    assert calls == [1, 2, 2, 3]
    registry.add(second)  # again: idempotent
    assert list(registry) == [second]
