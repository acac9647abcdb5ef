"""The service group API: the front the services use, over the database driver.

Owns ``API`` and ``is_up``. Must not know about RPC transports or the managers.
"""

from __future__ import annotations

from typing import Any

from nova_sim.servicegroup.drivers.db import INITIAL_REPORTING_DELAY, DbDriver, is_up

__all__ = ["API", "INITIAL_REPORTING_DELAY", "is_up"]


class API:
    """Membership and liveness of services.

    ``db``: the controller services' database (a controller heartbeats straight into it);
    ``conductor_api``: a ``nova_sim.conductor.rpcapi.ConductorAPI`` (computes have no
    database and heartbeat through the conductor). ``conf`` gives ``report_interval`` and
    ``service_down_time``.
    """

    def __init__(self, conf: Any = None, db: Any = None, conductor_api: Any = None):
        self._driver = DbDriver(conf, db=db, conductor_api=conductor_api)

    @property
    def service_down_time(self) -> float:
        """Seconds without a heartbeat after which a service is down."""
        return self._driver.service_down_time

    def join(self, service: Any) -> None:
        """Start ``service``'s heartbeat (``service.service_ref`` is its row)."""
        self._driver.join(service)

    def leave(self, service: Any) -> None:
        """Stop ``service``'s heartbeat (the row stays; it goes down after
        ``service_down_time``)."""
        self._driver.leave(service)

    def service_is_up(self, service_ref: dict[str, Any]) -> bool:
        """True while ``now - last_seen_up <= service_down_time`` and not forced down."""
        return self._driver.is_up(service_ref)
