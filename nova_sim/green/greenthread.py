"""Greenthreads: spawn, spawn_n, spawn_after, sleep, kill and the GreenThread object.

Owns starting, ending and killing greenthreads. A greenthread is a greenlet whose parent
is the hub: when it blocks it switches to the hub, and when it ends control returns to
the hub. Every new greenthread starts in a *copy* of its spawner's ``contextvars``
context (a bare greenlet would start in an empty one), so a request context follows the
work it spawns.

- ``spawn`` returns a ``GreenThread``: ``wait()`` gives its result or re-raises its
  exception, ``link()`` calls back when it ends.
- ``spawn_n`` returns nothing and is cheaper; an exception that escapes it is logged with
  its traceback and the hub goes on.
- ``spawn_after`` starts a GreenThread after a delay; ``cancel()`` before then means it
  never runs (its links still run).

Must not know about RPC or Nova.
"""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from typing import Any, Callable

import greenlet

from nova_sim.green import waiting
from nova_sim.green.hub import GreenletExit, get_hub, getcurrent

LOG = logging.getLogger(__name__)

copy_context = contextvars.copy_context
_greenlet_init = greenlet.greenlet.__init__


class GreenThread(greenlet.greenlet):
    """A greenthread with a result: what ``spawn`` and ``spawn_after`` return.

    ``wait()`` blocks until it ends and returns its result or re-raises its exception
    (``GreenletExit`` if it was killed). ``dead`` is true once it has ended, including
    when it was killed before it started.
    """

    def __init__(self, hub, func: Callable[..., Any], args: tuple, kwargs: dict):
        _greenlet_init(self, None, hub.greenlet)
        self.hub = hub
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._done = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._waiters: deque | None = None
        self._links: list | None = None
        self._start_entry: list | None = None
        self._start_timer: list | None = None
        self.pool = None  # the GreenPool this greenthread counts against, if any

    # greenlet calls run(value) on the first switch
    def run(self, _value: Any = None) -> None:
        self._start_entry = self._start_timer = None
        try:
            result = self._func(*self._args, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - delivered by wait() and links
            self._finish(None, exc)
        else:
            self._finish(result, None)

    def _finish(self, result: Any, exception: BaseException | None) -> None:
        self._done = True
        self._result = result
        self._exception = exception
        self._func = self._args = self._kwargs = None
        hub = self.hub
        hub.live.discard(self)
        if self._waiters:
            waiting.wake_all(hub, self._waiters)
        links = self._links
        if links:
            self._links = None
            for func, args in links:
                try:
                    func(self, *args)
                except Exception:
                    LOG.exception("error in link %r of %r", func, self)
        if self.pool is not None:
            self.pool._job_done()
        for instrument in hub._exit_instruments:
            instrument.exited(self)

    @property
    def dead(self) -> bool:  # type: ignore[override]
        """True once the greenthread has ended (finished, raised or was killed)."""
        return self._done or greenlet.greenlet.dead.__get__(self)

    @property
    def started(self) -> bool:
        """True once it began to run (a killed-before-start one never does)."""
        return bool(self) or (self._done and self._start_entry is None
                              and self._start_timer is None and not self._never_ran())

    def _never_ran(self) -> bool:
        return getattr(self, "_cancelled", False)

    def ready(self) -> bool:
        """True when ``wait()`` would return at once."""
        return self._done

    def wait(self) -> Any:
        """Block until this greenthread ends; return its result or re-raise its error."""
        if not self._done:
            if self._waiters is None:
                self._waiters = deque()
            waiting.block(self.hub, self._waiters)
        if self._exception is not None:
            raise self._exception
        return self._result

    def link(self, func: Callable[..., Any], *args: Any) -> None:
        """Call ``func(self, *args)`` when this greenthread ends (at once if it has)."""
        if self._done:
            func(self, *args)
            return
        if self._links is None:
            self._links = []
        self._links.append((func, args))

    def unlink(self, func: Callable[..., Any], *args: Any) -> bool:
        """Remove a link added with the same arguments; True if one was removed."""
        if self._links:
            try:
                self._links.remove((func, args))
                return True
            except ValueError:
                pass
        return False

    def kill(self, exception: Any = GreenletExit, *args: Any) -> None:
        """Kill this greenthread (see ``kill``)."""
        kill(self, exception, *args)

    def cancel(self, exception: Any = GreenletExit, *args: Any) -> None:
        """Kill it only if it has not started yet; a running one is left alone."""
        if not self and not self._done:
            kill(self, exception, *args)

    def _kill_before_start(self, exception: BaseException) -> None:
        self._cancelled = True
        if self._start_entry is not None:
            self._start_entry[0] = None
            self._start_entry = None
        if self._start_timer is not None:
            self.hub.cancel_timer(self._start_timer)
            self._start_timer = None
        self._finish(None, exception)

    def __repr__(self) -> str:
        func = self._func
        name = getattr(func, "__qualname__", None) or repr(func)
        state = "dead" if self._done else ("running" if self else "pending")
        return f"<GreenThread {name} {state} at 0x{id(self):x}>"


def _exception_instance(exception: Any, args: tuple) -> BaseException:
    if isinstance(exception, BaseException):
        return exception
    return exception(*args)


def spawn(func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
    """Start ``func(*args, **kwargs)`` in a new greenthread; return its GreenThread.

    It starts at the hub's next pass, in a copy of the caller's context.
    """
    hub = get_hub()
    gt = GreenThread(hub, func, args, kwargs)
    gt.gr_context = copy_context()
    hub.live.add(gt)
    entry = [gt.switch, None]
    gt._start_entry = entry
    hub.ready.append(entry)
    if hub._spawn_instruments:
        for instrument in hub._spawn_instruments:
            instrument.spawned(gt)
    return gt


def spawn_after(seconds: float, func: Callable[..., Any], *args: Any,
                **kwargs: Any) -> GreenThread:
    """Start ``func`` in a new greenthread after ``seconds``; ``cancel()`` before then
    means it never runs."""
    hub = get_hub()
    gt = GreenThread(hub, func, args, kwargs)
    gt.gr_context = copy_context()
    hub.live.add(gt)
    gt._start_timer = hub.call_later(seconds, gt.switch)
    if hub._spawn_instruments:
        for instrument in hub._spawn_instruments:
            instrument.spawned(gt)
    return gt


def _run_n(job: tuple) -> None:
    func, args, kwargs = job
    try:
        func(*args, **kwargs)
    except GreenletExit:
        pass
    except BaseException:
        LOG.exception("unhandled exception in greenthread running %s",
                      getattr(func, "__qualname__", func))
    finally:
        current = getcurrent()
        hub = get_hub()
        hub.live.discard(current)
        if hub._exit_instruments:
            for instrument in hub._exit_instruments:
                instrument.exited(current)


def spawn_n(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``func(*args, **kwargs)`` in a new greenthread and return nothing.

    Cheaper than ``spawn``: no GreenThread, no result. An exception that escapes
    ``func`` is logged with its traceback; the hub keeps running.
    """
    hub = get_hub()
    g = greenlet.greenlet(_run_n, hub.greenlet)
    g.gr_context = copy_context()
    hub.live.add(g)
    hub.ready.append([g.switch, (func, args, kwargs)])
    if hub._spawn_instruments:
        for instrument in hub._spawn_instruments:
            instrument.spawned(g)


def sleep(seconds: float = 0) -> None:
    """Block the current greenthread for ``seconds`` on the hub's clock.

    ``sleep(0)`` lets every other ready greenthread run once, then returns. A sleep that
    is interrupted (killed, timed out) cancels its timer; a finished one leaves none.
    """
    hub = get_hub()
    current = getcurrent()
    if seconds <= 0:
        entry = [current.switch, None]
        hub.ready.append(entry)
        try:
            hub.switch()
        except BaseException:
            entry[0] = None
            raise
        return
    timer = hub.call_later(seconds, current.switch)
    try:
        hub.switch()
    except BaseException:
        hub.cancel_timer(timer)
        raise


def kill(gt: greenlet.greenlet, exception: Any = GreenletExit, *args: Any) -> None:
    """Raise ``exception`` in greenthread ``gt`` now.

    A greenthread that has not started never runs: it ends at once with that exception
    (its links run and ``wait()`` raises it). A running one gets the exception where it
    is blocked; the caller resumes afterwards. Killing a dead greenthread does nothing.
    Killing oneself raises the exception in the caller.
    """
    exc = _exception_instance(exception, args)
    if isinstance(gt, GreenThread):
        if gt._done:
            return
        if not gt:
            gt._kill_before_start(exc)
            return
    elif gt.dead:
        return
    current = getcurrent()
    if current is gt:
        raise exc
    hub = get_hub()
    if not gt:  # a plain greenlet that has not started
        gt.throw(exc)
        return
    if current is not hub.greenlet:
        entry = [current.switch, None]
        hub.ready.append(entry)
        try:
            gt.throw(exc)
        except BaseException:
            entry[0] = None
            raise
    else:
        gt.throw(exc)


def getcurrent_greenthread() -> greenlet.greenlet:
    """The running greenlet (a GreenThread, a spawn_n greenlet, or the main greenlet)."""
    return getcurrent()
