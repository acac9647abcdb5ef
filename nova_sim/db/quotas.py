"""Quotas: the ``quotas`` and ``quota_classes`` tables.

Owns the limits an admin set for a project, for one user of a project, and for a quota
class (``default`` stands for every project's defaults): reading them as
``{resource: limit}``, setting some (each an upsert) and forgetting a project's. What a
limit means and which resources there are is the caller's (``nova_sim.compute.quotas``).
``Database`` offers these methods beside the rest. Must not know about RPC, the hub or
HTTP.
"""

from __future__ import annotations

import sqlalchemy as sa

from nova_sim.db.engine import DatabaseCore, Query, reader, writer
from nova_sim.db.schema import quota_classes, quotas

_Q, _QC = quotas.c, quota_classes.c
_bp = sa.bindparam

_QUOTAS_OF = Query(sa.select(_Q.resource, _Q.hard_limit).where(
    _Q.project_id == _bp("project"), _Q.user_id == _bp("user")))
_QUOTA_UPDATE = Query(sa.update(quotas).where(
    _Q.project_id == _bp("project"), _Q.user_id == _bp("user"),
    _Q.resource == _bp("resource")).values(hard_limit=_bp("limit")))
_QUOTA_INSERT = Query(sa.insert(quotas).values(
    project_id=_bp("project"), user_id=_bp("user"), resource=_bp("resource"),
    hard_limit=_bp("limit")))
_QUOTAS_DELETE = Query(sa.delete(quotas).where(_Q.project_id == _bp("project")))
_QUOTAS_DELETE_USER = Query(sa.delete(quotas).where(
    _Q.project_id == _bp("project"), _Q.user_id == _bp("user")))
_CLASS_OF = Query(sa.select(_QC.resource, _QC.hard_limit).where(
    _QC.class_name == _bp("name")))
_CLASS_UPDATE = Query(sa.update(quota_classes).where(
    _QC.class_name == _bp("name"), _QC.resource == _bp("resource")).values(
    hard_limit=_bp("limit")))
_CLASS_INSERT = Query(sa.insert(quota_classes).values(
    class_name=_bp("name"), resource=_bp("resource"), hard_limit=_bp("limit")))


class QuotaAPI(DatabaseCore):
    """The quota queries of ``nova_sim.db.api.Database``."""

    @reader
    def quota_get_all(self, project_id: str, user_id: str = "") -> dict[str, int]:
        """The limits set for ``project_id`` (for its user ``user_id`` when given)."""
        return dict(self._tuples(_QUOTAS_OF, {"project": project_id, "user": user_id}))

    @reader
    def quota_get_effective(self, class_name: str, project_id: str,
                            user_id: str = "") -> list[dict[str, int]]:
        """The limits of the quota class, of the project and (when given) of its user, in
        one transaction: ``[class, project, user]``."""
        found = [dict(self._tuples(_CLASS_OF, {"name": class_name})),
                 dict(self._tuples(_QUOTAS_OF, {"project": project_id, "user": ""}))]
        found.append(dict(self._tuples(_QUOTAS_OF, {"project": project_id, "user": user_id}))
                     if user_id else {})
        return found

    @writer
    def quota_set(self, project_id: str, limits: dict[str, int], user_id: str = "") -> None:
        """Set each ``{resource: limit}`` for ``project_id`` (or its user ``user_id``)."""
        for resource, limit in limits.items():
            params = {"project": project_id, "user": user_id, "resource": resource,
                      "limit": limit}
            if not self._rowcount(_QUOTA_UPDATE, params):
                self._execute(_QUOTA_INSERT, params)

    @writer
    def quota_destroy_all(self, project_id: str, user_id: str | None = None) -> None:
        """Forget the limits set for ``project_id`` and its users (only those of
        ``user_id`` when given): the defaults apply again."""
        if user_id is None:
            self._execute(_QUOTAS_DELETE, {"project": project_id})
        else:
            self._execute(_QUOTAS_DELETE_USER, {"project": project_id, "user": user_id})

    @reader
    def quota_class_get_all(self, class_name: str) -> dict[str, int]:
        """The limits set for the quota class ``class_name``."""
        return dict(self._tuples(_CLASS_OF, {"name": class_name}))

    @writer
    def quota_class_set(self, class_name: str, limits: dict[str, int]) -> None:
        """Set each ``{resource: limit}`` of the quota class ``class_name``."""
        for resource, limit in limits.items():
            params = {"name": class_name, "resource": resource, "limit": limit}
            if not self._rowcount(_CLASS_UPDATE, params):
                self._execute(_CLASS_INSERT, params)
