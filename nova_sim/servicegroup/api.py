"""The service group API: the front the services use, over the database driver.

Owns ``API``, ``is_up`` and ``service_get_or_create`` (a service's membership row, found
or created when it starts). Must not know about RPC transports or the managers.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.servicegroup.drivers.db import INITIAL_REPORTING_DELAY, DbDriver, is_up

__all__ = ["API", "INITIAL_REPORTING_DELAY", "is_up", "service_get_or_create"]


def service_get_or_create(db: Any, conf: Any, host: str, binary: str, topic: str) -> dict:
    """The live service row of ``binary`` on ``host`` in ``db``, created if missing
    (enabled unless ``enable_new_services`` is False; computes in
    ``default_availability_zone``). Controller services call it at start-up; the
    conductor calls it for a starting compute. Raises what the database raises."""
    try:
        return db.service_get_by_host_and_binary(host, binary)
    except exception.NotFound:
        pass
    values = {
        "host": host, "binary": binary, "topic": topic,
        "disabled": not conf.enable_new_services,
    }
    if binary == "nova-compute":
        values["availability_zone"] = conf.default_availability_zone
    return db.service_create(values)


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
