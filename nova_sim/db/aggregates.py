"""Host aggregates: the ``aggregates`` and ``aggregate_hosts`` tables.

Owns creating, reading, renaming, deleting aggregates, their metadata (a JSON document)
and their hosts. An aggregate row comes back with ``hosts`` (sorted). Deleting is a real
delete. What an aggregate means for the scheduler and the availability zones is the
caller's (``nova_sim.compute.aggregates``). ``Database`` offers these methods beside the
rest. Must not know about RPC, the hub or HTTP.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, writer
from nova_sim.db.schema import aggregate_hosts, aggregates

_AG, _AH = aggregates.c, aggregate_hosts.c
_bp = sa.bindparam

_AGGREGATE = Query(sa.select(aggregates).where(_AG.id == _bp("id")))
_AGGREGATE_BY_NAME = Query(sa.select(_AG.id).where(_AG.name == _bp("name")))
_AGGREGATES = Query(sa.select(aggregates).order_by(_AG.id))
_HOSTS_OF = Query(sa.select(_AH.host).where(_AH.aggregate_id == _bp("id")).order_by(_AH.host))
_HOST_IN = Query(sa.select(_AH.id).where(_AH.aggregate_id == _bp("id"),
                                         _AH.host == _bp("host")))
_HOST_ADD = Query(sa.insert(aggregate_hosts).values(aggregate_id=_bp("id"), host=_bp("host")))
_HOST_REMOVE = Query(sa.delete(aggregate_hosts).where(_AH.aggregate_id == _bp("id"),
                                                      _AH.host == _bp("host")))
_AGGREGATE_DELETE = Query(sa.delete(aggregates).where(_AG.id == _bp("id")))
_AGGREGATES_OF_HOST = Query(sa.select(_AH.aggregate_id).where(_AH.host == _bp("host")))


class AggregateAPI(DatabaseCore):
    """The aggregate queries of ``nova_sim.db.api.Database``."""

    def _with_hosts(self, row: Row) -> Row:
        row["hosts"] = [found[0] for found in self._tuples(_HOSTS_OF, {"id": row["id"]})]
        return row

    def _aggregate(self, aggregate_id: int) -> Row:
        rows = self._rows("aggregates", _AGGREGATE, {"id": aggregate_id})
        if not rows:
            raise exception.AggregateNotFound(aggregate_id=aggregate_id)
        return self._with_hosts(rows[0])

    def _check_name(self, name: str, aggregate_id: int | None = None) -> None:
        found = self._scalar(_AGGREGATE_BY_NAME, {"name": name})
        if found is not None and found != aggregate_id:
            raise exception.AggregateNameExists(aggregate_name=name)

    @writer
    def aggregate_create(self, name: str, metadata: dict[str, str]) -> Row:
        """A new aggregate (``AggregateNameExists`` for a taken name)."""
        self._check_name(name)
        now = self.now()
        row_id = self._insert(aggregates, encode(aggregates, {
            "uuid": str(uuid_module.uuid4()), "name": name, "metadata": metadata,
            "created_at": now}))
        return self._aggregate(row_id)

    @reader
    def aggregate_get(self, aggregate_id: int) -> Row:
        """The aggregate with its hosts (``AggregateNotFound``)."""
        return self._aggregate(aggregate_id)

    @reader
    def aggregate_get_all(self) -> list[Row]:
        """Every aggregate with its hosts, by id."""
        return [self._with_hosts(row) for row in self._rows("aggregates", _AGGREGATES)]

    @reader
    def aggregate_get_by_host(self, host: str) -> list[Row]:
        """The aggregates ``host`` belongs to."""
        return [self._aggregate(row[0])
                for row in self._tuples(_AGGREGATES_OF_HOST, {"host": host})]

    @writer
    def aggregate_update(self, aggregate_id: int, values: dict[str, Any]) -> Row:
        """Write ``name`` and/or ``metadata`` (``AggregateNotFound``,
        ``AggregateNameExists``)."""
        self._aggregate(aggregate_id)
        if "name" in values:
            self._check_name(values["name"], aggregate_id)
        values = dict(values, updated_at=self.now())
        self._update(aggregates, encode(aggregates, values), "by-id",
                     lambda: _AG.id == _bp("row_id"), {"row_id": aggregate_id})
        return self._aggregate(aggregate_id)

    @writer
    def aggregate_delete(self, aggregate_id: int) -> None:
        """Delete the aggregate and forget its hosts (``AggregateNotFound``)."""
        self._aggregate(aggregate_id)
        self._execute(_AGGREGATE_DELETE, {"id": aggregate_id})

    @writer
    def aggregate_host_add(self, aggregate_id: int, host: str) -> Row:
        """Add ``host`` (``AggregateHostExists`` when it is there already)."""
        self._aggregate(aggregate_id)
        if self._scalar(_HOST_IN, {"id": aggregate_id, "host": host}) is not None:
            raise exception.AggregateHostExists(aggregate_id=aggregate_id, host=host)
        self._execute(_HOST_ADD, {"id": aggregate_id, "host": host})
        return self._aggregate(aggregate_id)

    @writer
    def aggregate_host_remove(self, aggregate_id: int, host: str) -> Row:
        """Remove ``host`` (``AggregateHostNotFound`` when it is not there)."""
        self._aggregate(aggregate_id)
        if not self._rowcount(_HOST_REMOVE, {"id": aggregate_id, "host": host}):
            raise exception.AggregateHostNotFound(aggregate_id=aggregate_id, host=host)
        return self._aggregate(aggregate_id)
