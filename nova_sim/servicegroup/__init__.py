"""The service group: who is alive (heartbeats) and ``is_up`` (Nova's servicegroup API).

``API(conf, db=None, conductor_api=None)``: ``join(service)`` starts a service's heartbeat,
``leave(service)`` stops it, ``service_is_up(service_row)`` answers. Two drivers, picked by
``[DEFAULT] servicegroup_driver``: ``db`` (Nova's default; ``drivers/db.py``: heartbeats
write the services table, computes through the conductor) and ``mc`` (``drivers/mc.py``:
an in-memory store with expiry, after Nova's memcache driver).
``service_get_or_create(db, conf, host, binary, topic)`` finds or creates a starting
service's row.
"""

from nova_sim.servicegroup.api import (
    API,
    DRIVERS,
    INITIAL_REPORTING_DELAY,
    is_up,
    service_get_or_create,
)

__all__ = ["API", "DRIVERS", "INITIAL_REPORTING_DELAY", "is_up", "service_get_or_create"]
