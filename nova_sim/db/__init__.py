"""The cloud's database: ``Database`` over SQLite (see ``nova_sim.db.api`` for the contract).

Owns persistence for the controller services; must not know about RPC or the hub.
"""

from nova_sim.db.api import (
    DEFAULT_FLAVORS,
    RESOURCE_CLASSES,
    SCHEMA_VERSION,
    Database,
    DatabaseSchemaError,
    FlavorExists,
    MarkerNotFound,
    RequestSpecNotFound,
    ServerGroupNotFound,
    format_timestamp,
    parse_timestamp,
    parse_url,
)

__all__ = [
    "DEFAULT_FLAVORS",
    "RESOURCE_CLASSES",
    "SCHEMA_VERSION",
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
