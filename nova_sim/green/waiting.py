"""Blocking and waking: the one mechanism every primitive shares.

A blocked greenthread is represented by an *entry*, a two-item list ``[switch, value]``.
To block, a primitive appends the entry to its own FIFO deque of waiters and switches to
the hub. To wake it, another greenthread pops the entry, stores the value in it and
appends the very same list to the hub's ready queue; the hub then calls
``switch(value)``. Because the ready entry *is* the waiter entry, a wake-up that must be
withdrawn (the waiter was killed, or its Timeout fired, after it was woken but before it
ran) is withdrawn by clearing ``entry[0]``, and what it was handed (a queue item, a
semaphore unit) goes back to the primitive through ``restore``.

Knows nothing of what is waited for; used by event, semaphore, queue, greenthread, pool.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from nova_sim.green.hub import Hub, getcurrent


class _TimedOut:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TIMED_OUT"


TIMED_OUT: Any = _TimedOut()  # what block() returns when its timeout expired


def _expire(args: tuple) -> None:
    waiters, entry = args
    try:
        waiters.remove(entry)
    except ValueError:
        return  # already woken: the wake-up wins
    entry[0](TIMED_OUT)


def block(hub: Hub, waiters: deque, timeout: float | None = None, payload: Any = None,
          restore: Callable[[Any], None] | None = None) -> Any:
    """Wait in ``waiters`` until ``wake`` hands a value, and return it.

    ``payload`` is left in the entry for the waker to read (a blocked ``put`` keeps its
    item there). Returns ``TIMED_OUT`` when ``timeout`` seconds pass first. If an
    exception is thrown in meanwhile (kill, Timeout), the entry is withdrawn; if a value
    had already been handed over, ``restore(value)`` gives it back before re-raising.
    """
    entry = [getcurrent().switch, payload]
    waiters.append(entry)
    if timeout is None:
        try:
            return hub.switch()
        except BaseException:
            _abandon(waiters, entry, restore)
            raise
    timer = hub.call_later(timeout, _expire, (waiters, entry))
    try:
        return hub.switch()
    except BaseException:
        _abandon(waiters, entry, restore)
        raise
    finally:
        hub.cancel_timer(timer)


def _abandon(waiters: deque, entry: list, restore: Callable[[Any], None] | None) -> None:
    try:
        waiters.remove(entry)
        return
    except ValueError:
        pass
    # Woken but thrown into before the wake-up ran: withdraw it, give the value back.
    if entry[0] is not None:
        entry[0] = None
        if restore is not None:
            restore(entry[1])


def wake(hub: Hub, waiters: deque, value: Any = None) -> list:
    """Wake the oldest waiter with ``value`` (it runs in the hub's next pass)."""
    entry = waiters.popleft()
    entry[1] = value
    hub.ready.append(entry)
    return entry


def wake_all(hub: Hub, waiters: deque, value: Any = None) -> None:
    """Wake every waiter, oldest first, each with ``value``."""
    ready = hub.ready
    while waiters:
        entry = waiters.popleft()
        entry[1] = value
        ready.append(entry)
