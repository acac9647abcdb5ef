"""Run blocking calls in native threads without blocking the hub (eventlet's ``tpool``).

Owns a pool of OS threads and ``execute(fn, *args, **kwargs)``: the calling greenthread
waits on a ``nova_sim.green.Event`` while ``fn`` runs in a thread of the pool; when it
ends, the thread hands the outcome to the hub with ``Hub.call_threadsafe`` (which writes
to the hub's self-pipe, so a hub asleep in its poll wakes at once), and the waiter
resumes with the result or the exception. Meanwhile every other greenthread keeps
running. This is how a database driver that reads a socket with blocking calls (PyMySQL,
psycopg) can be used from greenthreads.

On the virtual clock nothing waits on a descriptor: ``execute`` calls ``fn`` directly.

Must not know about what it runs (no database, no RPC).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from nova_sim.green.event import Event
from nova_sim.green.hub import get_hub

T = TypeVar("T")

#: Threads in the pool unless ``set_num_threads`` says otherwise (eventlet's default).
DEFAULT_THREADS = 20

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_threads = DEFAULT_THREADS


def set_num_threads(count: int) -> None:
    """Size of the pool from the next ``execute`` on (a running pool is replaced once
    its calls end). ``count`` must be at least 1."""
    global _threads, _executor
    if count < 1:
        raise ValueError("a thread pool needs at least one thread")
    with _lock:
        _threads = count
        old, _executor = _executor, None
    if old is not None:
        old.shutdown(wait=False)


def _pool() -> ThreadPoolExecutor:
    global _executor
    executor = _executor
    if executor is None:
        with _lock:
            if _executor is None:
                _executor = ThreadPoolExecutor(_threads, thread_name_prefix="nova-sim-tpool")
            executor = _executor
    return executor


def _deliver(event: Event, future: Future) -> None:
    """On the hub: hand the thread's outcome to the waiting greenthread."""
    error = future.exception()
    if error is not None:
        event.send(exc=error)
    else:
        event.send(future.result())


def execute(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a native thread; only the calling greenthread waits.

    Returns what ``fn`` returns or raises what it raises (with its traceback). If the
    waiting greenthread is killed or times out, the thread still runs ``fn`` to its end
    and the outcome is dropped. On a virtual-clock hub ``fn`` runs directly.
    """
    hub = get_hub()
    if getattr(hub, "virtual", False):
        return fn(*args, **kwargs)
    event = Event()
    future = _pool().submit(fn, *args, **kwargs)
    future.add_done_callback(lambda done: hub.call_threadsafe(_deliver, event, done))
    return event.wait()


def killall() -> None:
    """Stop the pool's threads once their current calls end (tests, shutdown)."""
    global _executor
    with _lock:
        old, _executor = _executor, None
    if old is not None:
        old.shutdown(wait=True)
