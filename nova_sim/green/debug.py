"""Debugging the runtime: blocking detection, greenthread dumps, switch tracing.

Owns three instruments built on the hub's instrument hooks (nothing here is on the fast
path unless it is switched on):

- ``hub_blocking_detection(True, resolution=1.0)``: a watchdog OS thread notices when one
  greenthread has held the hub for more than ``resolution`` seconds of *real* time (it
  measures the CPU, so it uses real time under either clock) and logs that greenthread's
  stack. This is what happens when code calls ``time.sleep`` or a blocking socket in a
  greenthread: every other greenthread stalls.
- ``format_greenthreads()`` / ``dump_greenthreads()``: every live greenthread with its stack.
- ``SwitchTracer``: records ``(origin, target)`` for each switch (for teaching demos).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import Any, Callable

from nova_sim.green.hub import Runner, get_hub

LOG = logging.getLogger(__name__)


def greenthread_name(g: Any) -> str:
    """A readable name: the function a greenthread runs, or 'main' / 'hub' / 'idle'."""
    hub = get_hub()
    if g is hub.greenlet:
        return "hub"
    if getattr(g, "parent", True) is None:
        return "main"
    gt = getattr(g, "gt", None)
    if gt is not None:
        g = gt
    name = getattr(g, "name", None)
    if name:
        return name
    func = getattr(g, "_func", None)
    if func is None and isinstance(g, Runner):
        frame = g.gr_frame
        return "idle" if g in hub.idle_runners else (
            frame.f_code.co_name if frame is not None else "runner")
    if func is None:
        func = getattr(g, "run", None)
    return getattr(func, "__qualname__", type(g).__name__)


def format_greenthreads() -> str:
    """Every live greenthread of the current hub with its stack, as text (idle runners
    are left out)."""
    lines = []
    hub = get_hub()
    idle = set(map(id, hub.idle_runners))
    for g in sorted(hub.live, key=id):
        if id(g) in idle:
            continue
        frame = getattr(g, "gr_frame", None)
        lines.append(f"greenthread {greenthread_name(g)} at 0x{id(g):x}:")
        if frame is None:
            lines.append("  (not started)")
            continue
        lines.extend("  " + line.rstrip("\n") for line in traceback.format_stack(frame))
    return "\n".join(lines)


def dump_greenthreads(log: Callable[[str], Any] = print) -> None:
    """Print (or pass to ``log``) every live greenthread with its stack."""
    log(format_greenthreads())


class BlockingDetector:
    """Instrument + watchdog thread: reports a greenthread that holds the hub too long."""

    def __init__(self, resolution: float = 1.0, report: Callable[[str], Any] | None = None):
        self.resolution = resolution
        self.report = report or (lambda text: LOG.warning("%s", text))
        self.reports: list[str] = []
        self._hub = get_hub()
        self._thread_ident = threading.get_ident()
        self._running_since = time.monotonic()
        self._current: Any = None
        self._reported: Any = None
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="hub-blocking-detector",
                                          daemon=True)

    def switched(self, origin: Any, target: Any) -> None:
        self._running_since = time.monotonic()
        self._current = target
        self._reported = None

    def start(self) -> None:
        self._hub.add_instrument(self)
        self._watchdog.start()

    def stop(self) -> None:
        self._stop.set()
        self._hub.remove_instrument(self)
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.resolution / 4):
            held = time.monotonic() - self._running_since
            current = self._current
            if held < self.resolution or current is self._hub.greenlet \
                    or current is self._reported:
                continue
            frame = sys._current_frames().get(self._thread_ident)
            stack = "".join(traceback.format_stack(frame)) if frame else "(no stack)"
            text = (f"blocking detected: greenthread {greenthread_name(current)} has held "
                    f"the hub for {held:.2f}s (resolution {self.resolution}s) without "
                    f"yielding:\n{stack}")
            self._reported = current
            self.reports.append(text)
            self.report(text)


_detector: BlockingDetector | None = None


def hub_blocking_detection(enabled: bool = False, resolution: float = 1.0,
                           report: Callable[[str], Any] | None = None
                           ) -> BlockingDetector | None:
    """Switch blocking detection on (returns the detector) or off (returns None)."""
    global _detector
    if _detector is not None:
        _detector.stop()
        _detector = None
    if enabled:
        _detector = BlockingDetector(resolution, report)
        _detector.start()
    return _detector


class SwitchTracer:
    """Records every greenthread switch as ``(origin name, target name)`` while installed.

    >>> with SwitchTracer() as tracer:    # doctest: +SKIP
    ...     sleep(0)
    >>> tracer.switches                    # doctest: +SKIP
    [('main', 'hub'), ('hub', 'main')]
    """

    def __init__(self) -> None:
        self.switches: list[tuple[str, str]] = []

    def switched(self, origin: Any, target: Any) -> None:
        self.switches.append((greenthread_name(origin), greenthread_name(target)))

    def __enter__(self) -> SwitchTracer:
        get_hub().add_instrument(self)
        return self

    def __exit__(self, *exc_info) -> None:
        get_hub().remove_instrument(self)
