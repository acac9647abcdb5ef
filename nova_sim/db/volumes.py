"""Volumes: the ``volumes`` table (Cinder's ``volumes``, one attachment each).

Owns the volumes of each project (a size and a status, no data), reading them by id,
project or server, attaching one to a server (``in-use``, with a device, an attachment id
and whether it goes with the server) and detaching it (``available`` again), and deleting
it. Which state changes are allowed is the caller's. Must not know about RPC, the hub or
HTTP.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, writer
from nova_sim.db.schema import volumes

_V = volumes.c
_bp = sa.bindparam

_BY_UUID = Query(sa.select(volumes).where(_V.uuid == _bp("uuid")))
_ALL = Query(sa.select(volumes).order_by(_V.id))
_OF_PROJECT = Query(sa.select(volumes).where(_V.project_id == _bp("project")).order_by(_V.id))
_OF_INSTANCE = Query(sa.select(volumes).where(_V.instance_uuid == _bp("instance"))
                     .order_by(_V.id))
_DELETE = Query(sa.delete(volumes).where(_V.uuid == _bp("uuid")))


class VolumeAPI(DatabaseCore):
    """The volume queries of ``nova_sim.db.api.Database``."""

    @writer
    def volume_create(self, values: dict[str, Any]) -> Row:
        """A new volume (``project_id``, ``size``, ``name``...; status ``available``
        unless given)."""
        volume_id = str(uuid_module.uuid4())
        now = self.now()
        self._insert(volumes, encode(volumes, {
            "status": "available", **values, "uuid": volume_id, "created_at": now,
            "updated_at": now}))
        return self.volume_get(volume_id)

    @reader
    def volume_get(self, volume_id: str) -> Row:
        """One volume (``VolumeNotFound``)."""
        rows = self._rows("volumes", _BY_UUID, {"uuid": volume_id})
        if not rows:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return rows[0]

    @reader
    def volume_get_all(self, project_id: str | None = None) -> list[Row]:
        """The volumes of ``project_id`` (every project's when None), oldest first."""
        if project_id is None:
            return self._rows("volumes", _ALL)
        return self._rows("volumes", _OF_PROJECT, {"project": project_id})

    @reader
    def volume_get_by_instance(self, instance_uuid: str) -> list[Row]:
        """The volumes attached to a server."""
        return self._rows("volumes", _OF_INSTANCE, {"instance": instance_uuid})

    @writer
    def volume_update(self, volume_id: str, values: dict[str, Any]) -> Row:
        """Write ``values`` (``VolumeNotFound``)."""
        self.volume_get(volume_id)
        self._update(volumes, encode(volumes, {**values, "updated_at": self.now()}),
                     "by-uuid", lambda: _V.uuid == _bp("row_uuid"), {"row_uuid": volume_id})
        return self.volume_get(volume_id)

    @writer
    def volume_attach(self, volume_id: str, instance_uuid: str, device: str,
                      delete_on_termination: bool) -> Row:
        """Attach a volume to a server: ``in-use`` with a new attachment id."""
        return self.volume_update(volume_id, {
            "status": "in-use", "instance_uuid": instance_uuid, "device": device,
            "delete_on_termination": bool(delete_on_termination),
            "attachment_id": str(uuid_module.uuid4()), "attached_at": self.now()})

    @writer
    def volume_detach(self, volume_id: str) -> Row:
        """Detach a volume: ``available``, no attachment."""
        return self.volume_update(volume_id, {
            "status": "available", "instance_uuid": None, "device": None,
            "delete_on_termination": False, "attachment_id": None, "attached_at": None})

    @writer
    def volume_destroy(self, volume_id: str) -> None:
        """Delete a volume (``VolumeNotFound``)."""
        if not self._rowcount(_DELETE, {"uuid": volume_id}):
            raise exception.VolumeNotFound(volume_id=volume_id)
