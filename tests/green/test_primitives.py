"""Event, Semaphore, BoundedSemaphore, Timeout: semantics and exact wake-up orders."""

import pytest

from nova_sim import green


def test_event_wakes_waiters_in_fifo_order_with_value():
    evt = green.Event()
    events = []

    def waiter(name):
        events.append((name, evt.wait()))

    for name in "abc":
        green.spawn(waiter, name)
    green.sleep(0)
    assert not evt.ready()
    evt.send("v")
    green.sleep(0)
    assert events == [("a", "v"), ("b", "v"), ("c", "v")]
    assert evt.ready() and evt.wait() == "v"


def test_event_timeout_returns_none_on_virtual_clock():
    with green.virtual_time():
        evt = green.Event()
        assert evt.wait(timeout=5) is None
        assert green.now() == 5.0


def test_event_send_exception_and_reset():
    evt = green.Event()
    evt.send_exception(KeyError("k"))
    with pytest.raises(KeyError):
        evt.wait()
    assert evt.has_exception()
    evt.reset()
    assert not evt.ready()
    evt.send(1)
    assert evt.wait() == 1
    with pytest.raises(AssertionError):
        evt.send(2)


def test_semaphore_fifo_handoff_and_balance():
    sem = green.Semaphore(1)
    events = []

    def worker(name):
        with sem:
            events.append(f"{name} in")
            green.sleep(0)
            events.append(f"{name} out")

    assert sem.acquire()
    threads = [green.spawn(worker, n) for n in "abc"]
    green.sleep(0)
    assert sem.balance == -3
    assert sem.counter == 0
    sem.release()
    for t in threads:
        t.wait()
    assert events == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert sem.counter == 1 and sem.balance == 1


def test_semaphore_nonblocking_and_timeout():
    with green.virtual_time():
        sem = green.Semaphore(0)
        assert sem.acquire(blocking=False) is False
        assert sem.acquire(timeout=2) is False
        assert green.now() == 2.0
        green.spawn_after(1, sem.release)
        assert sem.acquire(timeout=5) is True
        assert green.now() == 3.0


def test_semaphore_killed_waiter_after_handoff_gives_unit_back():
    sem = green.Semaphore(0)
    waiter = green.spawn(sem.acquire)
    green.sleep(0)
    sem.release()  # handed to the waiter, which has not run yet
    waiter.kill()
    assert sem.counter == 1


def test_bounded_semaphore_rejects_extra_release():
    sem = green.BoundedSemaphore(2)
    sem.acquire()
    sem.release()
    with pytest.raises(ValueError):
        sem.release()


def test_semaphore_negative_value_rejected():
    with pytest.raises(ValueError):
        green.Semaphore(-1)


def test_timeout_raises_itself_and_cancels():
    with green.virtual_time() as hub:
        with pytest.raises(green.Timeout) as info:
            with green.Timeout(3):
                green.sleep(10)
        assert green.now() == 3.0
        assert str(info.value) == "3 seconds"
        with green.Timeout(3):
            green.sleep(1)
        assert hub.pending_timers == 0


def test_timeout_false_is_silent_and_custom_exception():
    with green.virtual_time():
        with green.Timeout(1, False):
            green.sleep(5)
        assert green.now() == 1.0
        with pytest.raises(KeyError):
            with green.Timeout(1, KeyError("late")):
                green.Event().wait()


def test_timeout_none_never_fires():
    with green.virtual_time():
        with green.Timeout(None):
            green.sleep(1000)
        assert green.now() == 1000.0


def test_nested_timeouts_inner_fires_first():
    with green.virtual_time():
        outer = green.Timeout(10)
        try:
            with pytest.raises(green.Timeout) as info:
                with green.Timeout(2):
                    green.sleep(5)
            assert info.value.seconds == 2
        finally:
            outer.cancel()


def test_forgotten_timeout_never_hits_a_later_greenthread():
    """A Timeout left armed by a greenthread that ended must not fire into whatever
    runs next on the same (recycled) runner greenlet."""
    with green.virtual_time():
        def careless():
            green.Timeout(1)  # armed and forgotten: never cancelled
            return "done"

        assert green.spawn(careless).wait() == "done"
        events = []

        def later():
            green.sleep(5)
            events.append("later finished")

        green.spawn(later).wait()
        assert events == ["later finished"]
