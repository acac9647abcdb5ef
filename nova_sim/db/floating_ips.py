"""Floating IPs: the ``floating_ips`` table (Neutron's ``floatingips``).

Owns the floating IPs of each project: allocating the first free address of an external
network (which addresses a network offers is the caller's), reading them by id, address,
project or server, associating one with a server's fixed address (or dropping the
association) and releasing it. An address is held by at most one floating IP (a unique
constraint). Must not know about RPC, the hub or HTTP.
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Iterable

import sqlalchemy as sa

from nova_sim import exception
from nova_sim.db.engine import DatabaseCore, Query, Row, encode, reader, writer
from nova_sim.db.schema import floating_ips

LOG = logging.getLogger(__name__)

#: How many times an allocation that lost its address to another one runs again.
DUPLICATE_RETRIES = 10

_F = floating_ips.c
_bp = sa.bindparam

_BY_UUID = Query(sa.select(floating_ips).where(_F.uuid == _bp("uuid")))
_BY_ADDRESS = Query(sa.select(floating_ips).where(_F.address == _bp("address")))
_ALL = Query(sa.select(floating_ips).order_by(_F.id))
_OF_PROJECT = Query(sa.select(floating_ips).where(_F.project_id == _bp("project"))
                    .order_by(_F.id))
_OF_INSTANCE = Query(sa.select(floating_ips).where(_F.instance_uuid == _bp("instance"))
                     .order_by(_F.id))
_ADDRESSES = Query(sa.select(_F.address))
_COUNT_OF = Query(sa.select(sa.func.count()).select_from(floating_ips)
                  .where(_F.project_id == _bp("project")))
_DELETE = Query(sa.delete(floating_ips).where(_F.uuid == _bp("uuid")))


class FloatingIPAPI(DatabaseCore):
    """The floating IP queries of ``nova_sim.db.api.Database``."""

    def floating_ip_allocate(self, project_id: str, network_id: str,
                             candidates: Iterable[str], description: str = "") -> Row:
        """A new floating IP of ``project_id`` on ``network_id``: the first address of
        ``candidates`` no floating IP holds, of any network (addresses are unique;
        ``NoMoreFloatingIps`` when none is free).

        Two allocations may pick the same free address at once (two API processes on a
        database server: neither sees the other's row before it commits); the unique
        address refuses the second insert, and that allocation runs again and takes the
        next free address, as Neutron retries a duplicate entry. After
        ``DUPLICATE_RETRIES`` more attempts the error is raised.
        """
        candidates = list(candidates)
        attempt = 0
        while True:
            try:
                return self._floating_ip_allocate(project_id, network_id, candidates,
                                                  description)
            except Exception as error:
                if attempt >= DUPLICATE_RETRIES or not self.is_duplicate_entry(error):
                    raise
                attempt += 1
                LOG.debug("floating IP address taken meanwhile (%s); attempt %d", error,
                          attempt + 1)

    @writer
    def _floating_ip_allocate(self, project_id: str, network_id: str,
                              candidates: list[str], description: str) -> Row:
        used = {row[0] for row in self._tuples(_ADDRESSES)}
        address = next((a for a in candidates if a not in used), None)
        if address is None:
            raise exception.NoMoreFloatingIps()
        ip_id = str(uuid_module.uuid4())
        now = self.now()
        self._insert(floating_ips, encode(floating_ips, {
            "uuid": ip_id, "address": address, "network_id": network_id,
            "project_id": project_id, "description": description, "created_at": now,
            "updated_at": now}))
        return self.floating_ip_get(ip_id)

    @reader
    def floating_ip_get(self, ip_id: str) -> Row:
        """One floating IP by id (``FloatingIpNotFound``)."""
        rows = self._rows("floating_ips", _BY_UUID, {"uuid": ip_id})
        if not rows:
            raise exception.FloatingIpNotFound(id=ip_id)
        return rows[0]

    @reader
    def floating_ip_get_by_address(self, address: str) -> Row:
        """One floating IP by address (``FloatingIpNotFoundForAddress``)."""
        rows = self._rows("floating_ips", _BY_ADDRESS, {"address": address})
        if not rows:
            raise exception.FloatingIpNotFoundForAddress(address=address)
        return rows[0]

    @reader
    def floating_ip_get_all(self, project_id: str | None = None) -> list[Row]:
        """The floating IPs of ``project_id`` (of every project when None), oldest
        first."""
        if project_id is None:
            return self._rows("floating_ips", _ALL)
        return self._rows("floating_ips", _OF_PROJECT, {"project": project_id})

    @reader
    def floating_ip_get_by_instance(self, instance_uuid: str) -> list[Row]:
        """The floating IPs associated with a server."""
        return self._rows("floating_ips", _OF_INSTANCE, {"instance": instance_uuid})

    @reader
    def floating_ip_count(self, project_id: str) -> int:
        """How many floating IPs ``project_id`` holds."""
        return int(self._scalar(_COUNT_OF, {"project": project_id}) or 0)

    @writer
    def floating_ip_associate(self, ip_id: str, instance_uuid: str | None,
                              fixed_address: str | None) -> Row:
        """Point a floating IP at a server's fixed address (both None: no longer
        associated); ``FloatingIpNotFound``."""
        self.floating_ip_get(ip_id)
        self._update(floating_ips, {"instance_uuid": instance_uuid,
                                    "fixed_address": fixed_address,
                                    "updated_at": self.now()},
                     "by-uuid", lambda: _F.uuid == _bp("row_uuid"), {"row_uuid": ip_id})
        return self.floating_ip_get(ip_id)

    @writer
    def floating_ip_destroy(self, ip_id: str) -> None:
        """Release a floating IP (``FloatingIpNotFound``)."""
        if not self._rowcount(_DELETE, {"uuid": ip_id}):
            raise exception.FloatingIpNotFound(id=ip_id)
