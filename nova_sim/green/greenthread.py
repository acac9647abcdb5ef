"""Greenthreads: spawn, spawn_n, spawn_after, sleep, kill and the GreenThread object.

Owns starting, ending and killing greenthreads. Every new greenthread starts in a *copy*
of its spawner's ``contextvars`` context (a bare greenlet would start in an empty one), so
a request context follows the work it spawns.

- ``spawn`` returns a ``GreenThread``: ``wait()`` gives its result or re-raises its
  exception, ``link()`` calls back when it ends. An exception that ends it is also
  logged with its traceback, once, as eventlet's hub prints it (whether or not anybody
  waits: the waiter decides what the error means, the log says it happened), except
  ``GreenletExit``: a greenthread that was killed ended as asked.
- ``spawn_n`` returns nothing and is cheaper; an exception that escapes it is logged with
  its traceback and the hub goes on.
- ``spawn_after`` starts a GreenThread after a delay; ``cancel()`` before then means it
  never runs (its links still run).

Runners: greenlets are recycled
-------------------------------
Creating a greenlet and running it to its end costs far more than switching between
existing ones (the first switch sets up a new C stack; the end tears it down). So a
GreenThread is not itself a greenlet: it is a small handle that, when it starts, is run
by a *runner*, a greenlet whose parent is the hub and which, after its job ends, parks
itself and waits for the next one. ``getcurrent()`` (this module's) returns the
GreenThread a runner is running, so code sees the same identity eventlet gives it;
killing a GreenThread throws into its runner.

Must not know about RPC or Nova.
"""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from typing import Any, Callable

from nova_sim.green import waiting
from nova_sim.green.hub import GreenletExit, Runner, get_hub
from nova_sim.green.hub import getcurrent as _getcurrent_greenlet

LOG = logging.getLogger(__name__)

copy_context = contextvars.copy_context

class GreenThread:
    """A greenthread with a result: what ``spawn`` and ``spawn_after`` return.

    ``wait()`` blocks until it ends and returns its result or re-raises its exception
    (``GreenletExit`` if it was killed). ``dead`` is true once it has ended, including
    when it was killed before it started.
    """

    __slots__ = ("hub", "_func", "_args", "_kwargs", "_context", "_done", "_result",
                 "_exception", "_waiters", "_links", "_start_entry", "_start_timer",
                 "runner", "pool", "name", "__weakref__")

    #: How it was started, for introspection (the dashboard): a class attribute, so
    #: that it costs no memory and no store; ``spawn_after`` makes a ``_Delayed``.
    origin = "spawn"

    def __init__(self, hub, func: Callable[..., Any], args: tuple, kwargs: dict,
                 context: contextvars.Context | None = None):
        self.hub = hub
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._context = context
        self._done = False
        self._result = None
        self._exception = None
        self._waiters = None
        self._links = None
        self._start_entry = None
        self._start_timer = None
        self.runner = None
        self.pool = None  # the GreenPool this greenthread counts against, if any
        self.name = None  # set by instruments that name greenthreads (tracing)

    def _run(self, runner: Runner | None) -> None:
        """Run the function (on ``runner``, or inline when None) and finish."""
        self._start_entry = self._start_timer = None
        self.runner = runner
        if runner is not None:
            runner.gt = self
            runner.pool = self.pool
        try:
            context = self._context
            if context is None:
                result = self._func(*self._args, **self._kwargs)
            else:
                result = context.run(self._func, *self._args, **self._kwargs)
        except GreenletExit as exc:
            self._finish(None, exc)
            if self.hub.closing:
                raise
        except BaseException as exc:  # noqa: BLE001 - delivered by wait() and links
            # As eventlet's hub prints it: once, whether or not anybody waits.
            LOG.error("unhandled exception in greenthread %r", self, exc_info=exc)
            self._finish(None, exc)
        else:
            self._finish(result, None)

    def _finish(self, result: Any, exception: BaseException | None) -> None:
        self._done = True
        self._result = result
        self._exception = exception
        self._args = self._kwargs = self._context = None
        runner = self.runner
        if runner is not None:
            runner.gt = None
            runner.pool = None
            self.runner = None
        hub = self.hub
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
        hook = hub.instruments.exited
        if hook is not None:
            try:
                hook(self)
            except Exception as error:
                hub.instruments.failed("exited", hook, error)

    @property
    def dead(self) -> bool:
        """True once the greenthread has ended (finished, raised or was killed)."""
        return self._done

    @property
    def started(self) -> bool:
        """True once it has begun to run (or ended)."""
        return self.runner is not None or (
            self._done and self._start_entry is None and self._start_timer is None)

    def ready(self) -> bool:
        """True when ``wait()`` would return at once."""
        return self._done

    def __bool__(self) -> bool:
        """As with a greenlet: true while it is running (started and not ended)."""
        return self.runner is not None

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
        if self.runner is None and not self._done:
            kill(self, exception, *args)

    def _kill_before_start(self, exception: BaseException) -> None:
        if self._start_entry is not None:
            self._start_entry[0] = None
        if self._start_timer is not None:
            self.hub.cancel_timer(self._start_timer)
        self._func = None
        self._finish(None, exception)
        # never ran: keep the start markers clear but remember it did not start
        self._start_entry = self._start_timer = None

    @property
    def gr_frame(self):
        """The frame it is suspended in (None unless running and blocked)."""
        runner = self.runner
        return runner.gr_frame if runner is not None else None

    def __repr__(self) -> str:
        func = self._func
        name = self.name or getattr(func, "__qualname__", None) or "?"
        state = "dead" if self._done else ("running" if self.runner else "pending")
        return f"<GreenThread {name} {state} at 0x{id(self):x}>"


class _Delayed(GreenThread):
    """A GreenThread that ``spawn_after`` started (only its ``origin`` differs)."""

    __slots__ = ()
    origin = "spawn_after"


def _exception_instance(exception: Any, args: tuple) -> BaseException:
    if isinstance(exception, BaseException):
        return exception
    return exception(*args)


def _announce(hub, spawned: Any) -> None:
    """Tell the hub's ``spawned`` instruments (call only when there are some)."""
    instruments = hub.instruments
    hook = instruments.spawned
    try:
        hook(spawned)
    except Exception as error:
        instruments.failed("spawned", hook, error)


def spawn(func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
    """Start ``func(*args, **kwargs)`` in a new greenthread; return its GreenThread.

    It starts at the hub's next pass, in a copy of the caller's context.
    """
    hub = get_hub()
    gt = GreenThread(hub, func, args, kwargs, copy_context())
    entry = [hub.start_task, gt]
    gt._start_entry = entry
    hub.ready.append(entry)
    if hub.instruments.spawned is not None:
        _announce(hub, gt)
    return gt


def spawn_after(seconds: float, func: Callable[..., Any], *args: Any,
                **kwargs: Any) -> GreenThread:
    """Start ``func`` in a new greenthread after ``seconds``; ``cancel()`` before then
    means it never runs."""
    hub = get_hub()
    gt = _Delayed(hub, func, args, kwargs, copy_context())
    gt._start_timer = hub.call_later(seconds, hub.start_task, gt)
    if hub.instruments.spawned is not None:
        _announce(hub, gt)
    return gt


def spawn_n_after(seconds: float, func: Callable[..., Any], *args: Any,
                  **kwargs: Any) -> list:
    """``spawn_n`` after ``seconds``: no GreenThread, no result; what escapes ``func`` is
    logged. Returns the hub's timer entry: ``cancel_timer(entry)`` before it fires means
    ``func`` never runs (afterwards it does nothing). The cheap way to re-arm a loop."""
    hub = get_hub()
    entry = hub.call_later(seconds, hub.start_task, (copy_context(), func, args, kwargs, None))
    if hub.instruments.spawned is not None:
        _announce(hub, func)
    return entry


def cancel_timer(entry: list) -> None:
    """Cancel a timer entry of ``spawn_n_after`` (no error once fired or cancelled)."""
    get_hub().cancel_timer(entry)


def spawn_n(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``func(*args, **kwargs)`` in a new greenthread and return nothing.

    Cheaper than ``spawn``: no GreenThread, no result. An exception that escapes
    ``func`` is logged with its traceback; the hub keeps running.
    """
    hub = get_hub()
    hub.ready.append([hub.start_task, (copy_context(), func, args, kwargs, None)])
    if hub.instruments.spawned is not None:
        _announce(hub, func)


def sleep(seconds: float = 0) -> None:
    """Block the current greenthread for ``seconds`` on the hub's clock.

    ``sleep(0)`` lets every other ready greenthread run once, then returns. A sleep that
    is interrupted (killed, timed out) cancels its timer; a finished one leaves none.
    """
    hub = get_hub()
    current = _getcurrent_greenlet()
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


def getcurrent() -> Any:
    """The running greenthread: a GreenThread, or the greenlet itself (the main greenlet,
    a plain greenlet).

    A spawn_n job has no GreenThread of its own; asking for it gives it one (once), so
    that it has an identity of its own: its runner is recycled when the job ends, and
    killing the handle afterwards does nothing.
    """
    g = _getcurrent_greenlet()
    gt = getattr(g, "gt", None)
    if gt is not None:
        return gt
    if type(g) is Runner and g not in g.hub.idle_runners:
        gt = GreenThread(g.hub, None, (), {})
        gt.runner = g
        g.gt = gt
        return gt
    return g


def kill(gt: Any, exception: Any = GreenletExit, *args: Any) -> None:
    """Raise ``exception`` in greenthread ``gt`` now.

    A greenthread that has not started never runs: it ends at once with that exception
    (its links run and ``wait()`` raises it). A running one gets the exception where it
    is blocked, and the caller resumes afterwards. Killing a dead greenthread does nothing.
    Killing oneself raises the exception in the caller.
    """
    exc = _exception_instance(exception, args)
    if isinstance(gt, GreenThread):
        if gt._done:
            return
        target = gt.runner
        if target is None:
            gt._kill_before_start(exc)
            return
    else:
        target = gt
        if target.dead:
            return
        if type(target) is Runner and target.gt is None and target in target.hub.idle_runners:
            return  # an idle runner: the job it ran is over, there is nothing to kill
    current = _getcurrent_greenlet()
    if current is target:
        raise exc
    if not target:  # a plain greenlet that has not started: it simply never runs
        target.parent = current
        try:
            target.throw(exc)
        except BaseException:  # noqa: BLE001 - an unstarted greenlet re-raises here
            pass
        return
    hub = get_hub()
    if current is not hub.greenlet:
        entry = [current.switch, None]
        hub.ready.append(entry)
        try:
            target.throw(exc)
        except BaseException:
            entry[0] = None
            raise
    else:
        target.throw(exc)
