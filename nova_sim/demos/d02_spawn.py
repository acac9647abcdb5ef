"""spawn vs spawn_n vs spawn_after: results, exceptions and timing, on the virtual clock.

The three ways Nova started greenthreads. ``spawn`` returns a GreenThread whose
``wait()`` gives the result (or re-raises the error); ``spawn_n`` returns nothing, is
cheaper, and an error in it can only be logged; ``spawn_after`` starts a GreenThread
later, and can be cancelled before it starts. Run it with ``nova-sim demo 2``.
"""

from __future__ import annotations

import logging
import time

from nova_sim import green
from nova_sim.demos._narration import narrated_log


def main() -> None:
    print(__doc__.split("\n")[0])
    with green.virtual_time():
        def stamp(text: str) -> None:
            print(f"  t={green.now():5.1f}s  {text}")

        def build(name: str, seconds: float) -> str:
            stamp(f"{name}: start (sleeps {seconds}s, yielding to the others)")
            green.sleep(seconds)
            stamp(f"{name}: done")
            return f"{name} is ACTIVE"

        print("\n1. spawn: a GreenThread with a result")
        gt = green.spawn(build, "vm-1", 2)
        stamp(f"spawned vm-1; spawn returned a {type(gt).__name__} at once "
              f"(dead={gt.dead}: scheduled, not started)")
        stamp(f"gt.wait() -> {gt.wait()!r}")

        print("\n2. an exception in spawn is re-raised by wait()")

        def broken() -> None:
            raise RuntimeError("no valid host")

        print("   (the error is also logged once, as eventlet's hub prints it, whether or "
              "not anybody waits)")
        with narrated_log("nova_sim.green", "    logged: ERROR ", logging.ERROR,
                          show_error=True):
            gt = green.spawn(broken)
            try:
                gt.wait()
            except RuntimeError as exc:
                stamp(f"gt.wait() raised RuntimeError({exc})")

        print("\n3. spawn_n: fire and forget (Nova's compute builds used it)")
        result = green.spawn_n(build, "vm-2", 1)
        stamp(f"spawn_n returned {result!r}: there is nothing to wait on")
        green.sleep(1.5)
        print("   an exception in spawn_n has nobody to go to, so it is logged:")
        with narrated_log("nova_sim.green", "    logged: ERROR ", logging.ERROR,
                          show_error=True):
            green.spawn_n(broken)
            green.sleep(0)

        print("\n4. spawn_after: start later (periodic tasks re-arm themselves this way)")
        later = green.spawn_after(5, build, "vm-3", 0)
        never = green.spawn_after(3, build, "vm-never", 0)
        never.cancel()
        stamp("scheduled vm-3 in 5s and vm-never in 3s, then cancelled vm-never")
        later.wait()
        stamp(f"vm-never.dead={never.dead}: cancelled before it started, it never ran")

        print("\n5. several at once: the hub interleaves them whenever one sleeps")
        start = time.perf_counter()
        threads = [green.spawn(build, f"vm-{i}", i) for i in (4, 5, 6)]
        for t in threads:
            t.wait()
        stamp(f"three builds of 4, 5 and 6 virtual seconds took 6 of them, and "
              f"{(time.perf_counter() - start) * 1000:.1f} ms of real time")
    print("""
Timing is virtual here: virtual_time() jumps the clock to the next timer whenever every
greenthread is blocked, so these sleeps cost nothing and every run is identical.""")


if __name__ == "__main__":
    main()
