"""``/servers/{id}/os-volume_attachments``: a server's volumes, attached and detached
through the block-storage service (``nova_sim.api.volume``).

Owns Nova's views of a server's volume attachments (``id``/``volumeId``, ``serverId``,
``device``; ``tag`` from 2.70, ``delete_on_termination`` from 2.79, ``attachment_id``
and ``bdm_uuid`` in place of ``id`` from 2.89), attach (200; ``volumeId`` required, an
optional ``device``, ``delete_on_termination`` from 2.79; 404 for an unknown volume,
400 for one that is not ``available``, 409 for a server in a state Nova refuses), show
(404 when the volume is not attached to the server), update (from 2.85 whether the volume
goes with the server: 202; a different ``volumeId`` would swap volumes, which nova-sim
does not do: 400) and detach (202; 400 for the root volume of a server booted from
one). Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults, volume
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import get_instance

#: The vm_states Nova attaches and detaches volumes in.
_STATES = ("active", "paused", "stopped", "resized", "soft-delete", "shelved",
           "shelved_offloaded")
ROOT_DEVICE = "/dev/vda"


def register(router: Router, api) -> None:
    """Add the volume attachment routes."""
    path = "/servers/{server_id}/os-volume_attachments"
    router.add("GET", path, index)
    router.add("POST", path, create)
    router.add("GET", path + "/{volume_id}", show)
    router.add("PUT", path + "/{volume_id}", update)
    router.add("DELETE", path + "/{volume_id}", delete)


def _view(request: APIRequest, row: dict[str, Any], server_id: str) -> dict[str, Any]:
    view: dict[str, Any] = {"device": row.get("device"), "serverId": server_id,
                            "volumeId": row["uuid"]}
    if request.version.matches("2.89"):
        view.update(attachment_id=row.get("attachment_id"), bdm_uuid=row.get("attachment_id"))
    else:
        view["id"] = row["uuid"]
    if request.version.matches("2.70"):
        view["tag"] = None
    if request.version.matches("2.79"):
        view["delete_on_termination"] = bool(row.get("delete_on_termination"))
    return view


def _check_state(instance: dict[str, Any], method: str) -> None:
    if instance.get("vm_state") not in _STATES or instance.get("task_state") is not None:
        state = (f"task_state {instance.get('task_state')}" if instance.get("task_state")
                 else f"vm_state {instance.get('vm_state')}")
        raise faults.Conflict(f"Cannot '{method}' instance {instance['uuid']} while it is "
                              f"in {state}")


def _attached(request: APIRequest, instance: dict[str, Any],
              volume_id: str) -> dict[str, Any]:
    for row in volume.volumes_of(request, instance["uuid"]):
        if row["uuid"] == volume_id:
            return row
    raise faults.NotFound(f"Volume {volume_id} is not attached to the instance "
                          f"{instance['uuid']}.")


def index(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/os-volume_attachments``."""
    instance = get_instance(request, server_id)
    rows = volume.volumes_of(request, instance["uuid"])
    page, _full = common.paginate(rows, request.params, request.api.max_limit)
    return Reply(200, {"volumeAttachments": [_view(request, row, instance["uuid"])
                                             for row in page]})


def create(request: APIRequest, server_id: str) -> Reply:
    """``POST /servers/{id}/os-volume_attachments``: 200 with the attachment."""
    instance = get_instance(request, server_id)
    spec = common.require_dict(request.json_body(), "volumeAttachment")
    allowed = {"volumeId", "device"} | ({"tag"} if request.version.matches("2.49") else set()) \
        | ({"delete_on_termination"} if request.version.matches("2.79") else set())
    unknown = set(spec) - allowed
    if unknown:
        raise common.invalid_field(
            "volumeAttachment", spec, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    volume_id = spec.get("volumeId")
    if not common.is_uuid_like(volume_id):
        raise common.invalid_field("volumeId", volume_id, f"{volume_id!r} is not a 'uuid'")
    device = spec.get("device")
    if device is not None:
        device = common.check_string("device", device, min_length=1)
    delete_on_termination = spec.get("delete_on_termination", False)
    if not isinstance(delete_on_termination, bool):
        raise common.invalid_field("delete_on_termination", delete_on_termination,
                                   "is not of type 'boolean'")
    _check_state(instance, "attach_volume")
    try:
        found = volume.get_volume(request, volume_id)
    except exception.VolumeNotFound as error:
        raise faults.NotFound(error.format_message())
    row = volume.attach(request, found, instance, device, delete_on_termination)
    return Reply(200, {"volumeAttachment": _view(request, row, instance["uuid"])})


def show(request: APIRequest, server_id: str, volume_id: str) -> Reply:
    """``GET /servers/{id}/os-volume_attachments/{volume_id}``."""
    instance = get_instance(request, server_id)
    row = _attached(request, instance, volume_id)
    return Reply(200, {"volumeAttachment": _view(request, row, instance["uuid"])})


def update(request: APIRequest, server_id: str, volume_id: str) -> Reply:
    """``PUT /servers/{id}/os-volume_attachments/{volume_id}``: from 2.85 change
    ``delete_on_termination`` (202)."""
    instance = get_instance(request, server_id)
    spec = common.require_dict(request.json_body(), "volumeAttachment")
    if spec.get("volumeId") != volume_id:
        request.require_admin("os_compute_api:os-volumes-attachments:swap")
        raise faults.BadRequest("Swapping a server's volume is not supported by nova-sim.")
    allowed = {"volumeId"} | ({"delete_on_termination"} if request.version.matches("2.85")
                              else set())
    unknown = set(spec) - allowed
    if unknown:
        raise common.invalid_field(
            "volumeAttachment", spec, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    row = _attached(request, instance, volume_id)
    if "delete_on_termination" in spec:
        value = spec["delete_on_termination"]
        if not isinstance(value, bool):
            raise common.invalid_field("delete_on_termination", value,
                                       "is not of type 'boolean'")
        _check_state(instance, "update_volume_attachment")
        volume.set_delete_on_termination(request, row, instance["uuid"], value)
    return Reply(202)


def delete(request: APIRequest, server_id: str, volume_id: str) -> Reply:
    """``DELETE /servers/{id}/os-volume_attachments/{volume_id}``: 202."""
    instance = get_instance(request, server_id)
    row = _attached(request, instance, volume_id)
    if row.get("device") == ROOT_DEVICE:
        raise faults.BadRequest("Cannot detach a root device volume")
    _check_state(instance, "detach_volume")
    volume.detach(request, row, instance["uuid"])
    return Reply(202)
