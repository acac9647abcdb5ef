"""``virtual_time()``: run a block on a fresh hub with a virtual clock.

Owns swapping the thread's hub in and out. Inside the block, time only moves when every
greenthread is blocked, and then jumps to the next timer, so an hour of periodic work takes
as long as the work itself. Leaving the block kills whatever is still alive there (a
periodic task that re-arms itself forever must not hang the exit) and restores the hub
that was current before.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from nova_sim.green.hub import DEFAULT_VIRTUAL_EPOCH, VirtualHub, set_hub


@contextlib.contextmanager
def virtual_time(start: float = 0.0, seed: int | None = 0,
                 epoch: float = DEFAULT_VIRTUAL_EPOCH) -> Iterator[VirtualHub]:
    """Run the block on a new hub whose clock starts at ``start`` and jumps.

    ``seed`` seeds the hub's random generator (ids, fuzzy delays): the same seed gives
    the same run. ``epoch`` is what ``wallclock()`` reads at virtual time 0. Yields the
    hub. Waiting for a file descriptor inside raises RuntimeError.
    """
    hub = VirtualHub(start=start, seed=seed, epoch=epoch)
    previous = set_hub(hub)
    try:
        yield hub
    finally:
        try:
            hub.kill_all()
        finally:
            hub.close()
            set_hub(previous)
