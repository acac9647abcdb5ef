"""Host aggregates: Nova's ``AggregateAPI`` (``nova/compute/api.py``).

Owns the rules of aggregates: a host added must be a compute host (``ComputeHostNotFound``);
an aggregate's ``availability_zone`` (its metadata key, also given at create) is the
availability zone of its hosts, kept on each host's nova-compute service row, which is
where nova-sim's availability zones and the scheduler read it; a host may not be in two
aggregates with different zones, nor may a zone take the internal zone's name; an
aggregate with hosts cannot be deleted. Rows are ``nova_sim.db.aggregates``'. Must not
know about HTTP.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception

AZ_KEY = "availability_zone"
COMPUTE_BINARY = "nova-compute"


class AggregateAPI:
    """Aggregates over ``db``; ``conf`` gives ``internal_service_availability_zone``."""

    def __init__(self, conf: Any, db: Any):
        self.conf = conf
        self.db = db

    def _check_zone(self, aggregate_id: Any, action: str, zone: str | None) -> None:
        if zone is not None and zone == self.conf.internal_service_availability_zone:
            raise exception.InvalidAggregateAction(
                action=action, aggregate_id=aggregate_id,
                reason="Aggregates with the internal availability zone's name are not "
                       "allowed")

    def _set_host_zone(self, host: str, zone: str | None) -> None:
        try:
            service = self.db.service_get_by_host_and_binary(host, COMPUTE_BINARY)
        except exception.ServiceNotFound:
            return
        self.db.service_update(service["id"], {"availability_zone": zone})

    def _other_zones(self, host: str, aggregate_id: int) -> set[str]:
        return {a["metadata"][AZ_KEY] for a in self.db.aggregate_get_by_host(host)
                if a["id"] != aggregate_id and a["metadata"].get(AZ_KEY)}

    def create(self, ctxt: Any, name: str, zone: str | None = None) -> dict[str, Any]:
        """A new aggregate, in availability zone ``zone`` when given."""
        self._check_zone("new", "create", zone)
        return self.db.aggregate_create(name, {AZ_KEY: zone} if zone else {})

    def get(self, ctxt: Any, aggregate_id: int) -> dict[str, Any]:
        """One aggregate (``AggregateNotFound``)."""
        return self.db.aggregate_get(aggregate_id)

    def get_all(self, ctxt: Any) -> list[dict[str, Any]]:
        """Every aggregate."""
        return self.db.aggregate_get_all()

    def update(self, ctxt: Any, aggregate_id: int, name: str | None = None,
               zone: Any = ...) -> dict[str, Any]:
        """Rename it and/or move it (and its hosts) to availability zone ``zone``
        (``None``: no zone)."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if zone is not ...:
            return self.update_metadata(ctxt, aggregate_id, {AZ_KEY: zone},
                                        extra=values, action="update")
        return self.db.aggregate_update(aggregate_id, values)

    def update_metadata(self, ctxt: Any, aggregate_id: int, metadata: dict[str, Any],
                        extra: dict[str, Any] | None = None,
                        action: str = "update_metadata") -> dict[str, Any]:
        """Merge ``metadata`` (a ``None`` value removes the key); a changed zone moves the
        aggregate's hosts (400 when one of them is in another zone)."""
        aggregate = self.db.aggregate_get(aggregate_id)
        merged = dict(aggregate["metadata"])
        for key, value in metadata.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        zone = merged.get(AZ_KEY)
        if zone != aggregate["metadata"].get(AZ_KEY):
            self._check_zone(aggregate_id, action, zone)
            for host in aggregate["hosts"]:
                others = self._other_zones(host, aggregate_id)
                if zone and others - {zone}:
                    raise exception.InvalidAggregateAction(
                        action=action, aggregate_id=aggregate_id,
                        reason=f"One or more hosts already in availability zone(s) "
                               f"{sorted(others)}")
        updated = self.db.aggregate_update(aggregate_id, dict(extra or {}, metadata=merged))
        if zone != aggregate["metadata"].get(AZ_KEY):
            for host in aggregate["hosts"]:
                self._set_host_zone(host, zone or next(iter(self._other_zones(
                    host, aggregate_id)), None))
        return updated

    def delete(self, ctxt: Any, aggregate_id: int) -> None:
        """Delete an empty aggregate (400 while it has hosts)."""
        aggregate = self.db.aggregate_get(aggregate_id)
        if aggregate["hosts"]:
            raise exception.InvalidAggregateAction(
                action="delete", aggregate_id=aggregate_id, reason="Host list is not empty")
        self.db.aggregate_delete(aggregate_id)

    def add_host(self, ctxt: Any, aggregate_id: int, host: str) -> dict[str, Any]:
        """Add a compute host; it takes the aggregate's zone."""
        if not self.db.service_get_all(binary=COMPUTE_BINARY, host=host):
            raise exception.ComputeHostNotFound(host=host)
        aggregate = self.db.aggregate_get(aggregate_id)
        zone = aggregate["metadata"].get(AZ_KEY)
        others = self._other_zones(host, aggregate_id)
        if zone and others - {zone}:
            raise exception.InvalidAggregateAction(
                action="add_host", aggregate_id=aggregate_id,
                reason=f"One or more hosts already in availability zone(s) {sorted(others)}")
        updated = self.db.aggregate_host_add(aggregate_id, host)
        if zone:
            self._set_host_zone(host, zone)
        return updated

    def remove_host(self, ctxt: Any, aggregate_id: int, host: str) -> dict[str, Any]:
        """Remove a host; it leaves the aggregate's zone."""
        if not self.db.service_get_all(binary=COMPUTE_BINARY, host=host):
            raise exception.ComputeHostNotFound(host=host)
        aggregate = self.db.aggregate_get(aggregate_id)
        updated = self.db.aggregate_host_remove(aggregate_id, host)
        if aggregate["metadata"].get(AZ_KEY):
            self._set_host_zone(host, next(iter(self._other_zones(host, aggregate_id)), None))
        return updated
