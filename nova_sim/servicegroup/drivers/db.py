"""The database service-group driver (as ``nova/servicegroup/drivers/db.py``).

Owns the database heartbeat and the liveness rule read from the services table. Every
``report_interval`` seconds (the first after ``INITIAL_REPORTING_DELAY`` = 5 s) a service
bumps its row's ``report_count``, which sets ``last_seen_up`` to now; a service is up while
``now - last_seen_up <= service_down_time`` (and it is not ``forced_down``). Controller
services write the row directly; computes have no database and heartbeat through the
conductor: ``report_count += 1; service.save()``, an ``object_action`` call that sends the
changed field and gets back the fields the save changed. As in Nova, where the service
object keeps the context it was loaded with, every heartbeat of one service carries the
same admin context. A failed heartbeat (database or conductor unreachable) is logged and
retried at the next interval. Must not know about the managers.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.db.api import parse_timestamp
from nova_sim.green.costs import hooks as costs
from nova_sim.servicegroup.drivers.base import INITIAL_REPORTING_DELAY, Driver

__all__ = ["INITIAL_REPORTING_DELAY", "DbDriver", "is_up"]

LOG = logging.getLogger(__name__)


def is_up(
    service_ref: dict[str, Any], service_down_time: float, now: float | None = None
) -> bool:
    """Whether a service row counts as up at ``now`` (seconds since the epoch on the hub's
    clock; default ``green.wallclock()``): not forced down, and its last heartbeat
    (``last_seen_up``, else ``updated_at``, else ``created_at``) at most
    ``service_down_time`` seconds old."""
    if service_ref.get("forced_down"):
        return False
    last = (
        service_ref.get("last_seen_up")
        or service_ref.get("updated_at")
        or service_ref.get("created_at")
    )
    if last is None:
        return False
    if now is None:
        now = green.wallclock()
    elapsed = now - parse_timestamp(last)
    return abs(elapsed) <= service_down_time


class DbDriver(Driver):
    """Heartbeats into the services table (directly or through the conductor)."""

    uses_service_rows = True

    def __init__(self, conf: Any = None, db: Any = None, conductor_api: Any = None):
        super().__init__(conf)
        self.db = db
        self.conductor_api = conductor_api

    def reporter(self, service: Any) -> Callable[[], None]:
        # One context for all the heartbeats of a service (Nova's service_ref._context).
        ctxt = nova_context.get_admin_context()
        return lambda: self._report_state(service, ctxt)

    def is_up(self, service_ref: dict[str, Any]) -> bool:
        """See ``is_up`` (with this driver's ``service_down_time``)."""
        return is_up(service_ref, self.service_down_time)

    def report_state(self, service: Any) -> None:
        """One heartbeat of ``service`` (with a fresh admin context)."""
        self._report_state(service, nova_context.get_admin_context())

    def _report_state(self, service: Any, ctxt: Any) -> None:
        ref = service.service_ref
        if ref is None:
            return
        work = costs.work
        if work is not None:  # the cost model charges the heartbeat's CPU
            work(getattr(service, "manager", service), "heartbeat", service.binary)
        try:
            if self.db is not None:
                ref.update(self.db.service_heartbeat(ref["id"]))
            else:
                self.conductor_api.service_heartbeat(ctxt, ref)
            if getattr(service, "model_disconnected", False):
                service.model_disconnected = False
                LOG.info("Recovered from being unable to report status of %s", service.host)
        except Exception:
            if not getattr(service, "model_disconnected", False):
                service.model_disconnected = True
                LOG.exception("Heartbeat of %s on %s failed", service.binary, service.host)
