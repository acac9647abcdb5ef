"""cooperation vs blocking: time.sleep stalls every greenthread, green sleep does not.

Greenthreads share one OS thread and switch only when the running one yields to the
hub (a green sleep, a queue, a socket). A call that blocks the OS thread instead
(``time.sleep``, a plain socket, a C library) stalls *every* greenthread of the process:
heartbeats, RPC replies, API requests. This demo shows it on the real clock with a
heartbeat greenthread, catches the culprit with the blocking detector
(``nova_sim.green.debug.hub_blocking_detection``), shows what eventlet's monkey patching
did about it and what it cost, and why OpenStack moved to native threads (2025-2026).
Run it with ``nova-sim demo 4``; it spends about half a second of real time (that is its subject).
"""

from __future__ import annotations

import os
import time
from time import sleep as sleep_bound_at_import  # what "import early" code holds
from typing import Callable
from unittest import mock

from nova_sim import green
from nova_sim.green import debug

#: How often the heartbeat greenthread beats (real seconds).
BEAT = 0.03
#: How long the "build" greenthread sleeps, green or blocking (real seconds).
WORK = 0.15
#: The blocking detector's resolution: it reports a greenthread holding the hub longer.
RESOLUTION = 0.06


def heartbeat(origin: float, beats: list[float], count: int) -> None:
    """Stands for a service heartbeat (report_interval): beats every BEAT seconds."""
    for _ in range(count):
        beats.append(green.now() - origin)
        green.sleep(BEAT)


def build_with_green_sleep() -> None:
    """A build that waits cooperatively: the hub runs the others meanwhile."""
    green.sleep(BEAT / 2)
    green.sleep(WORK)


def build_with_time_sleep() -> None:
    """A build that calls a blocking function (as an unpatched library would)."""
    green.sleep(BEAT / 2)
    time.sleep(WORK)  # blocks the OS thread: the hub cannot run anyone else


def run_round(title: str, build: Callable[[], None]) -> tuple[list[float], list[str]]:
    """Run the heartbeat next to ``build`` with the blocking detector on; print the
    heartbeat's timestamps; return them and the detector's reports."""
    print(f"\n{title}")
    reports: list[str] = []
    debug.hub_blocking_detection(True, resolution=RESOLUTION, report=reports.append)
    try:
        origin = green.now()
        beats: list[float] = []
        beater = green.spawn(heartbeat, origin, beats, 6)
        builder = green.spawn(build)
        builder.wait()
        beater.wait()
    finally:
        debug.hub_blocking_detection(False)
    previous = None
    for stamp in beats:
        gap = "" if previous is None else f"  (+{(stamp - previous) * 1000:4.0f} ms)"
        stall = "  <- stalled: nobody ran while the build blocked" \
            if previous is not None and stamp - previous > 2 * BEAT else ""
        print(f"    heartbeat at t={stamp * 1000:5.0f} ms{gap}{stall}")
        previous = stamp
    longest = max(b - a for a, b in zip(beats, beats[1:], strict=False))
    print(f"    longest gap between heartbeats: {longest * 1000:.0f} ms; "
          f"blocking detector reports: {len(reports)}")
    return beats, reports


def show_report(report: str) -> None:
    """Print a detector report, keeping the stack lines of this demo's frames."""
    head, _, stack = report.partition("\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    stack = stack.replace(root + os.sep, "")
    print("    " + head)
    lines = stack.rstrip("\n").splitlines()
    keep = []
    for index, line in enumerate(lines):
        if line.startswith("  File ") and __name__.rsplit(".", 1)[-1] in line:
            keep.append(index)
    shown = [lines[i] for i in keep for i in (i, i + 1) if i < len(lines)]
    for line in shown or lines[-2:]:
        print("      " + line.strip() if line.startswith("    ") else "    " + line)


def main() -> None:
    print(__doc__.split("\n")[0])
    start = time.perf_counter()

    beats, reports = run_round(
        "1. The build waits with green.sleep(0.15): the heartbeat keeps its beat.",
        build_with_green_sleep,
    )

    beats, reports = run_round(
        "2. The build calls time.sleep(0.15): the whole hub stops for 150 ms.",
        build_with_time_sleep,
    )
    if reports:
        print(f"\n    The blocking detector (a watchdog OS thread, resolution {RESOLUTION}s) "
              "caught it,\n    with the offending stack:")
        show_report(reports[0])
        gap = max(b - a for a, b in zip(beats, beats[1:], strict=False))
        print(f"    Reading it: the watchdog looks every {RESOLUTION / 4:g}s (a quarter of the "
              "resolution); 'held the\n    hub for' is how long the greenthread had run "
              f"when the watchdog first found it past\n    {RESOLUTION}s, not the length of "
              "the block: it reports each block once, at once. This block\n"
              f"    lasted {WORK * 1000:.0f} ms (time.sleep({WORK})); the heartbeat waited "
              f"{gap * 1000:.0f} ms.")

    print("\n3. Monkey patching, in miniature: replace time.sleep with the green sleep.")
    with mock.patch.object(time, "sleep", green.sleep):
        beats, reports = run_round(
            "   The same build_with_time_sleep, now with time.sleep patched:",
            build_with_time_sleep,
        )
        print(f"    but code that did 'from time import sleep' before the patch still holds "
              f"the\n    blocking one: sleep_bound_at_import is time.sleep -> "
              f"{sleep_bound_at_import is time.sleep}")
    print(f"\nReal time spent by this demo: {time.perf_counter() - start:.2f} s")
    print(EXPLANATION)


EXPLANATION = """
What eventlet's monkey patching did
  Nova's services began with eventlet.monkey_patch(): before anything else was imported,
  eventlet replaced the blocking parts of the standard library with green versions:
  time.sleep, socket (and ssl, select, selectors), threading / _thread (Thread became a
  greenthread, Lock a green lock, threading.local per greenthread), os (read, write,
  waitpid...), subprocess, queue. Unmodified libraries (kombu, the MySQL driver, the WSGI
  server, requests) then yielded to the hub whenever they waited, as in round 3.
  nova_sim never patches anything: it is green where it must be (nova_sim.green.io
  sockets, green queues) and the detector tells you when something is not.

What it cost
  - Import order: anything imported before the patch keeps the blocking originals
    (round 3's last line), hence "patch first" rules and hard-to-find stalls.
  - C extensions and native libraries (libvirt, librados, C database drivers) block the
    OS thread whatever Python is patched; Nova pushed such calls to real threads
    (eventlet.tpool) and still met stalled heartbeats and missed AMQP heartbeats.
  - One hub runs on one core: CPU-bound work starves every other greenthread.
  - Patching threading changes semantics that libraries rely on (locks, thread ids,
    threading.local), and each new CPython release broke something eventlet needed.

Why OpenStack is leaving eventlet
  eventlet is in maintenance, bugfix-only mode and is not expected to support the next
  major CPython version, so the OpenStack TC selected the goal "remove eventlet" (Nov
  2024). Nova 2025.2 (Flamingo) made native threads optional for nova-api, nova-scheduler
  and nova-metadata; 2026.1 made them the default there; 2026.2 made them the default for
  nova-conductor and nova-compute too. The mode is chosen per service at start-up
  (Nova's admin guide: the environment variable OS_NOVA_DISABLE_EVENTLET_PATCHING) and
  the work runs on futurist thread pools (nova/thread_pool_factory.py) whose sizes are
  tunable, since a native thread costs far more memory than a greenthread. Eventlet mode
  is deprecated and will not be removed before 2027.2. With native threads a blocking
  call blocks only its own thread, and the GIL is released while it waits.
  The greenthread model still explains a decade of Nova code: that is what this
  simulator teaches."""


if __name__ == "__main__":
    main()
