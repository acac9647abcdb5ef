"""What every service-group driver shares: the heartbeat loop (as Nova's drivers' ``join``).

Owns ``Driver``: ``join(service)`` arms a fixed-interval loop that calls the driver's
``report_state(service)`` every ``report_interval`` seconds, the first time after
``INITIAL_REPORTING_DELAY`` (Nova's 5 s); ``leave(service)`` cancels it. A failed report
is the driver's to log (the loop logs anything that escapes and goes on). Must not know
where the heartbeats go (that is each driver's) nor about the managers.
"""

from __future__ import annotations

from typing import Any, Callable

import nova_sim.conf
from nova_sim.periodic import FixedIntervalLoop

#: Seconds before a service's first heartbeat (Nova's ``INITIAL_REPORTING_DELAY``).
INITIAL_REPORTING_DELAY = 5.0


class Driver:
    """Base of the service-group drivers: membership (the heartbeat loops) and the
    interface ``report_state(service)`` / ``is_up(service_ref)``."""

    #: True when liveness is read from the services table (``last_seen_up``), so that a
    #: reader holding fresh rows (the scheduler's cache) may judge it by itself.
    uses_service_rows = True
    #: False when ``report_state`` never blocks (no RPC, no database): the heartbeat then
    #: runs in the hub's timer callback, without a greenthread of its own.
    report_blocks = True

    def __init__(self, conf: Any = None):
        conf = conf if conf is not None else nova_sim.conf.CONF
        self.report_interval = float(conf.report_interval)
        self.service_down_time = float(conf.service_down_time)
        self._loops: dict[int, FixedIntervalLoop] = {}

    def join(self, service: Any) -> None:
        """Start heartbeating for ``service`` (which has ``binary``, ``host`` and
        ``service_ref``, its row). Nothing happens when ``report_interval`` is not
        positive."""
        if self.report_interval <= 0:
            return
        loop = FixedIntervalLoop(
            self.reporter(service), self.report_interval,
            name=f"heartbeat of {service.binary} on {service.host}",
            in_hub=not self.report_blocks,
        )
        self._loops[id(service)] = loop.start(INITIAL_REPORTING_DELAY)

    def leave(self, service: Any) -> None:
        """Stop the heartbeat of ``service`` (no error if it has none)."""
        loop = self._loops.pop(id(service), None)
        if loop is not None:
            loop.stop()

    def reporter(self, service: Any) -> Callable[[], None]:
        """The function the heartbeat loop of ``service`` calls (``report_state``)."""
        return lambda: self.report_state(service)

    def report_state(self, service: Any) -> None:
        """One heartbeat of ``service``; never raises (a failure is logged)."""
        raise NotImplementedError

    def is_up(self, service_ref: dict[str, Any]) -> bool:
        """Whether the service of row ``service_ref`` is alive (``forced_down`` is the
        API's to check)."""
        raise NotImplementedError
