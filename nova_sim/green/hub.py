"""The hub: the one loop that decides which greenthread runs next.

What it owns
------------
One hub per OS thread. The hub is a greenlet of its own. A greenthread that has nothing
to do (it sleeps, waits on an event, a queue, a socket...) switches to the hub; the hub
then switches to the next greenthread that can go on. Nobody ever calls a "run" method:
the first time any code (including plain code in the main greenlet) blocks, the hub
greenlet starts, and it keeps the others going until the blocked code can resume.

The loop, phase by phase
------------------------
1. *Thread-safe calls.* Callbacks handed in by signal handlers or other OS threads
   (``call_threadsafe``) are moved onto the ready queue.
2. *Ready queue.* One pass over what was ready when the pass began: each entry is a
   ``[switch, value]`` pair, and the hub switches to that greenthread with that value.
   What becomes ready during the pass waits for the next pass; that is why ``sleep(0)``
   lets every other ready greenthread run once before its caller goes on.
3. *Due timers.* Every timer whose deadline has passed fires, earliest first.
4. *Waiting.* If nothing is ready, the hub waits: for file descriptors (a ``selectors``
   poll, which also watches a self-pipe so signals and other threads can wake it) until
   the next timer is due, or, on the virtual clock, not at all: time jumps to the next
   deadline.

A discussion about time
-----------------------
Timers live in a heap ordered by ``(deadline, sequence)``. The sequence number is a
counter, so two timers due at the same instant fire in the order they were scheduled.
(eventlet breaks such ties by comparing object ids, which is neither FIFO nor the same from
run to run.) Cancelling a timer does not search the heap: the entry is only marked
(its callback slot is cleared) and skipped when it reaches the top; when more than half of
a large heap is cancelled entries, the heap is rebuilt without them.

The clock is injectable. ``RealClock`` hubs read ``time.monotonic()``. ``virtual_time()``
runs its block on a fresh hub whose clock only moves when every greenthread is blocked:
then it jumps straight to the next deadline. An hour of heartbeats and periodic tasks
passes in a blink, and, because ties are FIFO and the random generator is seeded, the same
program does exactly the same thing every time. The virtual clock is for in-process
simulations; watching a file descriptor under it is an error, because no jump of a
virtual clock makes a real socket readable.

Runners and hand-offs
---------------------
Two things make a switch cheap. Greenthreads run on *runners*: greenlets that, when their
task ends, park in ``idle_runners`` and are handed the next task, because creating a
greenlet and running it to its end costs about ten switches. And a greenthread that
blocks *hands off*: ``switch()`` takes the next ready entry itself and switches straight
to it, one switch instead of two through the hub. Only entries that really switch (a
greenlet's own ``switch``, or ``start_task``) are handed off to; the ready queue stays
FIFO, and two budgets send control back through the loop so that timers and I/O are
never starved: at most ``HAND_OFF_BUDGET`` hand-offs per pass, and, on the real clock, at
most ``PASS_TIME_LIMIT`` seconds per pass. The count alone is not enough: when each ready
greenthread runs a millisecond of work (a database driver parsing an answer), 50 ready
greenthreads and 64 hand-offs hold a due timer for a tenth of a second. The time bound
cuts the pass (the greenthreads not yet run stay first in the queue), serves due timers
and I/O, and goes on. It reads the real clock, so a virtual-clock hub has none: there,
what runs in which order depends only on the program, never on how fast the machine is.

Instruments
-----------
``add_instrument(obj)`` installs an object whose optional methods (``spawned``,
``switched``, ``exited``, ``timer_fired``, ``io_wait``) the runtime calls, through the
hub's ``instruments`` registry (``nova_sim.green.instruments``: the RPC layer's hooks
work the same way). While none is installed a hook costs one attribute read.
``switched`` uses ``greenlet.settrace``, which is only set while an instrument asks for
it. An instrument that raises is logged and removed; the loop goes on.

What it must not know: RPC, Nova, anything above the runtime.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import random
import selectors
import threading
import time
from collections import deque
from typing import Any, Callable

import greenlet

from nova_sim.green.instruments import Instruments

LOG = logging.getLogger(__name__)

#: The hooks an instrument of the hub may have (see the module essay).
HUB_HOOKS = ("spawned", "switched", "exited", "timer_fired", "io_wait")

getcurrent = greenlet.getcurrent
GreenletExit = greenlet.GreenletExit

# Timer heap entries are lists: [deadline, sequence, callback, argument]. A cancelled or
# fired entry has callback None. Lists compare by deadline, then by the unique sequence,
# so callbacks are never compared.
_DEADLINE, _SEQ, _CALLBACK, _ARG = range(4)

# Default start of wallclock() under the virtual clock: 2026-01-01T00:00:00Z.
DEFAULT_VIRTUAL_EPOCH = 1767225600.0

# How many times greenthreads may switch straight to one another (see Hub.switch) before
# control must pass through the hub loop again, so that timers and I/O are not starved.
HAND_OFF_BUDGET = 64

# Seconds of the real clock a pass of the ready queue (with its hand-offs) may run before
# the hub serves due timers and I/O (see Hub.switch and Hub._run_once). Real-clock hubs
# only: a virtual hub's passes are bounded by HAND_OFF_BUDGET alone.
PASS_TIME_LIMIT = 0.002

_monotonic = time.monotonic
_NO_LIMIT = float("inf")

_BuiltinMethod = type(greenlet.getcurrent().switch)

# Idle runners kept per hub; beyond this a runner ends with its job.
MAX_IDLE_RUNNERS = 1024



# The version and variant bits of a version 4 UUID (what ``uuid.UUID(version=4)`` sets).
UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
UUID4_SET = (0x4000 << 64) | (0x8000 << 48)

class Runner(greenlet.greenlet):
    """A recycled greenlet that runs greenthreads and spawn_n jobs one after another.

    Creating a greenlet and running it to its end costs far more than switching between
    live ones, so the hub keeps finished runners parked and hands them the next task.
    A task is a GreenThread (anything with ``_run(runner)``) or a spawn_n job tuple
    ``(context, func, args, kwargs, pool)``. ``gt`` is the GreenThread being run (None for
    a spawn_n job or while idle); ``pool`` the GreenPool the current task counts against.
    """

    __slots__ = ("hub", "gt", "pool")  # no per-runner dict: 100k runners are common

    def __init__(self, hub: Hub):
        greenlet.greenlet.__init__(self, None, hub.greenlet)
        self.hub = hub
        self.gt = None
        self.pool = None

    def run(self, first: list) -> None:
        # The first task comes in a list emptied here: greenlet keeps a runner's start
        # arguments for as long as the runner lives, and a task (its context, its
        # arguments) must not outlive its run (see also ``task = None`` below).
        task = first.pop()
        hub = self.hub
        idle = hub.idle_runners
        try:
            while True:
                if type(task) is tuple:
                    _run_job(self, task)
                else:
                    task._run(self)
                if hub.closing or len(idle) >= MAX_IDLE_RUNNERS:
                    return
                idle.append(self)
                # let go of the task while parked: a finished job's context (its
                # request context, its trace spans), arguments and result would
                # otherwise live on in every idle runner until its next task
                task = None
                task = hub.greenlet.switch()
                if task is None:
                    return
        except GreenletExit:
            return
        finally:
            hub.live.discard(self)


def _run_job(runner: Runner, job: tuple) -> None:
    """Run a spawn_n job on ``runner``: log what escapes it, free its pool slot."""
    context, func, args, kwargs, pool = job
    runner.pool = pool
    try:
        context.run(func, *args, **kwargs)
    except GreenletExit:
        if runner.hub.closing:
            raise
    except BaseException:
        LOG.exception("unhandled exception in greenthread running %s",
                      getattr(func, "__qualname__", func))
    finally:
        runner.pool = None
        handle = runner.gt
        if handle is not None:
            # getcurrent() gave this job a handle: end it, so that a later kill() through
            # it cannot hit whatever job the recycled runner runs next.
            handle._finish(None, None)
        else:
            instruments = runner.hub.instruments
            hook = instruments.exited
            if hook is not None:
                try:
                    hook(runner)
                except Exception as error:
                    instruments.failed("exited", hook, error)
        if pool is not None:
            pool._job_done()


class DeadlockError(RuntimeError):
    """Every greenthread is blocked and nothing (timer, I/O) can ever wake one."""


class Hub:
    """The scheduler of one OS thread on the real clock. See the module essay."""

    virtual = False
    #: Seconds a pass may run on the real clock (``PASS_TIME_LIMIT``); None: no limit.
    pass_time_limit: float | None = PASS_TIME_LIMIT

    def __init__(self, seed: int | None = None):
        self.ready: deque[list] = deque()
        self.timers: list[list] = []
        self._cancelled_timers = 0
        self._sequence = itertools.count()
        self.thread_ident = threading.get_ident()
        # Every runner greenlet alive on this hub, busy or idle (for greenthread dumps, and
        # so that virtual_time() can kill what is left when its block ends).
        self.live: set[greenlet.greenlet] = set()
        self.idle_runners: list[Runner] = []
        self.closing = False
        self.hand_offs = 0
        self._pass_deadline = _NO_LIMIT  # when the current pass has run long enough
        self.instruments = Instruments(HUB_HOOKS, "hub", on_change=self._instruments_changed)
        self._tracing_switches = False
        # I/O
        self._selector: selectors.BaseSelector | None = None
        self._readers: dict[int, list] = {}
        self._writers: dict[int, list] = {}
        # Thread-safe calls and the self-pipe that wakes a sleeping loop.
        self._threadsafe: deque = deque()
        self._threadsafe_lock = threading.Lock()
        self._wake_r = self._wake_w = -1
        self._sleeping = False
        self.closed = False
        self.random = random.Random(seed) if seed is not None else random.Random()
        self._start()

    # -- clocks -------------------------------------------------------------------
    def clock(self) -> float:
        """Seconds on this hub's clock (monotonic; the unit of every deadline)."""
        return time.monotonic()

    def wallclock(self) -> float:
        """Seconds since the Unix epoch, as the services timestamp things."""
        return time.time()

    def random_uuid(self) -> str:
        """A random UUID (version 4) drawn from this hub's generator: the text of
        ``uuid.UUID(int=bits, version=4)``, formatted directly."""
        text = "%032x" % ((self.random.getrandbits(128) & UUID4_CLEAR) | UUID4_SET)
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    # -- switching ----------------------------------------------------------------
    def switch(self) -> Any:
        """Block the current greenthread: switch to the hub until someone wakes it.

        Returns the value the waker passed. Raises whatever is thrown into the
        greenthread meanwhile (a kill, a Timeout). Must not be called from the hub itself.
        """
        hub_greenlet = self.greenlet
        if getcurrent() is hub_greenlet:
            raise RuntimeError("the hub cannot block: do not call blocking functions "
                               "from a timer callback or instrument")
        # Hand-off: while the hub's budget lasts, switch straight to the next ready
        # greenthread instead of going through the hub (one switch instead of two). The
        # ready queue stays FIFO, so fairness among greenthreads is unchanged; the budgets
        # (a count, and the pass's time on the real clock) make sure the hub still gets
        # to its timers and I/O regularly.
        ready = self.ready
        while ready and self.hand_offs > 0:
            switch, value = ready[0]
            if switch is None:  # a withdrawn wake-up
                ready.popleft()
                continue
            # Only a greenlet's own switch (to a live greenlet) or the start of a task
            # may be handed off to: anything else must run in the hub, as it may
            # return without switching (its return value is not a wake-up).
            if type(switch) is _BuiltinMethod:
                if switch.__name__ != "switch" or switch.__self__.dead:
                    break
            elif getattr(switch, "__func__", None) is not _START_TASK or not self.idle_runners:
                # A new runner starts from the hub: a greenlet keeps, for its whole life,
                # the recursion depth of the stack it was first switched to from, and
                # runners live long (recycled), so one started here, deep in this
                # greenthread's stack, would leave less room to every task it ever runs.
                break
            hand_offs = self.hand_offs
            # The clock is read every fourth hand-off: a read costs as much as a tenth
            # of a hand-off, and a pass overruns its limit by three steps at most.
            if not hand_offs & 3 and _monotonic() > self._pass_deadline:
                self.hand_offs = 0
                break
            self.hand_offs = hand_offs - 1
            ready.popleft()
            return switch(value)
        if hub_greenlet.dead:
            hub_greenlet = self._start()
        return hub_greenlet.switch()

    def _start(self) -> greenlet.greenlet:
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        self.greenlet = greenlet.greenlet(self._run, parent=root)
        self.hand_offs = 0
        return self.greenlet

    def start_task(self, task: Any) -> None:
        """Run ``task`` (a GreenThread or a spawn_n job) on an idle runner or a new one.

        Called from the hub greenlet (as a ready entry or a timer callback).
        """
        idle = self.idle_runners
        while idle:
            runner = idle.pop()
            if not runner.dead:
                break
        else:
            runner = Runner(self)
            self.live.add(runner)
            task = [task]  # a new runner's start argument (see Runner.run)
        # When called from a greenthread handing off (see switch()), what comes back is
        # the value that greenthread is eventually woken with.
        return runner.switch(task)

    def schedule(self, switch: Callable[[Any], Any], value: Any = None) -> list:
        """Make ``switch(value)`` run in the next pass of the ready queue.

        Returns the entry; setting ``entry[0] = None`` before it runs cancels it.
        """
        entry = [switch, value]
        self.ready.append(entry)
        return entry

    # -- timers -------------------------------------------------------------------
    def call_later(self, seconds: float, callback: Callable[[Any], Any],
                   argument: Any = None) -> list:
        """Run ``callback(argument)`` in the hub ``seconds`` from now.

        Returns the timer entry, to pass to ``cancel_timer``. Callbacks run in the hub
        greenlet: they may wake or switch to greenthreads but must not block.
        """
        entry = [self.clock() + seconds, next(self._sequence), callback, argument]
        heapq.heappush(self.timers, entry)
        return entry

    def cancel_timer(self, entry: list) -> None:
        """Cancel a timer; cancelling a fired or cancelled timer does nothing."""
        if entry[_CALLBACK] is not None:
            entry[_CALLBACK] = None
            entry[_ARG] = None
            self._cancelled_timers += 1
            if self._cancelled_timers > 1024 and self._cancelled_timers * 2 > len(self.timers):
                self.timers = [t for t in self.timers if t[_CALLBACK] is not None]
                heapq.heapify(self.timers)
                self._cancelled_timers = 0

    @property
    def pending_timers(self) -> int:
        """How many timers are scheduled and neither fired nor cancelled."""
        return sum(1 for t in self.timers if t[_CALLBACK] is not None)

    def _next_deadline(self) -> float | None:
        timers = self.timers
        while timers and timers[0][_CALLBACK] is None:
            heapq.heappop(timers)
            self._cancelled_timers -= 1
        return timers[0][_DEADLINE] if timers else None

    # -- thread safety ------------------------------------------------------------
    def call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` on this hub's thread, from any thread or a signal
        handler. It runs in its own greenthread soon after, even if no timer is due."""
        with self._threadsafe_lock:
            self._threadsafe.append((callback, args))
        if self._wake_w >= 0:
            try:
                os.write(self._wake_w, b"x")
            except (BlockingIOError, OSError):
                pass

    def _drain_threadsafe(self) -> None:
        with self._threadsafe_lock:
            calls = list(self._threadsafe)
            self._threadsafe.clear()
        from nova_sim.green.greenthread import spawn_n

        for callback, args in calls:
            spawn_n(callback, *args)

    # -- I/O ----------------------------------------------------------------------
    def _ensure_selector(self) -> selectors.BaseSelector:
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        return self._selector

    def add_listener(self, fd: int, read: bool, entry: list) -> None:
        """Wake ``entry`` (a ``[switch, value]`` pair) when ``fd`` is readable (or
        writable). One reader and one writer per descriptor."""
        if self.virtual:
            raise RuntimeError(
                "cannot wait for file descriptor %d under the virtual clock: the virtual "
                "clock serves in-process simulations (green:// transport, no sockets); "
                "sockets, the REST API and AMQP run on the real clock" % fd)
        selector = self._ensure_selector()
        table = self._readers if read else self._writers
        if fd in table:
            raise RuntimeError("fd %d already has a %s waiting" %
                               (fd, "reader" if read else "writer"))
        table[fd] = entry
        events = (selectors.EVENT_READ if fd in self._readers else 0) | (
            selectors.EVENT_WRITE if fd in self._writers else 0)
        try:
            selector.modify(fd, events)
        except KeyError:
            selector.register(fd, events)
        hook = self.instruments.io_wait
        if hook is not None:
            try:
                hook(fd, events)
            except Exception as error:
                self.instruments.failed("io_wait", hook, error)

    def remove_listener(self, fd: int, read: bool) -> None:
        """Stop watching ``fd`` for reading (or writing)."""
        table = self._readers if read else self._writers
        if table.pop(fd, None) is None:
            return
        events = (selectors.EVENT_READ if fd in self._readers else 0) | (
            selectors.EVENT_WRITE if fd in self._writers else 0)
        try:
            if events:
                self._selector.modify(fd, events)
            else:
                self._selector.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def notify_closed(self, fd: int) -> None:
        """A descriptor is being closed: wake its waiters with an error."""
        for table in (self._readers, self._writers):
            entry = table.get(fd)
            if entry is not None:
                self.remove_listener(fd, table is self._readers)
                entry[1] = _CLOSED
                self.ready.append(entry)

    def _poll(self, timeout: float | None) -> None:
        selector = self._selector
        if selector is None:
            if timeout == 0:
                return
            selector = self._ensure_selector()
        if self._threadsafe:
            timeout = 0  # a thread-safe call arrived before the pipe could wake us
        self._sleeping = True
        try:
            events = selector.select(timeout)
        finally:
            self._sleeping = False
        readers, writers, ready = self._readers, self._writers, self.ready
        for key, mask in events:
            fd = key.fd
            if fd == self._wake_r:
                try:
                    while os.read(fd, 4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
                continue
            if mask & selectors.EVENT_READ:
                entry = readers.get(fd)
                if entry is not None:
                    self.remove_listener(fd, True)
                    ready.append(entry)
            if mask & selectors.EVENT_WRITE:
                entry = writers.get(fd)
                if entry is not None:
                    self.remove_listener(fd, False)
                    ready.append(entry)

    # -- instruments --------------------------------------------------------------
    def add_instrument(self, instrument: Any) -> None:
        """Install an instrument; see the module docstring for the hook names."""
        self.instruments.add(instrument)

    def remove_instrument(self, instrument: Any) -> None:
        """Remove an instrument installed with ``add_instrument`` (no error if absent)."""
        self.instruments.remove(instrument)

    def _instruments_changed(self, instruments: Instruments) -> None:
        """Set ``greenlet.settrace`` while some instrument has ``switched``, else unset."""
        switchers = tuple(instruments.guarded("switched", instrument)
                          for instrument in instruments.having("switched"))
        if switchers:
            def trace(event, args, switchers=switchers):
                if event in ("switch", "throw"):
                    origin, target = args
                    for switched in switchers:
                        switched(origin, target)
            greenlet.settrace(trace)
        elif self._tracing_switches:
            greenlet.settrace(None)
        self._tracing_switches = bool(switchers)

    # -- the loop -----------------------------------------------------------------
    def _run(self) -> None:
        ready = self.ready
        popleft = ready.popleft
        heappop = heapq.heappop
        clock = self.clock
        while not self.closed:
            try:
                self._run_once(ready, popleft, heappop, clock)
            except GreenletExit:
                raise
            except BaseException as exc:  # noqa: BLE001
                # Raised into the hub itself: a signal handler's exception (Ctrl-C, a
                # test timeout) while the hub waited, or a bug. The hub must survive
                # it: the main greenlet gets the exception, as eventlet does.
                self._raise_in_main(exc)

    # The phases stay in one frame, in the order the essay above gives them: this runs on
    # every turn of the loop.
    def _run_once(self, ready, popleft, heappop, clock) -> None:  # noqa: C901
        """One turn of the loop: thread-safe calls, a ready pass, due timers, waiting."""
        if self._threadsafe:
            self._drain_threadsafe()
        # Phase 1: one pass over the ready queue (greenthreads handing off to each
        # other may take some of its entries first). On the real clock a pass that has
        # run for pass_time_limit ends early: what was not run stays first in the queue.
        self.hand_offs = HAND_OFF_BUDGET
        limit = self.pass_time_limit
        if limit is not None:
            deadline = self._pass_deadline = _monotonic() + limit
        pass_length = len(ready)
        while pass_length > 0 and ready:
            pass_length -= 1
            switch, value = popleft()
            if switch is not None:
                try:
                    switch(value)
                except GreenletExit:
                    raise
                except (SystemExit, KeyboardInterrupt) as exc:
                    self._raise_in_main(exc)
                except BaseException:
                    LOG.exception("unhandled error in the hub")
                if limit is not None and _monotonic() > deadline:
                    break
        # Phase 2: due timers.
        timers = self.timers
        if timers:
            now = clock()
            while timers and timers[0][_DEADLINE] <= now:
                entry = heappop(timers)
                callback = entry[_CALLBACK]
                if callback is None:
                    self._cancelled_timers -= 1
                    continue
                argument = entry[_ARG]
                entry[_CALLBACK] = entry[_ARG] = None
                hook = self.instruments.timer_fired
                if hook is not None:
                    try:
                        hook(entry)
                    except Exception as error:
                        self.instruments.failed("timer_fired", hook, error)
                try:
                    callback(argument)
                except GreenletExit:
                    raise
                except (SystemExit, KeyboardInterrupt) as exc:
                    self._raise_in_main(exc)
                except BaseException:
                    LOG.exception("unhandled error in timer %r", callback)
        # Phase 3: wait for something to do.
        if ready or self._threadsafe:
            if self._readers or self._writers:
                self._poll(0)
            return
        self._wait_for_work()

    def _wait_for_work(self) -> None:
        deadline = self._next_deadline()
        timeout = None if deadline is None else max(0.0, deadline - self.clock())
        self._poll(timeout)

    def _raise_in_main(self, exc: BaseException) -> None:
        main = self.greenlet.parent
        self.schedule(lambda _: main.throw(exc))

    # -- shutting down ------------------------------------------------------------
    def kill_all(self) -> None:
        """Kill every greenthread still alive on this hub, drop all timers and stop the
        hub greenlet.

        Used when a ``virtual_time()`` block ends: a periodic task that re-arms itself
        forever must not keep the block from ending. Must be called from outside the hub
        (the main greenlet): each victim gets ``GreenletExit`` where it is blocked and
        control comes back here whether it dies or blocks again in its cleanup.
        """
        self.closing = True
        for entry in self.timers:
            entry[_CALLBACK] = entry[_ARG] = None
        self.timers.clear()
        self._cancelled_timers = 0
        current = getcurrent()
        for _ in range(3):
            victims = [g for g in self.live if g and not g.dead]
            if not victims:
                break
            for victim in victims:
                if victim.dead:
                    continue
                entry = [current.switch, None]
                self.ready.append(entry)
                try:
                    victim.parent = current
                    victim.throw(GreenletExit())
                except BaseException:  # noqa: BLE001 - dying greenthreads may raise
                    pass
                entry[0] = None
        self.live.clear()
        self.idle_runners.clear()
        self.ready.clear()
        hub_greenlet = self.greenlet
        if hub_greenlet and not hub_greenlet.dead:
            try:
                hub_greenlet.throw(GreenletExit())
            except BaseException:  # noqa: BLE001
                pass

    def close(self) -> None:
        """Release the selector and the self-pipe."""
        self.closed = True
        if self._selector is not None:
            self._selector.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._selector = None
            self._wake_r = self._wake_w = -1


_CLOSED = object()  # value a waiter gets when its descriptor was closed under it


_START_TASK = Hub.start_task  # the one Python callable hand-offs may call (see switch)


class VirtualHub(Hub):
    """A hub on the virtual clock: time moves only when every greenthread is blocked,
    and then jumps straight to the next deadline."""

    virtual = True
    pass_time_limit = None  # no real-clock bound: the same program, the same order

    def __init__(self, start: float = 0.0, seed: int | None = 0,
                 epoch: float = DEFAULT_VIRTUAL_EPOCH):
        super().__init__(seed=seed if seed is not None else 0)
        self.now = float(start)
        self.epoch = float(epoch)
        self.clock = self._virtual_clock  # instance attribute: read by the loop

    def _virtual_clock(self) -> float:
        return self.now

    def clock_ns(self) -> int:
        """The virtual clock in integer nanoseconds (what the tracer stamps spans with)."""
        return int(self.now * 1e9)

    def wallclock(self) -> float:
        return self.epoch + self.now

    def _wait_for_work(self) -> None:
        deadline = self._next_deadline()
        if deadline is not None:
            if deadline > self.now:
                self.now = deadline
            return
        if self._threadsafe:
            return
        # Nothing is ready and no timer will ever fire: the blocked code would hang.
        # Tell the main greenlet rather than sleeping forever.
        main = self.greenlet.parent
        main.throw(DeadlockError(
            "virtual clock: every greenthread is blocked and no timer is pending "
            "(deadlock); nothing can wake the main greenlet"))


# -- the current hub ----------------------------------------------------------------
_local = threading.local()


def get_hub() -> Hub:
    """The hub of the calling OS thread (created on first use, on the real clock)."""
    try:
        return _local.hub
    except AttributeError:
        hub = _local.hub = Hub()
        return hub


def set_hub(hub: Hub | None) -> Hub | None:
    """Make ``hub`` the calling thread's hub; returns the previous one (or None)."""
    previous = getattr(_local, "hub", None)
    if hub is None:
        if hasattr(_local, "hub"):
            del _local.hub
    else:
        _local.hub = hub
    return previous


def now() -> float:
    """The current hub's clock, in seconds (monotonic on the real clock)."""
    return get_hub().clock()


def wallclock() -> float:
    """Seconds since the epoch on the current hub's clock (virtual: fixed epoch + virtual
    time), for timestamps."""
    return get_hub().wallclock()


def random_uuid() -> str:
    """A UUID4 string from the current hub's generator (seeded under virtual_time)."""
    return get_hub().random_uuid()
