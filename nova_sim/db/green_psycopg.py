"""Green psycopg: a psycopg 3 connection whose waits for the server happen in the hub.

psycopg 3 is built around generators: every operation (a query, a fetch, a commit) is a
generator that does the non-blocking libpq work and yields when it would have to wait for
the socket (``Wait.R``, ``Wait.W`` or ``Wait.RW``); a *wait function* resumes it once the
socket is ready. ``GreenConnection.wait`` is such a function built on ``trampoline``: the
calling greenthread waits in the hub's selector, every other greenthread goes on. The
parsing stays in psycopg's C code (``psycopg[binary]``), so a greenthread holds the hub
only for microseconds per answer. Connecting (name resolution, TCP, authentication) goes
through libpq's own blocking loop, so it runs in a native thread (``tpool.execute``).

Under the virtual clock nothing may wait in the hub: the connection then waits as plain
psycopg does (the virtual clock does not move meanwhile).

Must not know about the database API above it.
"""

from __future__ import annotations

import select
import socket
from typing import Any

import psycopg
from psycopg import errors
from psycopg.waiting import Ready, Wait

from nova_sim.green import tpool
from nova_sim.green.hub import _CLOSED, get_hub, getcurrent
from nova_sim.green.io import IOClosed, trampoline

# What psycopg's own wait functions raise when their timeout expires (its callers, such
# as ``Connection.notifies``, catch it).
_WAIT_TIMEOUT = getattr(errors, "_WaitTimeout", errors.OperationalError)


class GreenConnection(psycopg.Connection):
    """A psycopg connection whose waits for the server block only the calling greenthread.

    One greenthread at a time may use it (psycopg's own lock is an OS lock: a second
    greenthread would block the hub's thread), which is how the pool hands connections
    out."""

    def wait(self, gen: Any, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Run psycopg's generator ``gen`` to its end, waiting in the hub whenever it
        waits for the socket. ``timeout``: seconds any one wait may take before psycopg's
        wait timeout is raised (None: no limit)."""
        if get_hub().virtual:
            return super().wait(gen, *args, timeout=timeout, **kwargs)
        fileno = self.pgconn.socket
        try:
            state = next(gen)
            while True:
                # psycopg yields only once the socket would block.
                try:
                    if state == Wait.R:
                        trampoline(fileno, read=True, timeout=timeout)
                        ready = Ready.R
                    elif state == Wait.W:
                        trampoline(fileno, write=True, timeout=timeout)
                        ready = Ready.W
                    else:
                        ready = _wait_either(fileno, timeout)
                except socket.timeout:
                    raise _WAIT_TIMEOUT("wait timeout expired") from None
                state = gen.send(ready)
        except StopIteration as done:
            return done.value


def _wait_either(fileno: int, timeout: float | None) -> Ready:
    """Wait in the hub until ``fileno`` is readable or writable (psycopg's ``Wait.RW``:
    a query still being sent while its answers may come, as in pipeline mode); what it
    is ready for. ``socket.timeout`` after ``timeout`` seconds."""
    hub = get_hub()
    entry = [getcurrent().switch, None]
    hub.add_listener(fileno, True, entry)
    hub.add_listener(fileno, False, entry)
    timer = None if timeout is None else hub.call_later(timeout, _expire, entry)
    try:
        outcome = hub.switch()
    finally:
        # Both directions may have woken the entry in one poll: withdraw the second.
        entry[0] = None
        hub.remove_listener(fileno, True)
        hub.remove_listener(fileno, False)
        if timer is not None:
            hub.cancel_timer(timer)
    if outcome is _TIMED_OUT:
        raise socket.timeout("timed out")
    if outcome is _CLOSED:
        raise IOClosed(fileno)
    readable, writable, _ = select.select([fileno], [fileno], [], 0)
    return (Ready.R if readable else Ready.NONE) | (Ready.W if writable else Ready.NONE)


_TIMED_OUT = object()


def _expire(entry: list) -> None:
    switch = entry[0]
    if switch is not None:
        entry[0] = None
        switch(_TIMED_OUT)


def connect(*args: Any, **kwargs: Any) -> GreenConnection:
    """``psycopg.connect`` for a green connection; libpq's connect runs in a native thread
    (directly under the virtual clock)."""
    return tpool.execute(GreenConnection.connect, *args, **kwargs)
