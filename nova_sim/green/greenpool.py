"""GreenPool and GreenPile: bounded concurrency.

Owns a count of jobs in flight (at most ``size``) and the greenthreads blocked waiting
for a free slot (FIFO). ``spawn`` gives each job a GreenThread of its own; ``spawn_n``
jobs have no handle at all. Both run on the hub's recycled runner greenlets (see
``hub.Runner``), and each job starts in a copy of its spawner's context.

A pool member that spawns into its own full pool runs the job inline instead of waiting
for itself forever (the job's greenthread holds the slot it would wait for).
"""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from nova_sim.green import waiting
from nova_sim.green.greenthread import GreenThread, _announce, spawn_n
from nova_sim.green.hub import get_hub, getcurrent

LOG = logging.getLogger(__name__)
copy_context = contextvars.copy_context


class GreenPool:
    """Run at most ``size`` jobs at once; ``spawn`` blocks while the pool is full."""

    def __init__(self, size: int = 1000):
        if size < 0:
            raise ValueError("GreenPool size must be non-negative")
        self.size = size
        self._running = 0
        self._spawn_waiters: deque = deque()
        self._all_done: deque = deque()

    # -- introspection ---------------------------------------------------------------
    def running(self) -> int:
        """Jobs in flight (started or about to start)."""
        return self._running

    def free(self) -> int:
        """Slots free right now (``size - running()``, never below 0)."""
        return max(0, self.size - self._running)

    def waiting(self) -> int:
        """Greenthreads blocked in spawn/spawn_n waiting for a free slot."""
        return len(self._spawn_waiters)

    # -- slots --------------------------------------------------------------------------
    def _is_member(self) -> bool:
        return getattr(getcurrent(), "pool", None) is self

    def _take_slot(self) -> bool:
        """Reserve a slot for a new job, blocking while the pool is full. Returns False
        when the caller is a member of this full pool and must run the job inline."""
        if self._running < self.size and not self._spawn_waiters:
            self._running += 1
            return True
        if self._is_member():
            return False
        # The slot is handed over by _job_done (the count does not change).
        waiting.block(get_hub(), self._spawn_waiters, restore=self._hand_back)
        return True

    def _hand_back(self, _value) -> None:
        self._job_done()

    def _job_done(self) -> None:
        if self._spawn_waiters and self._running <= self.size:
            waiting.wake(get_hub(), self._spawn_waiters)
            return
        self._running -= 1
        if self._running == 0 and self._all_done:
            waiting.wake_all(get_hub(), self._all_done)

    # -- spawning -----------------------------------------------------------------------
    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
        """Run ``func`` in a new GreenThread of this pool, blocking while it is full."""
        hub = get_hub()
        if not self._take_slot():
            gt = GreenThread(hub, func, args, kwargs)
            gt._run(None)  # inline: see the module docstring
            return gt
        gt = GreenThread(hub, func, args, kwargs, copy_context())
        gt.pool = self
        entry = [hub.start_task, gt]
        gt._start_entry = entry
        hub.ready.append(entry)
        if hub.instruments.spawned is not None:
            _announce(hub, gt)
        return gt

    def spawn_n(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func`` in this pool and return nothing, blocking while it is full.

        An exception that escapes ``func`` is logged; the slot is freed all the same.
        """
        if not self._take_slot():
            try:
                func(*args, **kwargs)
            except Exception:
                LOG.exception("unhandled exception in pool job %s",
                              getattr(func, "__qualname__", func))
            return
        hub = get_hub()
        hub.ready.append([hub.start_task, (copy_context(), func, args, kwargs, self)])
        if hub.instruments.spawned is not None:
            _announce(hub, func)

    def waitall(self) -> None:
        """Block until no job of this pool is in flight."""
        assert not self._is_member(), \
            "a pool member calling waitall() would wait for itself forever"
        while self._running:
            waiting.block(get_hub(), self._all_done)

    def resize(self, new_size: int) -> None:
        """Change the size; a larger pool lets waiting spawners in at once, a smaller one
        lets running jobs finish and admits new ones as the count drops."""
        if new_size < 0:
            raise ValueError("GreenPool size must be non-negative")
        self.size = new_size
        hub = get_hub()
        while self._spawn_waiters and self._running < self.size:
            self._running += 1
            waiting.wake(hub, self._spawn_waiters)

    # -- mapping ------------------------------------------------------------------------
    def starmap(self, function: Callable[..., Any], iterable: Iterable) -> Iterator:
        """Like ``itertools.starmap`` but concurrent: results come back in order."""
        pile = GreenPile(self)
        return pile._feed(function, iterable)

    def imap(self, function: Callable[..., Any], *iterables: Iterable) -> Iterator:
        """Like the builtin ``map`` but concurrent: results come back in order."""
        return self.starmap(function, zip(*iterables, strict=False))


_END = object()


class GreenPile:
    """Spawn jobs into a pool and iterate over their results in the order spawned.

    ``GreenPile(size_or_pool)``: an int makes a private GreenPool of that size.
    Iterating waits for each result in turn and re-raises a job's exception.
    """

    def __init__(self, size_or_pool: int | GreenPool = 1000):
        self.pool = size_or_pool if isinstance(size_or_pool, GreenPool) \
            else GreenPool(size_or_pool)
        from nova_sim.green.queue import LightQueue

        self.waiters = LightQueue()
        self.counter = 0
        self.used = False

    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func`` in the pile's pool; its result comes out of the iteration."""
        self.used = True
        self.counter += 1
        self.waiters.put(self.pool.spawn(func, *args, **kwargs))

    def __iter__(self) -> GreenPile:
        return self

    def __next__(self) -> Any:
        if self.counter == 0:
            raise StopIteration()
        try:
            gt = self.waiters.get()
            return gt.wait()
        finally:
            self.counter -= 1

    next = __next__

    def _feed(self, function: Callable[..., Any], iterable: Iterable) -> Iterator:
        # A feeder greenthread spawns the jobs (blocking on a full pool) while the caller
        # consumes results in order.
        queue = self.waiters

        def feeder() -> None:
            try:
                for args in iterable:
                    queue.put(self.pool.spawn(function, *args))
            finally:
                queue.put(_END)

        spawn_n(feeder)

        def results() -> Iterator:
            while True:
                gt = queue.get()
                if gt is _END:
                    return
                yield gt.wait()

        return results()
