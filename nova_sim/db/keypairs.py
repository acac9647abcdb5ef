"""Key pairs: the queries of the ``key_pairs`` table (Nova keeps them in its API database).

Owns creating, reading, listing (by name, with a marker and a limit, as Nova's
``KeyPairList.get_by_user`` pages them), counting and deleting the key pairs of a user.
A key pair belongs to a user, not to a project; names are unique per user. Deleting is a
real delete (as in Nova's API database, where ``deleted`` is always false). ``Database``
offers these methods beside the rest. Must not know about RPC, the hub, HTTP or how keys
are made (``nova_sim.compute.keypairs``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, statement, writer
from nova_sim.db.schema import key_pairs

_K = key_pairs.c
_bp = sa.bindparam

_KEYPAIR_GET = Query(
    sa.select(key_pairs).where(_K.user_id == _bp("user_id"), _K.name == _bp("name")))
_KEYPAIRS_OF_USER = Query(
    sa.select(key_pairs).where(_K.user_id == _bp("user_id")).order_by(_K.name, _K.id))
_KEYPAIRS_AFTER = Query(
    sa.select(key_pairs).where(_K.user_id == _bp("user_id"), _K.name > _bp("marker"))
    .order_by(_K.name, _K.id))
_KEYPAIR_COUNT = Query(
    sa.select(sa.func.count()).select_from(key_pairs).where(_K.user_id == _bp("user_id")))
_KEYPAIR_DELETE = Query(
    sa.delete(key_pairs).where(_K.user_id == _bp("user_id"), _K.name == _bp("name")))


class KeypairAPI(DatabaseCore):
    """The key pair queries of ``nova_sim.db.api.Database``."""

    @writer
    def key_pair_create(self, values: dict[str, Any]) -> Row:
        """Create a key pair (``name``, ``user_id``, ``public_key``, ``fingerprint``,
        ``type``) and return it; ``KeyPairExists`` when the user has one of that name."""
        values = dict(values)
        if self._rows("key_pairs", _KEYPAIR_GET,
                      {"user_id": values["user_id"], "name": values["name"]}):
            raise exception.KeyPairExists(key_name=values["name"])
        now = self.now()
        values.setdefault("created_at", now)
        values.setdefault("type", "ssh")
        return self._select_by_id(key_pairs, self._insert(key_pairs, encode(key_pairs, values)))

    @statement
    def key_pair_get(self, user_id: str, name: str) -> Row:
        """The key pair ``name`` of ``user_id``; ``KeypairNotFound`` if none."""
        rows = self._rows("key_pairs", _KEYPAIR_GET, {"user_id": user_id, "name": name})
        if not rows:
            raise exception.KeypairNotFound(user_id=user_id, name=name)
        return rows[0]

    @reader
    def key_pair_get_all_by_user(self, user_id: str, limit: int | None = None,
                                 marker: str | None = None) -> list[Row]:
        """The key pairs of ``user_id`` ordered by name: those after the key pair named
        ``marker`` (``MarkerNotFound`` when the user has none of that name), at most
        ``limit`` of them."""
        if marker is None:
            rows = self._rows("key_pairs", _KEYPAIRS_OF_USER, {"user_id": user_id})
        else:
            self._marker_check(user_id, marker)
            rows = self._rows("key_pairs", _KEYPAIRS_AFTER,
                              {"user_id": user_id, "marker": marker})
        return rows if limit is None else rows[:limit]

    def _marker_check(self, user_id: str, marker: str) -> None:
        if not self._rows("key_pairs", _KEYPAIR_GET, {"user_id": user_id, "name": marker}):
            raise exception.MarkerNotFound(marker=marker)

    @statement
    def key_pair_count_by_user(self, user_id: str) -> int:
        """How many key pairs ``user_id`` has (the ``key_pairs`` quota counts them)."""
        return int(self._scalar(_KEYPAIR_COUNT, {"user_id": user_id}) or 0)

    @writer
    def key_pair_destroy(self, user_id: str, name: str) -> None:
        """Delete the key pair ``name`` of ``user_id``; ``KeypairNotFound`` if none."""
        if not self._rowcount(_KEYPAIR_DELETE, {"user_id": user_id, "name": name}):
            raise exception.KeypairNotFound(user_id=user_id, name=name)
