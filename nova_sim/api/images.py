"""The compute API's image proxy: ``/v2.1/images`` below microversion 2.36.

Owns ``GET /images``, ``GET /images/detail``, ``GET /images/{id}``, ``DELETE
/images/{id}`` and the image metadata routes (``/images/{id}/metadata[/{key}]``: the
image's properties, to be read by anyone who sees the image and changed by its project;
404 from 2.39) in Nova's shape (``minRam``, ``minDisk``, ``metadata``, ``progress``,
``OS-EXT-IMG-SIZE:size``, ``server`` for snapshots, Glance's status upper-cased with
``queued`` shown as ``SAVING``), over the image service's visibility rules
(``nova_sim.api.image``). Nova deprecated the proxy in 2.36: from there every route is a
404. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.image import get_visible_image, remove_image, visible

#: Glance status -> the proxy's status and progress (Nova's images view builder).
_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
           "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
_PROGRESS = {"queued": 25, "saving": 50, "active": 100}


def register(router: Router, api) -> None:
    """Add the ``/images`` routes."""
    router.add("GET", "/images", index)
    router.add("GET", "/images/detail", detail)
    router.add("GET", "/images/{image_id}", show)
    router.add("DELETE", "/images/{image_id}", delete)
    router.add("DELETE", "/images", _no_image)
    register_metadata(router)


def _check_version(request: APIRequest) -> None:
    if request.version.matches("2.36"):
        raise faults.NotFound()


def _detail_view(request: APIRequest, image: dict[str, Any]) -> dict[str, Any]:
    properties = dict(image.get("properties") or {})
    view: dict[str, Any] = {
        "id": image["id"],
        "name": image.get("name"),
        "minRam": int(image.get("min_ram") or 0),
        "minDisk": int(image.get("min_disk") or 0),
        "metadata": properties,
        "created": image.get("created_at"),
        "updated": image.get("updated_at"),
        "status": _STATUS.get(image.get("status") or "", "UNKNOWN"),
        "progress": _PROGRESS.get(image.get("status") or "", 0),
        "links": _links(request, image["id"]),
        "OS-EXT-IMG-SIZE:size": image.get("size"),
    }
    server_uuid = properties.get("instance_uuid")
    if server_uuid:
        view["server"] = {"id": server_uuid,
                          "links": common.links(request.base_url, "servers", server_uuid)}
    return view


def _links(request: APIRequest, image_id: str) -> list[dict[str, str]]:
    return [*common.links(request.base_url, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image",
             "href": f"{request.base_url}/image/images/{image_id}"}]


def _no_image(request: APIRequest) -> Reply:
    """``DELETE /images/`` (no id): 404, as Nova has no such route."""
    raise faults.NotFound()


def _matches(image: dict[str, Any], filters: dict[str, str]) -> bool:
    properties = image.get("properties") or {}
    status = _STATUS.get(image.get("status") or "", "UNKNOWN")
    for key, wanted in filters.items():
        if key == "name" and image.get("name") != wanted:
            return False
        if key == "status" and status != wanted.upper():
            return False
        if key == "server" and properties.get("instance_uuid") != wanted.rstrip(
                "/").rsplit("/", 1)[-1]:
            return False
        if key == "type" and properties.get("image_type") != wanted:
            return False
        if key in ("minRam", "minDisk"):
            field = "min_ram" if key == "minRam" else "min_disk"
            if not wanted.isdigit() or int(image.get(field) or 0) < int(wanted):
                return False
    return True


def _visible_images(request: APIRequest) -> list[dict[str, Any]]:
    """The images the caller sees, filtered as Nova's proxy does (``name``, ``status``,
    ``server`` (a server's id or URL), ``type`` (snapshot or backup), ``minRam``,
    ``minDisk``), one page of them."""
    filters = {key: request.param(key) for key in (
        "name", "status", "server", "type", "minRam", "minDisk")
        if request.param(key) is not None}
    images = [i for i in request.api.compute_api.image_list(request.context)
              if visible(request, i) and _matches(i, filters)]
    page, _full = common.paginate(images, request.params, request.api.max_limit)
    return page


def index(request: APIRequest) -> Reply:
    """``GET /images``: id, name and links of each image the caller may see."""
    _check_version(request)
    return Reply(200, {"images": [
        {"id": i["id"], "name": i.get("name"), "links": _links(request, i["id"])}
        for i in _visible_images(request)]})


def detail(request: APIRequest) -> Reply:
    """``GET /images/detail``: every image the caller may see, in full."""
    _check_version(request)
    return Reply(200, {"images": [_detail_view(request, i)
                                  for i in _visible_images(request)]})


def _get(request: APIRequest, image_id: str) -> dict[str, Any]:
    try:
        return get_visible_image(request, image_id)
    except exception.ImageNotFound:
        raise faults.NotFound("Image not found.")


def show(request: APIRequest, image_id: str) -> Reply:
    """``GET /images/{id}``: 404 when unknown or not visible."""
    _check_version(request)
    return Reply(200, {"image": _detail_view(request, _get(request, image_id))})


def _no_image(request: APIRequest) -> Reply:
    """``DELETE /images[/]``: no image named, a 404 as in Nova."""
    raise faults.NotFound("Image not found.")


def delete(request: APIRequest, image_id: str) -> Reply:
    """``DELETE /images/{id}``: 204; 403 for a built-in or another project's image."""
    _check_version(request)
    remove_image(request, _get(request, image_id),
                 f"You are not allowed to delete the image {image_id}.")
    return Reply(204)


# -- image metadata (the properties of an image), below 2.39 ---------------------------------
def register_metadata(router: Router) -> None:
    """Add the ``/images/{id}/metadata`` routes."""
    router.add("GET", "/images/{image_id}/metadata", metadata_index)
    router.add("POST", "/images/{image_id}/metadata", metadata_update)
    router.add("PUT", "/images/{image_id}/metadata", metadata_replace)
    router.add("GET", "/images/{image_id}/metadata/{key}", metadata_show)
    router.add("PUT", "/images/{image_id}/metadata/{key}", metadata_put_item)
    router.add("DELETE", "/images/{image_id}/metadata/{key}", metadata_delete)


def _metadata_image(request: APIRequest, image_id: str) -> dict[str, Any]:
    if request.version.matches("2.39"):
        raise faults.NotFound()
    return _get(request, image_id)


def _metadata_body(request: APIRequest, key: str) -> dict[str, str]:
    body = request.json_body()
    value = common.require_dict(body, key)
    for name, item in value.items():
        common.check_string("metadata", name, min_length=1, max_length=255)
        common.check_string("metadata", item, max_length=255)
    return value


def _write_metadata(request: APIRequest, image: dict[str, Any], properties: dict[str, str],
                    purge: bool) -> dict[str, str]:
    """Store ``properties`` (merged, or in place of the image's with ``purge``); 403 for
    another project's or a built-in image, or more than ``[quota] metadata_items``."""
    allowed = request.api.conf.quota.metadata_items
    merged = properties if purge else {**image.get("properties", {}), **properties}
    if 0 <= allowed < len(merged):
        raise faults.Forbidden(f"Quota exceeded for metadata_items: Maximum number of "
                               f"metadata items exceeds {allowed}")
    if not (request.is_admin or image.get("owner") == request.context.project_id):
        raise faults.Forbidden(f"You are not allowed to change the image {image['id']}.")
    try:
        stored = request.api.compute_api.image_api.update(
            image["id"], {"properties": merged}, purge_props=True)
    except exception.Forbidden:
        raise faults.Forbidden(f"You are not allowed to change the image {image['id']}.")
    return stored["properties"]


def metadata_index(request: APIRequest, image_id: str) -> Reply:
    """``GET /images/{id}/metadata``: the image's properties."""
    image = _metadata_image(request, image_id)
    return Reply(200, {"metadata": image.get("properties") or {}})


def metadata_update(request: APIRequest, image_id: str) -> Reply:
    """``POST /images/{id}/metadata``: merge ``metadata`` into the properties."""
    image = _metadata_image(request, image_id)
    given = _metadata_body(request, "metadata")
    return Reply(200, {"metadata": _write_metadata(request, image, given, purge=False)})


def metadata_replace(request: APIRequest, image_id: str) -> Reply:
    """``PUT /images/{id}/metadata``: ``metadata`` in place of the properties."""
    image = _metadata_image(request, image_id)
    given = _metadata_body(request, "metadata")
    return Reply(200, {"metadata": _write_metadata(request, image, given, purge=True)})


def metadata_show(request: APIRequest, image_id: str, key: str) -> Reply:
    """``GET /images/{id}/metadata/{key}``: 404 when the image has no such property."""
    properties = _metadata_image(request, image_id).get("properties") or {}
    if key not in properties:
        raise faults.NotFound("Image not found.")
    return Reply(200, {"meta": {key: properties[key]}})


def metadata_put_item(request: APIRequest, image_id: str, key: str) -> Reply:
    """``PUT /images/{id}/metadata/{key}`` ``{"meta": {key: value}}``: one property; the
    body must hold exactly that key (400 otherwise)."""
    image = _metadata_image(request, image_id)
    given = _metadata_body(request, "meta")
    if list(given) != [key]:
        raise faults.BadRequest("Request body and URI mismatch" if len(given) == 1
                                else "Request body contains too many items")
    _write_metadata(request, image, given, purge=False)
    return Reply(200, {"meta": given})


def metadata_delete(request: APIRequest, image_id: str, key: str) -> Reply:
    """``DELETE /images/{id}/metadata/{key}``: 204; 404 when there is no such
    property."""
    image = _metadata_image(request, image_id)
    properties = dict(image.get("properties") or {})
    if key not in properties:
        raise faults.NotFound(f"The key {key} is not found in the image's metadata.")
    del properties[key]
    _write_metadata(request, image, properties, purge=True)
    return Reply(204)
