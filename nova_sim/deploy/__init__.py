"""The composition root: wires the services into a cloud.

``Cloud`` runs a whole cloud in one process; ``create_service`` builds one service for a
process of its own (``nova-sim conductor|scheduler|compute|api``); ``build_service``,
``APIService``, ``open_database``, ``new_conf`` and ``zero_latency`` are the parts they
are made of. This package sits above the services (it imports every manager and the API)
and below what builds clouds: the simulator, the dashboard, the commands and the demos.
``trace_example`` is the traced boot behind the shipped trace example files.
"""

from nova_sim.deploy.cloud import (
    TOPICS,
    APIService,
    Cloud,
    ProcessService,
    build_service,
    create_service,
    new_conf,
    open_database,
    zero_latency,
)

__all__ = [
    "TOPICS",
    "APIService",
    "Cloud",
    "ProcessService",
    "build_service",
    "create_service",
    "new_conf",
    "open_database",
    "zero_latency",
]
