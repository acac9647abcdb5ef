"""Semaphore and BoundedSemaphore for greenthreads.

Owns a counter and a FIFO of waiters. A release with waiters hands its unit straight to the
oldest one (the counter does not move), so waiters are served strictly in order and a
late-comer can never overtake them.
"""

from __future__ import annotations

from collections import deque

from nova_sim.green import waiting
from nova_sim.green.hub import get_hub


class Semaphore:
    """A counter of free units; ``acquire`` takes one, blocking while there is none.

    ``counter`` is the number of free units; ``balance`` is ``counter`` minus the number of
    waiters (negative when greenthreads are waiting).
    """

    def __init__(self, value: int = 1):
        if value < 0:
            raise ValueError("Semaphore must be initialized with a non-negative value, "
                             f"got {value}")
        self.counter = value
        self._waiters: deque = deque()

    def locked(self) -> bool:
        """True when ``acquire`` would block."""
        return self.counter <= 0

    @property
    def balance(self) -> int:
        """Free units minus waiting greenthreads."""
        return self.counter - len(self._waiters)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a unit. Returns True when taken; False when ``blocking`` is false and none
        is free, or when ``timeout`` seconds passed first."""
        if self.counter > 0 and not self._waiters:
            self.counter -= 1
            return True
        if not blocking:
            return False
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be non-negative")
        result = waiting.block(get_hub(), self._waiters, timeout, restore=self._give_back)
        return result is not waiting.TIMED_OUT

    def _give_back(self, _value) -> None:
        # A waiter was handed a unit but was killed before it could use it.
        self.release()

    def release(self, blocking: bool = True) -> bool:
        """Give a unit back: to the oldest waiter if any, else to the counter."""
        if self._waiters:
            waiting.wake(get_hub(), self._waiters, True)
        else:
            self.counter += 1
        return True

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} counter={self.counter} waiters={len(self._waiters)}>"


class BoundedSemaphore(Semaphore):
    """A Semaphore whose counter may never exceed its initial value: releasing more than
    was acquired raises ValueError."""

    def __init__(self, value: int = 1):
        super().__init__(value)
        self.original_counter = value

    def release(self, blocking: bool = True) -> bool:
        if not self._waiters and self.counter >= self.original_counter:
            raise ValueError("Semaphore released too many times")
        return super().release(blocking)
