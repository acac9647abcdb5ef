"""Periodic tasks and looping calls on the virtual clock."""

from __future__ import annotations

import logging

from nova_sim import green, periodic


class Manager(periodic.PeriodicTasks):
    def __init__(self):
        self.calls = []
        super().__init__()

    @periodic.periodic_task(spacing=10)
    def every_ten(self, context):
        self.calls.append(("every_ten", green.now()))

    @periodic.periodic_task(spacing=25, run_immediately=True)
    def every_twenty_five(self, context):
        self.calls.append(("every_twenty_five", green.now()))

    @periodic.periodic_task
    def default_spacing(self, context):
        self.calls.append(("default", green.now()))

    @periodic.periodic_task(spacing=-1)
    def disabled(self, context):
        self.calls.append(("disabled", green.now()))


def test_decorator_spacing_rules():
    assert Manager.default_spacing._periodic_spacing == periodic.DEFAULT_INTERVAL
    assert Manager.disabled._periodic_enabled is False
    with green.virtual_time():
        manager = Manager()
        names = manager.periodic_task_names()
        assert names == ["every_ten", "every_twenty_five", "default_spacing"]


def test_run_periodic_tasks_runs_due_tasks_and_returns_idle_time():
    with green.virtual_time():
        manager = Manager()
        idle = manager.run_periodic_tasks(None)
        # only the run_immediately task ran; the next due is every_ten at t=10
        assert manager.calls == [("every_twenty_five", 0.0)]
        assert idle == 10.0
        green.sleep(10)
        idle = manager.run_periodic_tasks(None)
        assert manager.calls[-1] == ("every_ten", 10.0)
        assert idle == 10.0


def test_runner_drives_tasks_drift_free_for_an_hour_fast():
    with green.virtual_time(seed=1):
        manager = Manager()
        runner = periodic.PeriodicRunner(manager, lambda: None, fuzzy_delay=0)
        runner.start(initial_delay=0)
        green.sleep(3600.5)
        runner.stop()
        ten = [t for name, t in manager.calls if name == "every_ten"]
        assert len(ten) == 360
        assert ten[:3] == [10.0, 20.0, 30.0]
        assert all(b - a == 10.0 for a, b in zip(ten, ten[1:], strict=False))
        assert len([1 for name, _ in manager.calls if name == "default"]) == 60
        assert green.now() == 3600.5


def test_runner_random_initial_delay_is_repeatable():
    delays = []
    for _ in range(2):
        with green.virtual_time(seed=7):
            manager = Manager()
            runner = periodic.PeriodicRunner(manager, lambda: None, fuzzy_delay=60)
            runner.start()
            green.sleep(61)
            runner.stop()
            delays.append(manager.calls[0][1])
    assert delays[0] == delays[1]
    assert 0 <= delays[0] <= 60


class Failing(periodic.PeriodicTasks):
    def __init__(self):
        self.calls = 0
        self.after = 0
        super().__init__()

    @periodic.periodic_task(spacing=5)
    def explode(self, context):
        self.calls += 1
        raise RuntimeError("boom")

    @periodic.periodic_task(spacing=5)
    def after_the_explosion(self, context):
        self.after += 1


def test_task_that_raises_keeps_the_loop_alive(caplog):
    with green.virtual_time():
        manager = Failing()
        runner = periodic.PeriodicRunner(manager, lambda: None, fuzzy_delay=0)
        with caplog.at_level(logging.ERROR, logger="nova_sim.periodic"):
            runner.start(initial_delay=0)
            green.sleep(60.5)
        runner.stop()
        assert manager.calls == 12
        assert manager.after == 12
        assert "Error during Failing.explode" in caplog.text


class Slow(periodic.PeriodicTasks):
    @periodic.periodic_task(spacing=5)
    def slow(self, context):
        green.sleep(8)


def test_task_outlasting_its_interval_is_logged(caplog):
    with green.virtual_time():
        manager = Slow()
        with caplog.at_level(logging.WARNING, logger="nova_sim.periodic"):
            green.sleep(5)
            manager.run_periodic_tasks(None)
        assert "longer than its interval" in caplog.text


def test_set_periodic_spacing_changes_and_disables():
    with green.virtual_time():
        manager = Manager()
        manager.set_periodic_spacing("every_ten", 0)
        assert manager._periodic_spacing["every_ten"] == 60.0
        manager.set_periodic_spacing("every_ten", -1)
        assert "every_ten" not in manager.periodic_task_names()


def test_fixed_interval_loop_is_drift_free_and_survives_errors():
    with green.virtual_time():
        times = []

        def beat():
            times.append(green.now())
            green.sleep(1)
            if len(times) == 2:
                raise ValueError("one bad beat")

        loop = periodic.FixedIntervalLoop(beat, 10).start(initial_delay=5)
        green.sleep(50)
        loop.stop()
        green.sleep(50)
        assert times == [5.0, 15.0, 25.0, 35.0, 45.0]


def test_fixed_interval_loop_in_the_hub_runs_without_greenthreads(caplog):
    with green.virtual_time() as hub:
        times = []

        def beat():
            times.append(green.now())
            if len(times) == 3:
                green.sleep(1)  # blocking in the hub: refused, logged, the loop goes on

        live = len(hub.live)
        loop = periodic.FixedIntervalLoop(beat, 10, name="beat", in_hub=True)
        loop.start(initial_delay=5)
        with caplog.at_level("ERROR"):
            green.sleep(50)
        assert len(hub.live) == live  # no runner greenlet was needed
        loop.stop()
        green.sleep(50)
        assert times == [5.0, 15.0, 25.0, 35.0, 45.0]
        assert "beat failed" in caplog.text and "the hub cannot block" in caplog.text
