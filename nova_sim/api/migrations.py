"""``/os-migrations`` and ``/servers/{id}/migrations``: the migrations of the cloud.

Owns Nova's migration lists (admin only). nova-sim keeps each server's last resize or
cold migration in the server's system metadata (``migration``, with ``old_flavor`` and
``new_flavor``), not in a migrations table: ``/os-migrations`` lists those (``?status=``,
``?instance_uuid=``; ``migration_type`` from 2.23, ``uuid`` from 2.59, ``user_id`` and
``project_id`` from 2.80; a migration's ``id`` is its server's). ``/servers/{id}/
migrations`` (2.23) lists in-progress live migrations, of which there are none. Must not
know about RPC.
"""

from __future__ import annotations

from nova_sim.api import faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import get_instance


def register(router: Router, api) -> None:
    """Add the migration routes."""
    router.add("GET", "/os-migrations", index)
    router.add("GET", "/servers/{server_id}/migrations", server_index)


def _view(request: APIRequest, instance: dict) -> dict:
    metadata = instance.get("system_metadata") or {}
    migration = metadata["migration"]
    view = {
        "id": int(instance.get("id") or 0), "status": migration.get("status"),
        "instance_uuid": instance["uuid"], "source_node": migration.get("source_node"),
        "source_compute": migration.get("source_compute"),
        "dest_node": migration.get("dest_node"), "dest_compute": migration.get("dest_compute"),
        "dest_host": migration.get("dest_compute"),
        "old_instance_type_id": (metadata.get("old_flavor") or {}).get("id"),
        "new_instance_type_id": (metadata.get("new_flavor") or {}).get("id"),
        "created_at": instance.get("updated_at") or instance.get("created_at"),
        "updated_at": instance.get("updated_at"),
    }
    if request.version.matches("2.23"):
        view["migration_type"] = migration.get("migration_type") or "migration"
    if request.version.matches("2.59"):
        view["uuid"] = migration.get("uuid")
    if request.version.matches("2.80"):
        view["user_id"] = instance.get("user_id")
        view["project_id"] = instance.get("project_id")
    return view


def index(request: APIRequest) -> Reply:
    """``GET /os-migrations`` (admin): the servers' last migrations."""
    request.require_admin("os_compute_api:os-migrations:index")
    filters = {}
    if request.param("instance_uuid"):
        filters["uuid"] = request.param("instance_uuid")
    instances = request.api.compute_api.get_all(request.context, filters=filters)
    status = request.param("status")
    found = [_view(request, i) for i in instances
             if isinstance((i.get("system_metadata") or {}).get("migration"), dict)]
    if status:
        found = [m for m in found if m["status"] == status]
    return Reply(200, {"migrations": found})


def server_index(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/migrations`` (2.23, admin): none."""
    if not request.version.matches("2.23"):
        raise faults.NotFound()
    get_instance(request, server_id)  # as Nova: another project's server is a 404 first
    request.require_admin("os_compute_api:servers:migrations:index")
    return Reply(200, {"migrations": []})
