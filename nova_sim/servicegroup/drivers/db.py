"""The database service-group driver (as ``nova/servicegroup/drivers/db.py``).

Owns the heartbeat loop and the liveness rule. Every ``report_interval`` seconds (the first
after ``INITIAL_REPORTING_DELAY`` = 5 s) a service bumps its row's ``report_count``, which
sets ``last_seen_up`` to now; a service is up while ``now - last_seen_up <=
service_down_time`` (and it is not ``forced_down``). Controller services write the row
directly; computes have no database and heartbeat through the conductor (an RPC call).
A failed heartbeat (database or conductor unreachable) is logged and retried at the next
interval. Must not know about the managers.
"""

from __future__ import annotations

import logging
from typing import Any

import nova_sim.conf
from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.db.api import parse_timestamp
from nova_sim.periodic import FixedIntervalLoop

LOG = logging.getLogger(__name__)

#: Seconds before a service's first heartbeat (Nova's ``INITIAL_REPORTING_DELAY``).
INITIAL_REPORTING_DELAY = 5.0


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


class DbDriver:
    """Heartbeats into the services table (directly or through the conductor)."""

    def __init__(self, conf: Any = None, db: Any = None, conductor_api: Any = None):
        self.db = db
        self.conductor_api = conductor_api
        conf = conf if conf is not None else nova_sim.conf.CONF
        self.report_interval = conf.report_interval
        self.service_down_time = conf.service_down_time
        self._loops: dict[int, FixedIntervalLoop] = {}

    def join(self, service: Any) -> None:
        """Start heartbeating for ``service`` (which has ``service_ref``, a row dict)."""
        if self.report_interval <= 0:
            return
        loop = FixedIntervalLoop(
            lambda: self._report_state(service), self.report_interval,
            name=f"heartbeat of {service.binary} on {service.host}",
        )
        self._loops[id(service)] = loop.start(INITIAL_REPORTING_DELAY)

    def leave(self, service: Any) -> None:
        """Stop the heartbeat of ``service`` (no error if it has none)."""
        loop = self._loops.pop(id(service), None)
        if loop is not None:
            loop.stop()

    def is_up(self, service_ref: dict[str, Any]) -> bool:
        """See ``is_up`` (with this driver's ``service_down_time``)."""
        return is_up(service_ref, self.service_down_time)

    def _report_state(self, service: Any) -> None:
        ref = service.service_ref
        if ref is None:
            return
        try:
            if self.db is not None:
                service.service_ref = self.db.service_heartbeat(ref["id"])
            else:
                ctxt = nova_context.get_admin_context()
                service.service_ref = self.conductor_api.service_heartbeat(ctxt, ref)
            if getattr(service, "model_disconnected", False):
                service.model_disconnected = False
                LOG.info("Recovered from being unable to report status of %s", service.host)
        except Exception:
            if not getattr(service, "model_disconnected", False):
                service.model_disconnected = True
                LOG.exception("Heartbeat of %s on %s failed", service.binary, service.host)
