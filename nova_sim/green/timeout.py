"""Timeout: raise an exception in a greenthread after a delay.

Owns one timer per Timeout. As a context manager it bounds the time its block may take;
as an exception it is what gets raised. Knows nothing above the runtime.
"""

from __future__ import annotations

from typing import Any

from nova_sim.green.greenthread import getcurrent as current_greenthread
from nova_sim.green.hub import get_hub


def _throw(args: tuple) -> None:
    owner, exc = args
    if owner.dead:
        return  # its greenthread has ended: nothing to interrupt
    # A GreenThread runs on a recycled runner greenlet: throw into the runner only
    # while it still runs this greenthread.
    target = getattr(owner, "runner", owner)
    if target is not None and not target.dead:
        target.throw(exc)


class Timeout(BaseException):
    """Raise in the current greenthread after ``seconds``.

    ``exception`` None raises this Timeout itself; an exception class or instance raises
    that instead; ``False`` makes ``with Timeout(s, False):`` leave its block silently.
    ``seconds=None`` never fires. The timer starts at creation; ``cancel()`` (done on
    leaving the ``with`` block) stops it.

    >>> with Timeout(5, False):          # doctest: +SKIP
    ...     queue.get()                   # gives up after 5 seconds
    """

    def __init__(self, seconds: float | None = None, exception: Any = None):
        super().__init__(seconds)
        self.seconds = seconds
        self.exception = exception
        self.timer: list | None = None
        self.start()

    @property
    def pending(self) -> bool:
        """True while the timer is armed and has not fired."""
        return self.timer is not None and self.timer[2] is not None

    def start(self) -> Timeout:
        """Arm the timer (again) for the current greenthread."""
        if self.pending:
            raise AssertionError("Timeout is already started")
        if self.seconds is None:
            self.timer = None
            return self
        target = current_greenthread()
        if self.exception is None or self.exception is False:
            exc: BaseException = self
        elif isinstance(self.exception, BaseException):
            exc = self.exception
        else:
            exc = self.exception()
        self.timer = get_hub().call_later(self.seconds, _throw, (target, exc))
        return self

    def cancel(self) -> None:
        """Disarm the timer (nothing happens if it already fired)."""
        if self.timer is not None:
            get_hub().cancel_timer(self.timer)
            self.timer = None

    def __enter__(self) -> Timeout:
        if not self.pending:
            self.start()
        return self

    def __exit__(self, exc_type, value, traceback) -> bool:
        self.cancel()
        return value is self and self.exception is False

    def __str__(self) -> str:
        if self.seconds is None:
            return ""
        suffix = "" if self.seconds == 1 else "s"
        return f"{self.seconds} second{suffix}"

    def __repr__(self) -> str:
        return f"<Timeout seconds={self.seconds} exception={self.exception!r}>"
