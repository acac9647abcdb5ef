"""The service group API: the front the services use, over the configured driver.

Owns ``API`` (which picks the driver from ``[DEFAULT] servicegroup_driver``: ``db``, the
default, or ``mc``), ``service_get_or_create`` (a service's membership row, found or
created when it starts) and re-exports ``is_up`` (the database rule). Must not know about
RPC transports or the managers.
"""

from __future__ import annotations

from typing import Any

import nova_sim.conf
from nova_sim import exception
from nova_sim.conf import ConfigError
from nova_sim.servicegroup.drivers.base import INITIAL_REPORTING_DELAY, Driver
from nova_sim.servicegroup.drivers.db import DbDriver, is_up
from nova_sim.servicegroup.drivers.mc import McDriver

__all__ = ["API", "DRIVERS", "INITIAL_REPORTING_DELAY", "is_up", "service_get_or_create"]

#: ``servicegroup_driver`` values and what they mean.
DRIVERS = ("db", "mc")


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

    ``db``: the controller services' database (a controller heartbeats straight into it
    under the ``db`` driver); ``conductor_api``: a ``nova_sim.conductor.rpcapi.ConductorAPI``
    (computes have no database and heartbeat through the conductor). ``conf`` gives
    ``servicegroup_driver``, ``report_interval`` and ``service_down_time``. An unknown
    driver name raises ``ConfigError``.
    """

    def __init__(self, conf: Any = None, db: Any = None, conductor_api: Any = None):
        conf = conf if conf is not None else nova_sim.conf.CONF
        name = conf.servicegroup_driver
        self._driver: Driver
        if name == "db":
            self._driver = DbDriver(conf, db=db, conductor_api=conductor_api)
        elif name == "mc":
            self._driver = McDriver(conf)
        else:
            raise ConfigError(f"[DEFAULT] servicegroup_driver: unknown driver {name!r}; "
                              f"known: {', '.join(DRIVERS)}")
        self.driver_name = name

    @property
    def service_down_time(self) -> float:
        """Seconds without a heartbeat after which a service is down."""
        return self._driver.service_down_time

    @property
    def uses_service_rows(self) -> bool:
        """True when liveness is the services table's ``last_seen_up`` (``db``), so a
        reader of fresh rows may apply the rule itself; False for ``mc``."""
        return self._driver.uses_service_rows

    def join(self, service: Any) -> None:
        """Start ``service``'s heartbeat (``service.service_ref`` is its row)."""
        self._driver.join(service)

    def leave(self, service: Any) -> None:
        """Stop ``service``'s heartbeat (it goes down after ``service_down_time``)."""
        self._driver.leave(service)

    def service_is_up(self, service_ref: dict[str, Any]) -> bool:
        """False when the row is ``forced_down``; else the driver's answer (``db``: the
        last heartbeat at most ``service_down_time`` old; ``mc``: its key is alive)."""
        if service_ref.get("forced_down"):
            return False
        return self._driver.is_up(service_ref)

    def host_is_up(self, topic: str, host: str) -> bool:
        """``service_is_up`` for the service of ``topic`` on ``host`` when the driver
        needs no row (``mc``); raises ``TypeError`` for ``db``, which reads the row."""
        if self._driver.uses_service_rows:
            raise TypeError("the db service group driver judges rows: use service_is_up")
        return self._driver.host_is_up(topic, host)
