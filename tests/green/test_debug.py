"""Instruments, blocking detection, greenthread dumps and switch tracing."""

import time

from nova_sim import green
from nova_sim.green import debug


class Recorder:
    def __init__(self):
        self.events = []

    def spawned(self, gt):
        self.events.append("spawned")

    def exited(self, gt):
        self.events.append("exited")

    def timer_fired(self, timer):
        self.events.append("timer")


def test_instruments_see_spawn_exit_and_timers():
    with green.virtual_time() as hub:
        recorder = Recorder()
        hub.add_instrument(recorder)
        green.spawn(lambda: None).wait()
        green.sleep(1)
        hub.remove_instrument(recorder)
        green.spawn(lambda: None).wait()
        assert recorder.events == ["spawned", "exited", "timer"]


def test_switch_tracer_records_switches():
    with green.virtual_time():
        with debug.SwitchTracer() as tracer:
            green.spawn(green.sleep, 0).wait()
        names = {name for pair in tracer.switches for name in pair}
        assert {"main", "hub"} <= names


def test_blocking_detector_reports_a_greenthread_that_blocks_the_hub():
    def blocker():
        # Hold the hub without yielding, as a blocking call would (the detector measures
        # real time, so this test must spend some).
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            pass

    detector = debug.hub_blocking_detection(True, resolution=0.1, report=lambda t: None)
    try:
        green.spawn(blocker).wait()
    finally:
        debug.hub_blocking_detection(False)
    assert detector.reports, "the detector did not fire"
    assert "blocker" in detector.reports[0]
    assert "held the hub" in detector.reports[0]


def test_dump_lists_blocked_greenthreads_with_stacks():
    with green.virtual_time():
        def napping_in_here():
            green.sleep(100)

        green.spawn(napping_in_here)
        green.sleep(0)
        text = debug.format_greenthreads()
        assert "napping_in_here" in text
