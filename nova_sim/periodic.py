"""Periodic tasks: ``@periodic_task`` methods and the runner that drives them.

Owns the decorator, the ``PeriodicTasks`` mixin (what is due, when to wake up next) and
``PeriodicRunner`` (the greenthread loop that re-arms itself with ``spawn_n_after``). This is
oslo.service's ``periodic_task`` model, rewritten for nova-sim:

* ``@periodic_task(spacing=N)`` marks a manager method ``def task(self, context)`` to run
  every ``N`` seconds. ``spacing=0`` means the default interval (60 s); a negative spacing
  disables the task, as does ``enabled=False``. With ``run_immediately=False`` (the default)
  a task first runs one interval after the manager is made; with ``True`` on the first pass.
* ``run_periodic_tasks(context)`` runs the tasks that are due, in definition order,
  yields (``sleep(0)``) after each so other greenthreads can run, and returns how long the
  caller may idle until the next task is due. A task that raises is logged and the others
  go on; a task that outlasts its own interval is logged as a warning.
* ``PeriodicRunner`` is the dynamic looping call a service uses: after a random initial delay
  (up to ``periodic_fuzzy_delay``, from the hub's seeded random, so virtual-time runs are
  repeatable) it runs the due tasks, then schedules itself again with ``spawn_n_after(idle)``.
  Nothing sleeps in between: between two runs no greenthread exists for the loop at all,
  only a timer on the hub.

All times come from the hub's clock (``green.now()``), so under the virtual clock an hour of
periodic tasks passes in a blink. Must not know about RPC, the database or Nova services.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable

from nova_sim import green, trace
from nova_sim.green.costs import hooks as costs

LOG = logging.getLogger(__name__)

#: The interval of a task declared with ``spacing=0`` (oslo.service's DEFAULT_INTERVAL).
DEFAULT_INTERVAL = 60.0


def periodic_task(
    *args: Callable,
    spacing: float = 0,
    run_immediately: bool = False,
    enabled: bool = True,
    name: str | None = None,
) -> Callable:
    """Mark a method ``def task(self, context)`` as a periodic task.

    Usable bare (``@periodic_task``) or with arguments (``@periodic_task(spacing=600)``).
    ``spacing`` 0 means ``DEFAULT_INTERVAL``; negative or ``enabled=False`` disables the task.
    """

    def decorator(function: Callable) -> Callable:
        function._periodic_task = True
        function._periodic_enabled = enabled and spacing >= 0
        function._periodic_spacing = DEFAULT_INTERVAL if spacing == 0 else float(spacing)
        function._periodic_immediate = run_immediately
        function._periodic_name = name or function.__name__
        return function

    if args and callable(args[0]):
        return decorator(args[0])
    return decorator


def _nearest_boundary(last_run: float, spacing: float, now: float) -> float:
    """The latest ``last_run + k * spacing`` not after ``now`` (k >= 1): drift-free runs.

    A task due at 60 that runs at 60.4 is next due at 120, not 120.4; a task that missed
    several intervals (a long stall) runs once and is then due at the next boundary.
    """
    if now - last_run < spacing:
        return now
    return last_run + spacing * math.floor((now - last_run) / spacing)


# class -> its enabled tasks, (name, function), base classes' first (found once per
# class: 10,000 computes share one table)
_TASKS: dict[type, tuple[tuple[str, Callable], ...]] = {}


def _tasks_of(cls: type) -> tuple[tuple[str, Callable], ...]:
    """The enabled ``@periodic_task`` methods of ``cls`` and its bases, in order."""
    found = _TASKS.get(cls)
    if found is not None:
        return found
    tasks: list[tuple[str, Callable]] = []
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for attribute, value in vars(klass).items():
            if not getattr(value, "_periodic_task", False) or attribute in seen:
                continue
            function = getattr(cls, attribute)
            if not getattr(function, "_periodic_enabled", False):
                continue
            seen.add(attribute)
            tasks.append((function._periodic_name, function))
    found = _TASKS[cls] = tuple(tasks)
    return found


# class -> {task name: (its log name "Class.task", its span name "periodic.task")}
_NAMES: dict[type, dict[str, tuple[str, str]]] = {}


def _names_of(cls: type) -> dict[str, tuple[str, str]]:
    """The log and span names of the tasks of ``cls`` (made once per class, not per run)."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = {
            task_name: (f"{cls.__name__}.{task_name}", "periodic." + task_name)
            for task_name, _function in _tasks_of(cls)
        }
    return names


class PeriodicTasks:
    """Mixin for managers: finds the ``@periodic_task`` methods and runs the due ones.

    The tasks are found on the class (and its bases, base tasks first) when the object is
    made; ``_periodic_last_run`` holds when each last ran (``None``: run on the next pass).
    """

    def __init__(self, *args: Any, **kwargs: Any):
        tasks = _tasks_of(type(self))
        start = green.now()
        self._periodic_tasks: list[tuple[str, Callable]] = [
            (task_name, function) for task_name, function in tasks
        ]
        self._periodic_spacing: dict[str, float] = {
            task_name: function._periodic_spacing for task_name, function in tasks
        }
        self._periodic_last_run: dict[str, float | None] = {
            task_name: None if function._periodic_immediate else start
            for task_name, function in tasks
        }

    def periodic_task_names(self) -> list[str]:
        """Names of the enabled periodic tasks, in the order they run."""
        return [name for name, _ in self._periodic_tasks]

    def set_periodic_spacing(self, task_name: str, spacing: float) -> None:
        """Change a task's interval at run time (Nova reads it from CONF at import; here
        each service has its own conf). 0 means ``DEFAULT_INTERVAL``; negative disables the
        task. Unknown names are ignored."""
        if task_name not in self._periodic_spacing:
            return
        if spacing < 0:
            self._periodic_tasks = [t for t in self._periodic_tasks if t[0] != task_name]
            del self._periodic_spacing[task_name]
            return
        self._periodic_spacing[task_name] = float(spacing) or DEFAULT_INTERVAL

    def run_periodic_tasks(self, context: Any, raise_on_error: bool = False) -> float:
        """Run every task that is due now; return the seconds until the next one is due.

        Tasks run one after another on the calling greenthread with a ``sleep(0)`` after
        each. An exception in a task is logged (or re-raised with ``raise_on_error``) and the
        other tasks still run. The returned idle time is at most ``DEFAULT_INTERVAL``.
        """
        idle_for = DEFAULT_INTERVAL
        names = _names_of(type(self))
        clock = green.get_hub().clock
        for task_name, task in self._periodic_tasks:
            spacing = self._periodic_spacing[task_name]
            last_run = self._periodic_last_run[task_name]
            now = clock()
            idle_for = min(idle_for, spacing)
            if last_run is not None:
                delta = last_run + spacing - now
                if delta > 0:
                    idle_for = min(idle_for, delta)
                    continue
            self._periodic_last_run[task_name] = (
                now if last_run is None else _nearest_boundary(last_run, spacing, now)
            )
            full_name, span_name = names[task_name]
            LOG.debug("Running periodic task %s", full_name)
            work = costs.work
            if work is not None:  # the cost model charges the task's CPU
                work(self, "periodic", task_name)
            try:
                with trace.span(span_name, task=full_name):
                    task(self, context)
            except Exception:
                if raise_on_error:
                    raise
                LOG.exception("Error during %s", full_name)
            elapsed = clock() - now
            if elapsed > spacing:
                LOG.warning(
                    "Periodic task %s took %.2f s, longer than its interval of %.2f s",
                    full_name, elapsed, spacing,
                )
            green.sleep(0)
        return idle_for


class PeriodicRunner:
    """Drive ``manager.run_periodic_tasks`` forever: a dynamic looping call on spawn_n_after.

    ``start(initial_delay)`` arms the first run (``None``: a random delay up to
    ``fuzzy_delay`` from the hub's random generator). Each run calls the manager, then
    re-arms after the idle time it returned, clamped to ``[0, max_interval]``. ``stop()``
    cancels the pending timer; a run in progress finishes (``wait`` waits for it). An
    exception escaping ``run_periodic_tasks`` itself is logged and the loop goes on.
    """

    def __init__(
        self,
        manager: PeriodicTasks,
        context_factory: Callable[[], Any],
        fuzzy_delay: float = 60.0,
        max_interval: float = DEFAULT_INTERVAL,
    ):
        self.manager = manager
        self._context_factory = context_factory
        self.fuzzy_delay = fuzzy_delay
        self.max_interval = max_interval
        self._timer = None
        self._running = False
        self._stopped = True
        #: the event a ``wait`` blocks on, made by the first waiter of a run (most runs
        #: have none: no event per run)
        self._idle: Any = None
        self.runs = 0

    def start(self, initial_delay: float | None = None) -> None:
        """Arm the first run after ``initial_delay`` seconds (random fuzz when ``None``)."""
        if initial_delay is None:
            fuzz = self.fuzzy_delay
            initial_delay = green.get_hub().random.uniform(0, fuzz) if fuzz > 0 else 0.0
        self._stopped = False
        self._timer = green.spawn_n_after(initial_delay, self._run)

    def _run(self) -> None:
        if self._stopped:
            return
        self._running = True
        idle = self.max_interval
        try:
            idle = self.manager.run_periodic_tasks(self._context_factory())
        except Exception:
            LOG.exception("Periodic task runner of %s failed", type(self.manager).__name__)
        finally:
            self.runs += 1
            self._running = False
            waiters, self._idle = self._idle, None
            if waiters is not None:
                waiters.send(None)
        if not self._stopped:
            delay = max(0.0, min(idle, self.max_interval))
            self._timer = green.spawn_n_after(delay, self._run)

    def stop(self) -> None:
        """Cancel the next run; a run already in progress is left to finish."""
        self._stopped = True
        timer, self._timer = self._timer, None
        if timer is not None and not self._running:
            green.cancel_timer(timer)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no run is in progress; ``False`` if ``timeout`` expired first."""
        if not self._running:
            return True
        if self._idle is None:
            self._idle = green.Event()
        idle = self._idle
        with green.Timeout(timeout, False):
            idle.wait()
            return True
        return False


class FixedIntervalLoop:
    """oslo.service's FixedIntervalLoopingCall on spawn_n_after: run ``function()`` every
    ``interval`` seconds, drift-free.

    The first run is ``initial_delay`` seconds after ``start``; run *n* is due at
    ``first + n * interval`` (nameko's rule: a slow run does not push later runs back). A
    run that outlasts its interval is logged and the next one starts at once. An exception
    in ``function`` is logged and the loop goes on. ``stop()`` cancels the next run.

    Each run is a greenthread of its own, unless ``in_hub``: then ``function`` runs in the
    hub's timer callback, which saves the greenthread but forbids blocking (a blocking
    call raises RuntimeError, logged as the run's failure). For functions that only touch
    memory, such as the in-memory service group's heartbeat.
    """

    def __init__(self, function: Callable[[], Any], interval: float, name: str | None = None,
                 in_hub: bool = False):
        self.function = function
        self.interval = float(interval)
        self.name = name or getattr(function, "__name__", "loop")
        self.in_hub = in_hub
        self._timer = None
        self._running = False
        self._stopped = True
        self._next_due = 0.0
        self.runs = 0
        #: the callback each run re-arms (bound once, not per run)
        self._callback = self._run_in_hub if in_hub else self._run

    def start(self, initial_delay: float = 0.0) -> FixedIntervalLoop:
        """Arm the first run ``initial_delay`` seconds from now; returns ``self``."""
        self._stopped = False
        self._next_due = green.now() + initial_delay
        self._arm(initial_delay)
        return self

    def _arm(self, delay: float) -> None:
        if self.in_hub:
            self._timer = green.get_hub().call_later(delay, self._callback)
        else:
            self._timer = green.spawn_n_after(delay, self._callback)

    def _run_in_hub(self, _argument: Any) -> None:
        self._run()

    def _run(self) -> None:
        if self._stopped:
            return
        self._running = True
        clock = green.get_hub().clock
        started = clock()
        try:
            self.function()
        except Exception:
            LOG.exception("%s failed", self.name)
        finally:
            self.runs += 1
            self._running = False
        if self._stopped:
            return
        finished = clock()
        if finished - started > self.interval:
            LOG.warning(
                "%s run outlasted its interval by %.2f s",
                self.name, finished - started - self.interval,
            )
        self._next_due += self.interval
        if self._next_due < finished:
            self._next_due = finished
        self._arm(self._next_due - finished)

    @property
    def running(self) -> bool:
        """True between ``start`` and ``stop``."""
        return not self._stopped

    def stop(self) -> None:
        """Cancel the next run (a run in progress finishes)."""
        self._stopped = True
        timer, self._timer = self._timer, None
        if timer is not None and not self._running:
            green.cancel_timer(timer)
