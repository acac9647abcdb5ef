"""Security groups: the ``security_groups`` and ``security_group_rules`` tables.

Owns the groups of each project (one named ``default`` is made the first time a project's
groups are read, as Neutron does) and their rules. A group row comes back with
``rules`` (its rule rows, in the order they were made). Deleting a group deletes its rules
and the rules of other groups that name it. Which rules are valid is the caller's. Must
not know about RPC, the hub or HTTP.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, statement, writer
from nova_sim.db.schema import security_group_rules, security_groups

_SG, _R = security_groups.c, security_group_rules.c
_bp = sa.bindparam

_GROUP = Query(sa.select(security_groups).where(_SG.uuid == _bp("uuid")))
_GROUPS_OF = Query(sa.select(security_groups).where(_SG.project_id == _bp("project"))
                   .order_by(_SG.id))
_GROUPS_ALL = Query(sa.select(security_groups).order_by(_SG.id))
_DEFAULT_OF = Query(sa.select(_SG.uuid).where(_SG.project_id == _bp("project"),
                                              _SG.name == "default"))
_RULES_OF = Query(sa.select(security_group_rules).where(_R.parent_group_id == _bp("uuid"))
                  .order_by(_R.id))
_RULE = Query(sa.select(security_group_rules).where(_R.uuid == _bp("uuid")))
_RULE_DELETE = Query(sa.delete(security_group_rules).where(_R.uuid == _bp("uuid")))
_RULES_DELETE = Query(sa.delete(security_group_rules).where(sa.or_(
    _R.parent_group_id == _bp("uuid"), _R.group_id == _bp("uuid"))))
_GROUP_DELETE = Query(sa.delete(security_groups).where(_SG.uuid == _bp("uuid")))


class SecurityGroupAPI(DatabaseCore):
    """The security group queries of ``nova_sim.db.api.Database``."""

    def _with_rules(self, group: Row) -> Row:
        group["rules"] = self._rows("security_group_rules", _RULES_OF, {"uuid": group["uuid"]})
        return group

    def _ensure_default(self, project_id: str) -> None:
        if self._scalar(_DEFAULT_OF, {"project": project_id}) is None:
            self._insert(security_groups, encode(security_groups, {
                "uuid": str(uuid_module.uuid4()), "name": "default",
                "description": "Default security group", "project_id": project_id,
                "created_at": self.now()}))

    @writer
    def security_group_get_all(self, project_id: str | None = None) -> list[Row]:
        """The groups of ``project_id`` (its ``default`` made when missing), or of every
        project when None."""
        if project_id is None:
            rows = self._rows("security_groups", _GROUPS_ALL)
        else:
            self._ensure_default(project_id)
            rows = self._rows("security_groups", _GROUPS_OF, {"project": project_id})
        return [self._with_rules(row) for row in rows]

    @reader
    def security_group_get(self, group_id: str) -> Row:
        """One group with its rules (``SecurityGroupNotFound``)."""
        rows = self._rows("security_groups", _GROUP, {"uuid": group_id})
        if not rows:
            raise exception.SecurityGroupNotFound(security_group_id=group_id)
        return self._with_rules(rows[0])

    @writer
    def security_group_create(self, project_id: str, name: str, description: str) -> Row:
        """A new group of ``project_id`` (names need not be unique, as in Neutron)."""
        self._ensure_default(project_id)
        group_id = str(uuid_module.uuid4())
        self._insert(security_groups, encode(security_groups, {
            "uuid": group_id, "name": name, "description": description,
            "project_id": project_id, "created_at": self.now()}))
        return self.security_group_get(group_id)

    @writer
    def security_group_update(self, group_id: str, values: dict[str, Any]) -> Row:
        """Write ``name`` / ``description`` (``SecurityGroupNotFound``)."""
        self.security_group_get(group_id)
        self._update(security_groups, encode(security_groups, values), "by-uuid",
                     lambda: _SG.uuid == _bp("row_uuid"), {"row_uuid": group_id})
        return self.security_group_get(group_id)

    @writer
    def security_group_destroy(self, group_id: str) -> None:
        """Delete a group, its rules and the rules that name it."""
        self.security_group_get(group_id)
        self._execute(_RULES_DELETE, {"uuid": group_id})
        self._execute(_GROUP_DELETE, {"uuid": group_id})

    @writer
    def security_group_rule_create(self, values: dict[str, Any]) -> Row:
        """A new rule (``parent_group_id``, ``protocol``, ``from_port``, ``to_port``,
        ``cidr`` or ``group_id``)."""
        rule_id = str(uuid_module.uuid4())
        self._insert(security_group_rules, encode(security_group_rules,
                                                  dict(values, uuid=rule_id)))
        return self.security_group_rule_get(rule_id)

    @statement
    def security_group_rule_get(self, rule_id: str) -> Row:
        """One rule (``SecurityGroupRuleNotFound``)."""
        rows = self._rows("security_group_rules", _RULE, {"uuid": rule_id})
        if not rows:
            raise exception.SecurityGroupRuleNotFound(rule_id=rule_id)
        return rows[0]

    @writer
    def security_group_rule_destroy(self, rule_id: str) -> None:
        """Delete a rule (``SecurityGroupRuleNotFound``)."""
        if not self._rowcount(_RULE_DELETE, {"uuid": rule_id}):
            raise exception.SecurityGroupRuleNotFound(rule_id=rule_id)
