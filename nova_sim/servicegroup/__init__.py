"""The service group: who is alive (heartbeats) and ``is_up`` (Nova's servicegroup API).

``API(conf, db=None, conductor_api=None)``: ``join(service)`` starts a service's heartbeat,
``leave(service)`` stops it, ``service_is_up(service_row)`` answers from the row. The only
driver is the database one (``drivers/db.py``), as in Nova's default.
``service_get_or_create(db, conf, host, binary, topic)`` finds or creates a starting
service's row.
"""

from nova_sim.servicegroup.api import API, INITIAL_REPORTING_DELAY, is_up, service_get_or_create

__all__ = ["API", "INITIAL_REPORTING_DELAY", "is_up", "service_get_or_create"]
