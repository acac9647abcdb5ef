"""Queues between greenthreads: LightQueue, Queue, PriorityQueue, LifoQueue.

Owns the items and two FIFO lists of waiters (getters and putters). An item put while a
getter waits goes straight to that getter; a get that frees room takes the oldest blocked
putter's item in. ``maxsize`` 0 or None means unbounded, as in the stdlib, and the
exceptions are the stdlib's ``queue.Empty`` and ``queue.Full``.
"""

from __future__ import annotations

import heapq
from collections import deque
from queue import Empty, Full
from typing import Any

from nova_sim.green import waiting
from nova_sim.green.hub import get_hub

__all__ = ["Empty", "Full", "LightQueue", "Queue", "PriorityQueue", "LifoQueue"]


class LightQueue:
    """A FIFO queue without task tracking (cheaper than Queue)."""

    def __init__(self, maxsize: int | None = None):
        self.maxsize = maxsize if maxsize and maxsize > 0 else None
        self.getters: deque = deque()
        self.putters: deque = deque()
        self._init()

    # storage (overridden by the priority and LIFO queues)
    def _init(self) -> None:
        self.queue: Any = deque()

    def _put(self, item: Any) -> None:
        self.queue.append(item)

    def _put_back(self, item: Any) -> None:
        self.queue.appendleft(item)

    def _get(self) -> Any:
        return self.queue.popleft()

    # sizes
    def qsize(self) -> int:
        """Number of items in the queue."""
        return len(self.queue)

    def __len__(self) -> int:
        return len(self.queue)

    def empty(self) -> bool:
        """True when there is no item."""
        return not self.queue

    def full(self) -> bool:
        """True when a put would block."""
        return self.maxsize is not None and len(self.queue) >= self.maxsize

    def getting(self) -> int:
        """How many greenthreads are blocked in get."""
        return len(self.getters)

    def putting(self) -> int:
        """How many greenthreads are blocked in put."""
        return len(self.putters)

    # put / get
    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item``; while the queue is full, block (up to ``timeout`` seconds, then
        raise ``queue.Full``) or, with ``block=False``, raise ``queue.Full`` at once."""
        if self.getters:
            waiting.wake(get_hub(), self.getters, item)
            return
        if self.maxsize is None or len(self.queue) < self.maxsize:
            self._put(item)
            return
        if not block:
            raise Full
        if waiting.block(get_hub(), self.putters, timeout, payload=item) is waiting.TIMED_OUT:
            raise Full

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``."""
        self.put(item, False)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return the next item; while there is none, block (up to ``timeout``
        seconds, then raise ``queue.Empty``) or, with ``block=False``, raise at once."""
        if self.queue:
            item = self._get()
            if self.putters:
                entry = self.putters[0]
                self._put(entry[1])
                waiting.wake(get_hub(), self.putters, None)
            return item
        if not block:
            raise Empty
        # (bound here, not once in __init__: a queue holding its own bound method is a
        # reference cycle, left for the collector; an RPC call makes a queue per reply)
        item = waiting.block(get_hub(), self.getters, timeout, None, self._restore)
        if item is waiting.TIMED_OUT:
            raise Empty
        return item

    def get_nowait(self) -> Any:
        """``get(block=False)``."""
        return self.get(False)

    def _restore(self, item: Any) -> None:
        # A getter was handed ``item`` but was killed before it ran: the item goes back
        # first in line, to the next getter if one waits.
        if self.getters:
            waiting.wake(get_hub(), self.getters, item)
        else:
            self._put_back(item)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} maxsize={self.maxsize} items={len(self.queue)} "
                f"getters={len(self.getters)} putters={len(self.putters)}>")


class Queue(LightQueue):
    """A FIFO queue that also tracks tasks: ``task_done()`` after each processed item,
    ``join()`` blocks until every item put has been marked done."""

    def __init__(self, maxsize: int | None = None):
        super().__init__(maxsize)
        self.unfinished_tasks = 0
        self._joiners: deque = deque()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if self.getters:  # the common hand-off, without the extra call through super()
            self.unfinished_tasks += 1
            waiting.wake(get_hub(), self.getters, item)
            return
        LightQueue.put(self, item, block, timeout)
        self.unfinished_tasks += 1

    def task_done(self) -> None:
        """Mark one item as processed; ValueError if called more often than put."""
        if self.unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0 and self._joiners:
            waiting.wake_all(get_hub(), self._joiners)

    def join(self, timeout: float | None = None) -> bool:
        """Block until every item has been marked done; False if ``timeout`` passed."""
        if self.unfinished_tasks == 0:
            return True
        return waiting.block(get_hub(), self._joiners, timeout) is not waiting.TIMED_OUT


class PriorityQueue(Queue):
    """Items come out lowest first (``heapq`` order); put ``(priority, item)`` tuples."""

    def _init(self) -> None:
        self.queue = []

    def _put(self, item: Any) -> None:
        heapq.heappush(self.queue, item)

    _put_back = _put

    def _get(self) -> Any:
        return heapq.heappop(self.queue)


class LifoQueue(Queue):
    """Items come out newest first."""

    def _init(self) -> None:
        self.queue = []

    def _put(self, item: Any) -> None:
        self.queue.append(item)

    _put_back = _put

    def _get(self) -> Any:
        return self.queue.pop()
