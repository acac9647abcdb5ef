"""A minimal block-storage service at ``/volume`` (Cinder's v3 shapes): volumes without
data.

Owns the version documents (``GET /volume``: 300 with v3.0; ``GET /volume/v3``), the
volumes (``POST /volume/v3/volumes``: 202, a volume of the caller's project that is
``available`` at once; ``GET /volume/v3/volumes[/detail]``, ``GET`` and ``DELETE
/volume/v3/volumes/{id}``: 202, 400 while it is attached), kept in the database's
``volumes`` table so that every process of a cloud sees them, and the functions the
compute API calls to attach a volume to a server and detach it (a boot with a volume in
``block_device_mapping_v2``, ``os-volume_attachments``). A volume holds no data: it has
a size, a status (``available`` or ``in-use``) and its one attachment. A server keeps the
list of its volumes in its system metadata (``volumes_attached``), which its view shows.
When a server is gone, its volumes are detached (or deleted, when they were to go with
it) the next time the volume service reads them. Errors use Cinder's body
(``{"itemNotFound": {...}}``, ``{"badRequest": {...}}``). Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import auth, common, faults
from nova_sim.api.app import APIRequest, Reply, Router

MAX_VERSION = "3.70"
#: The system metadata key of a server's volumes: ``[{"id", "delete_on_termination"}]``.
ATTACHED_KEY = "volumes_attached"


def register(router: Router, api) -> None:
    """Add the ``/volume`` routes (paths relative to ``/volume``)."""
    router.add("GET", "/v3", version_doc)
    router.add("GET", "/v3/volumes", list_volumes)
    router.add("GET", "/v3/volumes/detail", list_volumes)
    router.add("POST", "/v3/volumes", create_volume)
    router.add("GET", "/v3/volumes/{volume_id}", show_volume)
    router.add("DELETE", "/v3/volumes/{volume_id}", delete_volume)


def _v3(request: APIRequest) -> dict:
    return {"id": "v3.0", "status": "CURRENT", "version": MAX_VERSION, "min_version": "3.0",
            "updated": "2023-08-31T00:00:00Z",
            "links": [{"rel": "self", "href": f"{request.base_url}/volume/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


def versions(request: APIRequest) -> Reply:
    """``GET /volume``: Cinder's version list (300 Multiple Choices)."""
    return Reply(300, {"versions": [_v3(request)]})


def version_doc(request: APIRequest) -> Reply:
    """``GET /volume/v3``: the v3 document."""
    return Reply(200, {"versions": [_v3(request)]})


def _stamp(value: str | None) -> str | None:
    return value.split(".", 1)[0] + ".000000" if value else value


def _view(request: APIRequest, row: dict[str, Any]) -> dict[str, Any]:
    attachments = []
    if row.get("instance_uuid"):
        attachments.append({
            "id": row["uuid"], "attachment_id": row.get("attachment_id"),
            "volume_id": row["uuid"], "server_id": row["instance_uuid"],
            "host_name": None, "device": row.get("device"),
            "attached_at": _stamp(row.get("attached_at"))})
    return {
        "id": row["uuid"], "name": row.get("name"), "description": row.get("description"),
        "size": row["size"], "status": row["status"], "attachments": attachments,
        "availability_zone": "nova", "bootable": "false", "encrypted": False,
        "multiattach": False, "metadata": {}, "volume_type": "lvmdriver-1",
        "snapshot_id": None, "source_volid": None, "consistencygroup_id": None,
        "replication_status": None, "migration_status": None, "group_id": None,
        "user_id": row.get("user_id"), "os-vol-tenant-attr:tenant_id": row["project_id"],
        "created_at": _stamp(row.get("created_at")),
        "updated_at": _stamp(row.get("updated_at")),
        "links": [{"rel": "self",
                   "href": f"{request.base_url}/volume/v3/volumes/{row['uuid']}"}],
    }


def _reconcile(request: APIRequest, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` after the volumes of servers that are gone were detached, or deleted
    when they were to go with their server."""
    wanted = sorted({row["instance_uuid"] for row in rows if row.get("instance_uuid")})
    if not wanted:
        return rows
    live = {i["uuid"] for i in request.api.compute_api.get_all(
        request.context.elevated(), filters={"uuid": wanted})}
    db = request.api.compute_api.db
    kept = []
    for row in rows:
        if row.get("instance_uuid") and row["instance_uuid"] not in live:
            if row.get("delete_on_termination"):
                db.volume_destroy(row["uuid"])
                continue
            row = db.volume_detach(row["uuid"])
        kept.append(row)
    return kept


def get_volume(request: APIRequest, volume_id: str) -> dict[str, Any]:
    """A volume the caller may see (``exception.VolumeNotFound`` when unknown, another
    project's, or deleted with its server)."""
    try:
        row = request.api.compute_api.db.volume_get(volume_id)
    except exception.VolumeNotFound:
        raise
    if not request.is_admin and row["project_id"] != request.context.project_id:
        raise exception.VolumeNotFound(volume_id=volume_id)
    found = _reconcile(request, [row])
    if not found:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return found[0]


def _get(request: APIRequest, volume_id: str) -> dict[str, Any]:
    try:
        return get_volume(request, volume_id)
    except exception.VolumeNotFound:
        raise faults.NotFound(f"Volume {volume_id} could not be found.")


def _set_server_volumes(request: APIRequest, instance_uuid: str) -> None:
    """Write the server's ``volumes_attached`` from the volumes attached to it."""
    db = request.api.compute_api.db
    attached = [{"id": row["uuid"], "delete_on_termination": bool(
        row.get("delete_on_termination"))} for row in db.volume_get_by_instance(instance_uuid)]
    instance = db.instance_get(instance_uuid)
    system_metadata = dict(instance.get("system_metadata") or {})
    system_metadata[ATTACHED_KEY] = attached
    db.instance_update(instance_uuid, {"system_metadata": system_metadata})


def attach(request: APIRequest, volume: dict[str, Any], instance: dict[str, Any],
           device: str | None = None, delete_on_termination: bool = False) -> dict[str, Any]:
    """Attach an ``available`` volume to a server (``exception.Invalid`` otherwise), at
    ``device`` or the next free ``/dev/vdX`` (``/dev/vda`` is the root disk); the
    attached volume."""
    if volume["status"] != "available":
        raise exception.Invalid(f"Invalid volume: volume '{volume['uuid']}' status must be "
                                f"'available'. Currently in '{volume['status']}'")
    db = request.api.compute_api.db
    if device is None:
        used = {row.get("device") for row in db.volume_get_by_instance(instance["uuid"])}
        device = next(f"/dev/vd{letter}" for letter in "bcdefghijklmnopqrstuvwxyz"
                      if f"/dev/vd{letter}" not in used)
    row = db.volume_attach(volume["uuid"], instance["uuid"], device, delete_on_termination)
    _set_server_volumes(request, instance["uuid"])
    return row


def detach(request: APIRequest, volume: dict[str, Any], instance_uuid: str) -> None:
    """Detach a volume from its server."""
    request.api.compute_api.db.volume_detach(volume["uuid"])
    _set_server_volumes(request, instance_uuid)


def set_delete_on_termination(request: APIRequest, volume: dict[str, Any],
                              instance_uuid: str, value: bool) -> dict[str, Any]:
    """Whether an attached volume goes with its server."""
    row = request.api.compute_api.db.volume_update(volume["uuid"], {
        "delete_on_termination": bool(value)})
    _set_server_volumes(request, instance_uuid)
    return row


def volumes_of(request: APIRequest, instance_uuid: str) -> list[dict[str, Any]]:
    """The volumes attached to a server."""
    return request.api.compute_api.db.volume_get_by_instance(instance_uuid)


def list_volumes(request: APIRequest) -> Reply:
    """``GET /volume/v3/volumes[/detail]``: the caller's project's volumes (every
    project's for an admin with ``all_tenants``)."""
    all_tenants = request.is_admin and common.bool_from_string(
        request.param("all_tenants") or "false")
    db = request.api.compute_api.db
    rows = _reconcile(request, db.volume_get_all(
        None if all_tenants else request.context.project_id))
    name = request.param("name")
    if name is not None:
        rows = [row for row in rows if row.get("name") == name]
    status = request.param("status")
    if status is not None:
        rows = [row for row in rows if row["status"] == status]
    return Reply(200, {"volumes": [_view(request, row) for row in rows]})


def create_volume(request: APIRequest) -> Reply:
    """``POST /volume/v3/volumes`` ``{"volume": {"size": GiB[, "name",
    "description"]}}``: 202 with the volume, ``available`` at once."""
    auth.check_role(request.context, "POST")
    spec = common.require_dict(request.json_body(), "volume")
    size = spec.get("size")
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise faults.BadRequest(f"Invalid input for field/attribute size. Value: "
                                f"{spec.get('size')!r}. It must be an integer of at least 1.")
    values = {"project_id": request.context.project_id, "user_id": request.context.user_id,
              "size": size}
    for key in ("name", "description"):
        if spec.get(key) is not None:
            values[key] = common.check_string(key, spec[key], max_length=255)
    row = request.api.compute_api.db.volume_create(values)
    return Reply(202, {"volume": _view(request, row)})


def show_volume(request: APIRequest, volume_id: str) -> Reply:
    """``GET /volume/v3/volumes/{id}``."""
    return Reply(200, {"volume": _view(request, _get(request, volume_id))})


def delete_volume(request: APIRequest, volume_id: str) -> Reply:
    """``DELETE /volume/v3/volumes/{id}``: 202; 400 while it is attached."""
    auth.check_role(request.context, "DELETE")
    row = _get(request, volume_id)
    if row["status"] == "in-use":
        raise faults.BadRequest("Invalid volume: Volume status must be available or error "
                                "or error_restoring or error_extending or error_managing and "
                                "must not be migrating, attached, belong to a group, have "
                                "snapshots, awaiting a transfer, or be disassociated from "
                                "snapshots after volume transfer.")
    request.api.compute_api.db.volume_destroy(row["uuid"])
    return Reply(202)
