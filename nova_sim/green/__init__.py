"""nova_sim.green: greenthreads on greenlet, with eventlet's names and semantics.

Everything a Nova-era service needs: ``spawn``, ``spawn_n``, ``spawn_after``
(``spawn_n_after``, its cheaper form for loops that re-arm themselves), ``sleep``,
``kill``, ``GreenThread``, ``GreenPool``, ``GreenPile``, ``Event``, ``Semaphore``,
``BoundedSemaphore``, the queues, ``Timeout``, ``trampoline`` and green sockets
(``nova_sim.green.io``), plus what eventlet never had: a virtual clock
(``virtual_time()``), seeded ids (``random_uuid()``) and instruments on the hub.

There is no "run" call: the hub runs whenever the current greenthread blocks.

This package knows nothing of RPC or Nova.
"""

from nova_sim.green.clock import virtual_time
from nova_sim.green.event import Event
from nova_sim.green.greenpool import GreenPile, GreenPool
from nova_sim.green.greenthread import (
    GreenThread,
    cancel_timer,
    getcurrent,
    kill,
    sleep,
    spawn,
    spawn_after,
    spawn_n,
    spawn_n_after,
)
from nova_sim.green.hub import (
    DeadlockError,
    GreenletExit,
    Hub,
    VirtualHub,
    get_hub,
    now,
    random_uuid,
    wallclock,
)
from nova_sim.green.io import GreenSocket, trampoline
from nova_sim.green.queue import Empty, Full, LifoQueue, LightQueue, PriorityQueue, Queue
from nova_sim.green.semaphore import BoundedSemaphore, Semaphore
from nova_sim.green.timeout import Timeout

__all__ = [
    "BoundedSemaphore", "DeadlockError", "Empty", "Event", "Full", "GreenPile", "GreenPool",
    "GreenSocket", "GreenThread", "GreenletExit", "Hub", "LifoQueue", "LightQueue",
    "PriorityQueue", "Queue", "Semaphore", "Timeout", "VirtualHub", "cancel_timer", "get_hub",
    "getcurrent", "kill", "now", "random_uuid", "sleep", "spawn", "spawn_after", "spawn_n",
    "spawn_n_after", "trampoline", "virtual_time", "wallclock",
]
