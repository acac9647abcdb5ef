"""Where the simulator reaches into a cloud it built: drivers, the bus and the database.

Owns the three seams faults and measurements go through, so that they live in one place
(what the control plane's work costs is not here: the cost model, ``sim.costs``, charges
it through the explicit cost hooks of ``nova_sim.green.costs``):

- ``SimDriver``: the fake hypervisor of each simulated host, with a slow-down factor, a
  per-host probability of failed builds that can change during the run, a crash switch,
  a record of each spawn's start and end, and its busy time (at least one operation in
  progress);
- ``Interposer``: wraps the cloud's transport (``send``, ``send_reply``) so that a bus
  that is down holds every message until it is back and a slow bus delays each one, and
  wraps every public method of the cloud's database object, each one transaction, to
  count them by name and to delay them while the database is slow.

A crashed compute's driver never returns again to the calls in flight at the crash: they
park for good, as work in a killed process does; calls made after the host comes back
run normally. Must not know about tasks, scenarios or reports.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from typing import Any

from nova_sim import green
from nova_sim.virt.fake import FakeDriver


class SimDriver(FakeDriver):
    """A FakeDriver for one host of a host group (``group``), with fault switches."""

    def __init__(self, conf: Any, host: str, group: str, **overrides: Any):
        super().__init__(conf, host, **overrides)
        self.group = group
        self.slow_factor = 1.0
        self.base_failure_rate = self.spawn_failure_rate
        self.crashed = False
        self.epoch = 0
        #: instance uuid -> (spawn start, spawn end) on the hub's clock
        self.spawns: dict[str, tuple[float, float]] = {}
        #: hypervisor operations in progress, and the time with at least one
        self.operations = 0
        self.busy_time = 0.0
        self._busy_since = 0.0

    def crash(self) -> None:
        """The host's compute process dies: calls in flight never return."""
        self.crashed = True
        self.epoch += 1

    def revive(self) -> None:
        """The compute comes back: new calls run again (guests were kept)."""
        self.crashed = False

    def _park_if_dead(self, epoch: int) -> None:
        if self.crashed or epoch != self.epoch:
            green.Event().wait()  # a greenthread of a dead process: never woken

    def busy(self) -> float:
        """Seconds with at least one hypervisor operation in progress, until now."""
        if self.operations:
            return self.busy_time + green.now() - self._busy_since
        return self.busy_time

    def _delay(self, operation: str) -> None:
        epoch = self.epoch
        self._park_if_dead(epoch)
        started = green.now()
        if not self.operations:
            self._busy_since = started
        self.operations += 1
        try:
            super()._delay(operation)
            if self.slow_factor != 1.0:
                extra = (green.now() - started) * (self.slow_factor - 1.0)
                if extra > 0:
                    green.sleep(extra)
        finally:
            self.operations -= 1
            if not self.operations:
                self.busy_time += green.now() - self._busy_since
        self._park_if_dead(epoch)

    def spawn(self, context: Any, instance: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        """FakeDriver.spawn, timed into ``spawns`` when it succeeds."""
        started = green.now()
        super().spawn(context, instance, *args, **kwargs)
        self.spawns[instance["uuid"]] = (started, green.now())


#: Database methods that are not transactions (life cycle, helpers).
_NOT_TRANSACTIONS = frozenset(["close", "now", "transaction", "ensure_default_flavors"])


class Interposer:
    """Bus and database interposition on one cloud (see the module docstring)."""

    def __init__(self) -> None:
        self.bus_down_until: float | None = None
        self.bus_delay = 0.0
        self.db_delay = 0.0
        self.db_calls: Counter[str] = Counter()
        self.held_messages = 0
        #: the database methods wrapped (each one transaction or more)
        self.wrapped_database_methods: list[str] = []

    # -- the bus ---------------------------------------------------------------------
    def _bus_wait(self) -> None:
        if self.bus_down_until is not None:
            wait = self.bus_down_until - green.now()
            if wait > 0:
                self.held_messages += 1
                green.sleep(wait)
        if self.bus_delay > 0:
            green.sleep(self.bus_delay)

    def wrap_transport(self, transport: Any) -> None:
        """Route ``transport.send`` and ``send_reply`` through the bus state."""
        for name in ("send", "send_reply"):
            original = getattr(transport, name)

            def wrapped(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
                self._bus_wait()
                return _original(*args, **kwargs)

            setattr(transport, name, functools.wraps(original)(wrapped))

    # -- the database -------------------------------------------------------------------
    def wrap_database(self, db: Any) -> None:
        """Count (and delay while slow) every public method call of ``db`` that is a
        transaction of its own: a method that another one calls (placement's claim
        reading the provider's usage, say) is part of its caller's transaction, as the
        database's own count has it."""
        inside: set[Any] = set()  # the greenthreads in a database call
        for name in dir(type(db)):
            if name.startswith("_") or name in _NOT_TRANSACTIONS:
                continue
            if not inspect.isfunction(getattr(type(db), name, None)):
                continue  # properties, class attributes: not calls
            original = getattr(db, name)
            self.wrapped_database_methods.append(name)

            def wrapped(*args: Any, _original: Any = original, _name: str = name,
                        **kwargs: Any) -> Any:
                current = green.getcurrent()
                if current in inside:  # nested: its caller's transaction
                    return _original(*args, **kwargs)
                self.db_calls[_name] += 1
                inside.add(current)
                try:
                    if self.db_delay > 0:
                        green.sleep(self.db_delay)
                    return _original(*args, **kwargs)
                finally:
                    inside.discard(current)

            setattr(db, name, functools.wraps(original)(wrapped))
