"""The dashboard's blocking detector: an OS thread that notices when the hub stops
answering, at no cost to the hub's switches.

``nova_sim.green.debug``'s detector watches every switch (a ``switched`` instrument,
so ``greenlet.settrace`` runs on each one): exact, and for debugging. The dashboard
runs beside a serving cloud, so its detector asks the hub instead: every
``resolution / 4`` seconds its thread hands the hub a call (``call_threadsafe``) that
notes the time it ran. When a call has waited ``resolution`` seconds, one greenthread
has held the hub that long without yielding (or the hub is so busy that a call waits
that long): the thread reports it once, with the stack the hub's OS thread is running
at that moment (``sys._current_frames``), and the greenthreads page shows the report.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import traceback
from typing import Any

LOG = logging.getLogger(__name__)

#: Seconds the hub may take to answer before it counts as blocked.
RESOLUTION = 1.0


class HubWatchdog:
    """Watches ``hub`` from a thread of its own (see the module docstring); keeps its
    latest ``keep`` reports in ``reports``."""

    def __init__(self, hub: Any, resolution: float = RESOLUTION, keep: int = 20):
        self.hub = hub
        self.resolution = resolution
        self.reports: collections.deque[str] = collections.deque(maxlen=keep)
        self.reported = threading.Event()  # set at each report (tests wait on it)
        self._asked: float | None = None
        self._answered = 0.0
        self._reported_ask: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True,
                                        name="dashboard-hub-watchdog")

    def start(self) -> HubWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _answer(self, asked: float) -> None:  # runs on the hub
        self._answered = asked

    def _watch(self) -> None:
        while not self._stop.wait(self.resolution / 4):
            asked = self._asked
            if asked is None or self._answered == asked:
                self._asked = time.monotonic()
                self.hub.call_threadsafe(self._answer, self._asked)
                continue
            held = time.monotonic() - asked
            if held >= self.resolution and self._reported_ask != asked:
                self._reported_ask = asked
                self._report(held)

    def _report(self, held: float) -> None:
        frame = sys._current_frames().get(self.hub.thread_ident)
        stack = "".join(traceback.format_stack(frame, limit=12)) if frame else "(no stack)\n"
        text = (f"{time.strftime('%H:%M:%S')} blocking detected: the hub has not run for "
                f"{held:.2f}s (resolution {self.resolution}s): a greenthread holds it "
                f"without yielding. It runs:\n{stack}")
        self.reports.append(text)
        LOG.warning("%s", text)
        self.reported.set()
