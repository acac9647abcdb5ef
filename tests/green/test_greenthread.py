"""spawn, spawn_n, spawn_after, sleep, kill and GreenThread: exact event orders."""

import contextvars
import logging

import pytest

from nova_sim import green


def test_spawn_returns_result_and_runs_later():
    events = []
    gt = green.spawn(lambda: events.append("ran") or 42)
    events.append("spawned")
    assert gt.wait() == 42
    assert events == ["spawned", "ran"]
    assert gt.dead


def test_spawn_wait_reraises_exception():
    def boom():
        raise ValueError("boom")

    gt = green.spawn(boom)
    with pytest.raises(ValueError, match="boom"):
        gt.wait()
    with pytest.raises(ValueError):
        gt.wait()  # again: same answer


def test_sleep_zero_lets_every_ready_greenthread_run_once():
    events = []

    def worker(name):
        for i in range(3):
            events.append(f"{name}{i}")
            green.sleep(0)

    a, b, c = (green.spawn(worker, n) for n in "abc")
    for gt in (a, b, c):
        gt.wait()
    assert events == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def test_spawn_n_exception_is_logged_and_hub_keeps_running(caplog):
    events = []

    def bad():
        events.append("bad")
        raise RuntimeError("spawn_n failure")

    with caplog.at_level(logging.ERROR):
        green.spawn_n(bad)
        green.spawn_n(events.append, "good")
        green.sleep(0)
        green.sleep(0)
    assert events == ["bad", "good"]
    assert "spawn_n failure" in caplog.text
    assert "Traceback" in caplog.text


def _greenthread_errors(caplog):
    return [record for record in caplog.records
            if record.name == "nova_sim.green.greenthread" and record.levelno >= logging.ERROR]


def test_a_failed_spawn_nobody_waits_on_is_logged_once_with_its_traceback(caplog):
    def lost():
        raise ValueError("lost failure")

    with caplog.at_level(logging.ERROR):
        gt = green.spawn(lost)
        green.sleep(0)
        green.sleep(0)
    assert gt.dead
    [record] = _greenthread_errors(caplog)
    assert record.exc_info[0] is ValueError
    assert "lost failure" in caplog.text and "Traceback" in caplog.text
    assert "in lost" in caplog.text  # the frame that raised


@pytest.mark.parametrize("how", ["wait", "link"])
def test_a_failed_spawn_someone_waits_on_is_logged_once_and_reaches_the_waiter(caplog, how):
    """As eventlet: its hub prints the greenthread's traceback once and the waiter (or
    the link) gets the exception too; nothing else reports it."""
    def broken():
        raise ValueError("seen")

    got = []
    with caplog.at_level(logging.DEBUG):
        gt = green.spawn(broken)
        if how == "wait":
            with pytest.raises(ValueError, match="seen"):
                gt.wait()
            with pytest.raises(ValueError, match="seen"):
                gt.wait()  # asking twice does not log again
        else:
            gt.link(lambda ended: got.append(ended._exception))
            green.sleep(0)
            green.sleep(0)
            assert [type(error) for error in got] == [ValueError]
    assert len(_greenthread_errors(caplog)) == 1
    assert caplog.text.count("Traceback") == 1


def test_a_killed_spawn_is_not_logged(caplog):
    def sleeper():
        green.sleep(10)

    with caplog.at_level(logging.DEBUG):
        running = green.spawn(sleeper)
        never_started = green.spawn(sleeper)
        green.sleep(0)
        running.kill()
        never_started.kill()
        for gt in (running, never_started):
            with pytest.raises(green.GreenletExit):
                gt.wait()
    assert _greenthread_errors(caplog) == []


def test_spawn_after_order_and_cancel_before_start():
    with green.virtual_time():
        events = []
        green.spawn_after(2, events.append, "two")
        green.spawn_after(1, events.append, "one")
        cancelled = green.spawn_after(1.5, events.append, "never")
        linked = []
        cancelled.link(lambda gt: linked.append("link"))
        cancelled.cancel()
        green.sleep(3)
        assert events == ["one", "two"]
        assert linked == ["link"]
        assert cancelled.dead


def test_equal_deadlines_fire_in_scheduling_order():
    with green.virtual_time():
        events = []
        for i in range(20):
            green.spawn_after(5, events.append, i)
        green.sleep(6)
        assert events == list(range(20))


def test_cancel_after_start_does_nothing():
    with green.virtual_time():
        events = []

        def job():
            events.append("start")
            green.sleep(1)
            events.append("end")

        gt = green.spawn(job)
        green.sleep(0)
        gt.cancel()
        gt.wait()
        assert events == ["start", "end"]


def test_kill_running_greenthread_runs_links_and_wait_raises():
    with green.virtual_time():
        events = []

        def sleeper():
            try:
                green.sleep(100)
            finally:
                events.append("cleanup")

        gt = green.spawn(sleeper)
        gt.link(lambda g, tag: events.append(tag), "linked")
        green.sleep(0)
        green.kill(gt)
        events.append("after kill")
        assert events == ["cleanup", "linked", "after kill"]
        with pytest.raises(green.GreenletExit):
            gt.wait()
        assert green.get_hub().pending_timers == 0


def test_kill_never_started_runs_links_and_never_runs():
    events = []
    gt = green.spawn(events.append, "ran")
    gt.link(lambda g: events.append("link"))
    gt.kill()
    green.sleep(0)
    assert events == ["link"]
    assert gt.dead
    with pytest.raises(green.GreenletExit):
        gt.wait()


def test_kill_with_custom_exception():
    gt = green.spawn(green.sleep, 10)
    green.sleep(0)
    gt.kill(KeyError, "k")
    with pytest.raises(KeyError):
        gt.wait()


def test_link_after_death_calls_at_once_and_unlink():
    gt = green.spawn(lambda: 1)
    gt.wait()
    seen = []
    gt.link(lambda g, x: seen.append((g.wait(), x)), "now")
    assert seen == [(1, "now")]
    other = green.spawn(lambda: 2)
    fn = lambda g: seen.append("no")  # noqa: E731
    other.link(fn)
    assert other.unlink(fn)
    other.wait()
    assert seen == [(1, "now")]


def test_finished_sleep_leaves_no_timer():
    with green.virtual_time() as hub:
        for _ in range(10):
            green.sleep(0.5)
        assert hub.pending_timers == 0


def test_spawn_copies_context():
    var = contextvars.ContextVar("var", default="unset")
    var.set("parent")
    seen = []

    def child():
        seen.append(var.get())
        var.set("child")  # must not leak back

    green.spawn(child).wait()
    green.spawn_n(child)
    green.sleep(0)
    with green.virtual_time():
        green.spawn_after(1, child)
        green.sleep(2)
    pool = green.GreenPool(2)
    pool.spawn(child).wait()
    pool.spawn_n(child)
    pool.waitall()
    assert seen == ["parent"] * 5
    assert var.get() == "parent"


def test_getcurrent_inside_spawn_is_the_greenthread():
    holder = []
    gt = green.spawn(lambda: holder.append(green.getcurrent()))
    gt.wait()
    assert holder == [gt]


def test_hour_of_periodic_rearming_runs_fast_on_virtual_clock():
    import time

    start = time.process_time()
    with green.virtual_time():
        ticks = []

        def tick():
            ticks.append(green.now())
            green.spawn_after(1, tick)

        green.spawn_after(1, tick)
        green.sleep(3600.5)
        assert len(ticks) == 3600
        assert ticks[:3] == [1.0, 2.0, 3.0]
        assert ticks[-1] == 3600.0
    # leaving the block killed the re-arming chain; it took well under a second of CPU
    assert time.process_time() - start < 1.0


def _program_log(seed):
    log = []
    with green.virtual_time(seed=seed) as hub:
        pool = green.GreenPool(3)
        queue = green.Queue()

        def producer(n):
            for i in range(3):
                green.sleep(hub.random.random())
                queue.put((n, i, round(green.now(), 6)))

        for n in range(5):
            pool.spawn_n(producer, n)
        for _ in range(15):
            log.append(queue.get())
        log.append(green.random_uuid())
    return log


def test_same_program_twice_gives_identical_event_log():
    assert _program_log(7) == _program_log(7)
    assert _program_log(7) != _program_log(8)


def test_virtual_time_exit_kills_pending_and_restores_hub():
    outer = green.get_hub()
    cleaned = []
    with green.virtual_time() as hub:
        assert green.get_hub() is hub
        assert green.now() == 0.0

        def forever():
            try:
                while True:
                    green.sleep(10)
            finally:
                cleaned.append("cleanup")

        green.spawn(forever)
        green.spawn_n(forever)
        green.sleep(100)
        assert green.now() == 100.0
    assert cleaned == ["cleanup", "cleanup"]
    assert green.get_hub() is outer


def test_virtual_time_deadlock_is_reported():
    with green.virtual_time():
        with pytest.raises(green.DeadlockError):
            green.Event().wait()


def test_wallclock_under_virtual_time_starts_at_epoch():
    with green.virtual_time(epoch=1000.0):
        green.sleep(5)
        assert green.wallclock() == 1005.0


def test_random_uuid_repeatable_under_seed():
    with green.virtual_time(seed=3):
        first = [green.random_uuid() for _ in range(3)]
    with green.virtual_time(seed=3):
        second = [green.random_uuid() for _ in range(3)]
    assert first == second
    assert len(set(first)) == 3


def test_sleep_from_hub_is_an_error():
    errors = []

    def in_hub(_):
        try:
            green.sleep(0)
        except RuntimeError as exc:
            errors.append(str(exc))

    hub = green.get_hub()
    hub.call_later(0, in_hub)
    green.sleep(0.001)
    assert errors and "hub cannot block" in errors[0]


def test_killing_a_finished_spawn_n_job_does_not_touch_the_next_job():
    """spawn_n jobs run on recycled runners: a handle kept from an ended job must not
    reach the next job that runner runs (nor lose it)."""
    handles = []
    events = []
    green.spawn_n(lambda: handles.append(green.getcurrent()))
    green.sleep(0)
    green.kill(handles[0])  # its job is over
    assert handles[0].dead

    def second():
        events.append("second started")
        green.sleep(0)
        events.append("second finished")

    green.spawn_n(second)
    green.sleep(0)
    green.kill(handles[0])
    green.sleep(0)
    green.sleep(0)
    assert events == ["second started", "second finished"]


def test_killing_a_running_spawn_n_job_through_its_handle():
    handles = []
    events = []

    def job():
        handles.append(green.getcurrent())
        try:
            green.sleep(100)
        finally:
            events.append("killed")

    with green.virtual_time():
        green.spawn_n(job)
        green.sleep(0)
        green.kill(handles[0])
        assert events == ["killed"]
        green.spawn_n(events.append, "next job ran")
        green.sleep(0)
        assert events == ["killed", "next job ran"]


@pytest.mark.parametrize("spawn", ["spawn", "spawn_n"])
def test_a_finished_task_leaves_nothing_behind_in_its_idle_runner(spawn):
    """Its arguments and its context (a request context, trace spans) are freed when it
    ends, though its runner stays parked for the next task: a new runner (greenlet keeps
    its start arguments for its whole life) and a recycled one alike."""
    import gc
    import weakref

    class Payload:
        pass

    var = contextvars.ContextVar("test_payload")

    def job(payload, done):
        var.set(Payload())  # only the job's own context holds this one
        done.append(weakref.ref(var.get()))

    with green.virtual_time(seed=1):
        refs = []
        for _ in range(3):  # the first runs on a new runner, the others on recycled ones
            payload, done = Payload(), []
            refs.append(weakref.ref(payload))
            getattr(green, spawn)(job, payload, done)
            del payload
            green.sleep(0)
            green.sleep(0)
            refs.extend(done)
        gc.collect()
        assert len(refs) == 6 and [ref() for ref in refs] == [None] * 6


def _free_depth() -> int:
    """How many more nested calls fit before RecursionError."""
    def down(level):
        try:
            return down(level + 1)
        except RecursionError:
            return level
    return down(0)


def test_a_greenthread_spawned_deep_in_a_stack_gets_a_full_stack():
    """A greenthread that blocks deep in its stack hands off to the next ready one; when
    that one needs a new runner greenlet, the runner must not start from there (a greenlet
    keeps the recursion depth it was started at, and runners are recycled)."""
    room = {}

    def measure(name):
        room[name] = _free_depth()

    def deep(level):
        if level:
            return deep(level - 1)
        for number in range(3):
            green.spawn_n(measure, f"task{number}")
        green.sleep(0)

    with green.virtual_time(seed=1):  # a fresh hub: no parked runners but the one below
        green.spawn_n(measure, "shallow")
        green.sleep(0)
        green.spawn(deep, 400).wait()
    assert set(room) == {"shallow", "task0", "task1", "task2"}
    for name in ("task0", "task1", "task2"):
        assert room[name] > room["shallow"] - 50, room
