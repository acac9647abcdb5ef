"""The cloud's database: ``Database`` over SQLite, MariaDB / MySQL or PostgreSQL (see
``nova_sim.db.api`` for the contract, ``nova_sim.db.placement`` for placement,
``nova_sim.db.engine`` for connections and transactions, ``nova_sim.db.migration`` for the
schema's revisions).

Owns persistence for the controller services; must not know about RPC or the hub.
"""

from nova_sim.db.api import (
    DEFAULT_FLAVORS,
    RESOURCE_CLASSES,
    Database,
    format_timestamp,
    parse_timestamp,
)
from nova_sim.db.engine import parse_url
from nova_sim.exception import (
    DatabaseSchemaError,
    FlavorExists,
    MarkerNotFound,
    RequestSpecNotFound,
    ServerGroupNotFound,
)

__all__ = [
    "DEFAULT_FLAVORS",
    "RESOURCE_CLASSES",
    "Database",
    "DatabaseSchemaError",
    "FlavorExists",
    "MarkerNotFound",
    "RequestSpecNotFound",
    "ServerGroupNotFound",
    "format_timestamp",
    "parse_timestamp",
    "parse_url",
]
