"""The service group: who is alive (heartbeats) and ``is_up`` (Nova's servicegroup API).

``API(conf, db=None, conductor_api=None)``: ``join(service)`` starts a service's heartbeat,
``leave(service)`` stops it, ``service_is_up(service_row)`` answers from the row. The only
driver is the database one (``drivers/db.py``), as in Nova's default.
"""

from nova_sim.servicegroup.api import API, INITIAL_REPORTING_DELAY, is_up

__all__ = ["API", "INITIAL_REPORTING_DELAY", "is_up"]
