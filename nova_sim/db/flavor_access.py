"""Flavor access and flavor changes: the ``flavor_projects`` table, a flavor's extra specs
and description.

Owns which projects may use a private flavor (Nova's ``flavor_projects`` of the API
database), the flavor lookups that honour it for a project, and the writes of a flavor
after its creation (``extra_specs``, ``description``). ``Database`` offers these methods
beside the rest. Must not know about RPC, the hub or HTTP.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, statement, writer
from nova_sim.db.schema import flavor_projects, flavors

_FP, _F = flavor_projects.c, flavors.c
_bp = sa.bindparam

_ACCESS_OF_FLAVOR = Query(
    sa.select(flavor_projects).where(_FP.flavorid == _bp("flavorid")).order_by(_FP.id))
_ACCESS_ONE = Query(
    sa.select(_FP.id).where(_FP.flavorid == _bp("flavorid"), _FP.project_id == _bp("project")))
_ACCESS_DELETE = Query(
    sa.delete(flavor_projects).where(_FP.flavorid == _bp("flavorid"),
                                     _FP.project_id == _bp("project")))
_ACCESS_DELETE_ALL = Query(sa.delete(flavor_projects).where(_FP.flavorid == _bp("flavorid")))
_FLAVORS_OF_PROJECT = Query(
    sa.select(flavors).where(sa.or_(
        _F.is_public == 1,
        _F.flavorid.in_(sa.select(_FP.flavorid).where(_FP.project_id == _bp("project")))))
    .order_by(_F.id))
_FLAVOR_OF_PROJECT = Query(
    sa.select(flavors).where(_F.flavorid == _bp("flavorid"), sa.or_(
        _F.is_public == 1,
        _F.flavorid.in_(sa.select(_FP.flavorid).where(_FP.project_id == _bp("project"))))))
_FLAVOR_BY_FLAVORID = Query(sa.select(flavors).where(_F.flavorid == _bp("flavorid")))


class FlavorAccessAPI(DatabaseCore):
    """The flavor access and flavor update queries of ``nova_sim.db.api.Database``."""

    def _flavor_row(self, flavorid: str) -> Row:
        rows = self._rows("flavors", _FLAVOR_BY_FLAVORID, {"flavorid": flavorid})
        if not rows:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return rows[0]

    @reader
    def flavor_get_all_for_project(self, project_id: str) -> list[Row]:
        """The public flavors and the private ones ``project_id`` may use, by id."""
        return self._rows("flavors", _FLAVORS_OF_PROJECT, {"project": project_id})

    @statement
    def flavor_get_for_project(self, flavorid: str, project_id: str) -> Row:
        """The flavor by API id when it is public or ``project_id`` may use it;
        ``FlavorNotFound`` otherwise."""
        rows = self._rows("flavors", _FLAVOR_OF_PROJECT,
                          {"flavorid": flavorid, "project": project_id})
        if not rows:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return rows[0]

    @reader
    def flavor_access_get_by_flavor_id(self, flavorid: str) -> list[str]:
        """The projects that may use the flavor, in the order they were added
        (``FlavorNotFound`` when there is no such flavor)."""
        self._flavor_row(flavorid)
        return [row["project_id"]
                for row in self._rows("flavor_projects", _ACCESS_OF_FLAVOR,
                                      {"flavorid": flavorid})]

    @writer
    def flavor_access_add(self, flavorid: str, project_id: str) -> list[str]:
        """Let ``project_id`` use the flavor; the projects after. ``FlavorNotFound``,
        ``FlavorAccessExists``."""
        self._flavor_row(flavorid)
        if self._scalar(_ACCESS_ONE, {"flavorid": flavorid, "project": project_id}):
            raise exception.FlavorAccessExists(flavor_id=flavorid, project_id=project_id)
        self._insert(flavor_projects, encode(flavor_projects, {
            "flavorid": flavorid, "project_id": project_id, "created_at": self.now()}))
        return self.flavor_access_get_by_flavor_id(flavorid)

    @writer
    def flavor_access_remove(self, flavorid: str, project_id: str) -> list[str]:
        """Take the flavor from ``project_id``; the projects after. ``FlavorNotFound``,
        ``FlavorAccessNotFound``."""
        self._flavor_row(flavorid)
        if not self._rowcount(_ACCESS_DELETE, {"flavorid": flavorid, "project": project_id}):
            raise exception.FlavorAccessNotFound(flavor_id=flavorid, project_id=project_id)
        return self.flavor_access_get_by_flavor_id(flavorid)

    def _flavor_access_delete_all(self, flavorid: str) -> None:
        """Forget who may use the flavor (it is being deleted)."""
        self._rowcount(_ACCESS_DELETE_ALL, {"flavorid": flavorid})

    @writer
    def flavor_update(self, flavorid: str, values: dict[str, Any]) -> Row:
        """Write ``values`` (``extra_specs``, ``description``) of the flavor and return it;
        ``FlavorNotFound``."""
        row = self._flavor_row(flavorid)
        values = dict(values, updated_at=self.now())
        self._update(flavors, encode(flavors, values), "by-id", lambda: _F.id == _bp("row_id"),
                     {"row_id": row["id"]})
        return self._flavor_row(flavorid)
