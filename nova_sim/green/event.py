"""Event: one greenthread sends a value (or an exception), any number wait for it.

Owns only the event's state and its FIFO list of waiters. Knows nothing above the runtime.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from nova_sim.green import waiting
from nova_sim.green.hub import get_hub

_NOT_SENT = object()


class Event:
    """A value that arrives once; ``wait()`` blocks until it has.

    >>> evt = Event()
    >>> _ = spawn(evt.send, 42)          # doctest: +SKIP
    >>> evt.wait()                        # doctest: +SKIP
    42
    """

    __slots__ = ("_value", "_exception", "_waiters")

    def __init__(self) -> None:
        self._value: Any = _NOT_SENT
        self._exception: BaseException | None = None
        self._waiters: deque = deque()

    def ready(self) -> bool:
        """True once ``send`` or ``send_exception`` was called (until ``reset``)."""
        return self._value is not _NOT_SENT

    def has_exception(self) -> bool:
        """True when the event was sent an exception."""
        return self._exception is not None

    def has_result(self) -> bool:
        """True when the event was sent a value (not an exception)."""
        return self.ready() and self._exception is None

    def poll(self, notready: Any = None) -> Any:
        """The value if sent (re-raising a sent exception), else ``notready``."""
        if self.ready():
            return self.wait()
        return notready

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the event is sent; return the value or raise the sent exception.

        With ``timeout``, give up after that many seconds and return ``None``. Waiters
        wake in the order they began to wait.
        """
        if self._value is _NOT_SENT:
            if waiting.block(get_hub(), self._waiters, timeout) is waiting.TIMED_OUT:
                return None
        if self._exception is not None:
            raise self._exception
        return self._value

    def send(self, result: Any = None, exc: BaseException | None = None) -> None:
        """Send ``result`` (or raise ``exc`` in waiters) and wake every waiter.

        Sending twice without ``reset()`` is a programming error (AssertionError).
        """
        assert self._value is _NOT_SENT, "Event already sent; reset() it first"
        self._value = result
        if exc is not None and not isinstance(exc, BaseException):
            exc = exc()
        self._exception = exc
        if self._waiters:
            waiting.wake_all(get_hub(), self._waiters)

    def send_exception(self, *args: Any) -> None:
        """Make waiters raise: ``send_exception(exc_instance)`` or ``(ExcClass, *args)``."""
        first = args[0]
        exc = first if isinstance(first, BaseException) else first(*args[1:])
        self.send(None, exc)

    def reset(self) -> None:
        """Make a sent event unsent again so that it can be reused."""
        assert self._value is not _NOT_SENT, "Event not sent yet: nothing to reset"
        self._value = _NOT_SENT
        self._exception = None
