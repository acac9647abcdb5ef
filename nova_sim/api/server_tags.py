"""``/servers/{id}/tags`` (2.26): a server's tags.

Owns Nova's server tags resource: list (``{"tags": [...]}``), replace all (``PUT``, 200
with the tags; at most 50), delete all (204), check one (``GET``: 204, or 404 "Instance ...
has no tag '...'"), add one (``PUT``: 201 with a ``Location`` when new, 204 when there
already) and delete one (204; 404). A tag is 1 to 60 characters without ``/`` or ``,``
(400 otherwise). Changes need the server ``ACTIVE``, ``PAUSED``, ``RESCUE``,
``SHUTOFF``, ``SUSPENDED`` or ``SHELVED(_OFFLOADED)`` (409 otherwise). Before 2.26 the
routes are a 404. The server view shows the tags from 2.26 (``tags_of``). Must not know
about RPC.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import get_instance

MAX_TAGS = 50
_WRITABLE = ("active", "paused", "rescued", "stopped", "suspended", "shelved",
             "shelved_offloaded")


def register(router: Router, api) -> None:
    """Add the tag routes to the compute router."""
    collection = "/servers/{server_id}/tags"
    router.add("GET", collection, index)
    router.add("PUT", collection, update_all)
    router.add("DELETE", collection, delete_all)
    router.add("GET", collection + "/{tag}", show)
    router.add("PUT", collection + "/{tag}", update)
    router.add("DELETE", collection + "/{tag}", delete)


def _db(request: APIRequest) -> Any:
    if not request.version.matches("2.26"):
        raise faults.NotFound()
    return request.api.compute_api.db


def _check_tag(tag: Any) -> str:
    common.check_string("tag", tag, min_length=1, max_length=60)
    if "/" in tag or "," in tag:
        raise common.invalid_field("tag", tag, "'/' and ',' are not allowed in tags")
    return tag


def _writable(request: APIRequest, server_id: str) -> dict[str, Any]:
    instance = get_instance(request, server_id)
    if instance.get("vm_state") not in _WRITABLE:
        raise faults.Conflict(f"Cannot 'update tags' instance {instance['uuid']} while it "
                              f"is in vm_state {instance.get('vm_state')}")
    return instance


def index(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/tags``."""
    db = _db(request)
    return Reply(200, {"tags": db.instance_tag_get(get_instance(request, server_id)["uuid"])})


def update_all(request: APIRequest, server_id: str) -> Reply:
    """``PUT /servers/{id}/tags``: replace them all."""
    db = _db(request)
    body = request.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("tags"), list):
        raise faults.BadRequest("Invalid input for field/attribute tags. 'tags' is a "
                                "required property (a list)")
    new = [_check_tag(tag) for tag in body["tags"]]
    if len(set(new)) > MAX_TAGS:
        raise faults.BadRequest(f"The number of tags exceeded the per-server limit "
                                f"{MAX_TAGS}")
    instance = _writable(request, server_id)
    return Reply(200, {"tags": db.instance_tag_set(instance["uuid"], new)})


def delete_all(request: APIRequest, server_id: str) -> Reply:
    """``DELETE /servers/{id}/tags``: 204."""
    db = _db(request)
    db.instance_tag_set(_writable(request, server_id)["uuid"], [])
    return Reply(204)


def _missing(instance: dict[str, Any], tag: str) -> faults.NotFound:
    return faults.NotFound(f"Instance {instance['uuid']} has no tag '{tag}'")


def show(request: APIRequest, server_id: str, tag: str) -> Reply:
    """``GET /servers/{id}/tags/{tag}``: 204 when the server has it."""
    db = _db(request)
    instance = get_instance(request, server_id)
    if tag not in db.instance_tag_get(instance["uuid"]):
        raise _missing(instance, tag)
    return Reply(204)


def update(request: APIRequest, server_id: str, tag: str) -> Reply:
    """``PUT /servers/{id}/tags/{tag}``: 201 (with ``Location``) when new, else 204."""
    db = _db(request)
    _check_tag(tag)
    instance = _writable(request, server_id)
    if tag in db.instance_tag_get(instance["uuid"]):
        return Reply(204)
    if len(db.instance_tag_get(instance["uuid"])) >= MAX_TAGS:
        raise faults.BadRequest(f"The number of tags exceeded the per-server limit "
                                f"{MAX_TAGS}")
    db.instance_tag_add(instance["uuid"], tag)
    location = (f"{request.base_url}/v2.1/servers/{instance['uuid']}/tags/"
                f"{quote(tag, safe='')}")
    return Reply(201, None, [("Location", location)])


def delete(request: APIRequest, server_id: str, tag: str) -> Reply:
    """``DELETE /servers/{id}/tags/{tag}``: 204; 404 when the server has no such tag."""
    db = _db(request)
    instance = _writable(request, server_id)
    if not db.instance_tag_delete(instance["uuid"], tag):
        raise _missing(instance, tag)
    return Reply(204)
