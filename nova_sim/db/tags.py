"""Server tags: the ``tags`` table (one row per instance and tag).

Owns reading, replacing, adding and deleting the tags of an instance, sorted by tag.
``Database`` offers these methods beside the rest. Must not know about RPC, the hub or
HTTP.
"""

from __future__ import annotations

import sqlalchemy as sa

from nova_sim.db.engine import (
    DatabaseCore,
    Query,
    in_list,
    list_params,
    list_size,
    query,
    reader,
    writer,
)
from nova_sim.db.schema import tags

_T = tags.c
_bp = sa.bindparam

_TAGS_OF = Query(sa.select(_T.tag).where(_T.resource_id == _bp("uuid")).order_by(_T.tag))
_TAG_ADD = Query(sa.insert(tags).values(resource_id=_bp("uuid"), tag=_bp("tag")))
_TAG_DELETE = Query(sa.delete(tags).where(_T.resource_id == _bp("uuid"),
                                          _T.tag == _bp("tag")))
_TAGS_DELETE = Query(sa.delete(tags).where(_T.resource_id == _bp("uuid")))


class TagAPI(DatabaseCore):
    """The tag queries of ``nova_sim.db.api.Database``."""

    @reader
    def instance_tag_get(self, instance_uuid: str) -> list[str]:
        """The instance's tags, sorted."""
        return [row[0] for row in self._tuples(_TAGS_OF, {"uuid": instance_uuid})]

    @reader
    def instance_tag_get_many(self, instance_uuids: list[str]) -> dict[str, list[str]]:
        """``{uuid: sorted tags}`` of several instances, in one statement."""
        uuids = list(dict.fromkeys(instance_uuids))
        found: dict[str, list[str]] = {uuid: [] for uuid in uuids}
        if not uuids:
            return found
        size = list_size(len(uuids))
        statement = query(("tags-of", size), lambda: sa.select(_T.resource_id, _T.tag).where(
            in_list(_T.resource_id, "u", size)).order_by(_T.tag))
        for uuid, tag in self._tuples(statement, list_params("u", uuids, size)):
            found[uuid].append(tag)
        return found

    @writer
    def instance_tag_set(self, instance_uuid: str, new: list[str]) -> list[str]:
        """Replace the instance's tags with ``new``; the tags after."""
        self._execute(_TAGS_DELETE, {"uuid": instance_uuid})
        for tag in dict.fromkeys(new):
            self._execute(_TAG_ADD, {"uuid": instance_uuid, "tag": tag})
        return sorted(set(new))

    @writer
    def instance_tag_add(self, instance_uuid: str, tag: str) -> bool:
        """Add a tag; False when the instance had it already."""
        if tag in [row[0] for row in self._tuples(_TAGS_OF, {"uuid": instance_uuid})]:
            return False
        self._execute(_TAG_ADD, {"uuid": instance_uuid, "tag": tag})
        return True

    @writer
    def instance_tag_delete(self, instance_uuid: str, tag: str) -> bool:
        """Delete a tag; False when the instance had no such tag."""
        return bool(self._rowcount(_TAG_DELETE, {"uuid": instance_uuid, "tag": tag}))
