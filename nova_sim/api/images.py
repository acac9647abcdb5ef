"""``/images`` of the compute API: Nova's read-only proxy to the image service
(deprecated: a 404 from 2.36).

Owns the compute-shaped views of the image catalogue (``nova_sim.image``, the records the
``/image`` service serves): the list (id, name, links), the detail (``status`` from
Glance's: ``active`` is ``ACTIVE``, ``queued``/``saving`` ``SAVING``, ``killed``
``ERROR``, ``deleted`` ``DELETED``; ``minDisk``, ``minRam``, ``progress``, ``metadata``
(the image properties), ``OS-EXT-IMG-SIZE:size``, ``server`` for a snapshot), one image
by id (404 otherwise) and its deletion (204 where the image service can delete it). Must
not know about the image service's own routes.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING",
           "killed": "ERROR", "deleted": "DELETED", "pending_delete": "DELETED"}


def register(router: Router, api) -> None:
    """Add the ``/images`` routes."""
    router.add("GET", "/images", index)
    router.add("GET", "/images/detail", detail)
    router.add("GET", "/images/{image_id}", show)
    router.add("DELETE", "/images/{image_id}", delete)
    router.add("DELETE", "/images", _no_image)


def _check(request: APIRequest) -> None:
    if request.version.matches("2.36"):
        raise faults.NotFound()


def _links(request: APIRequest, image_id: str) -> list[dict[str, str]]:
    links = common.links(request.base_url, "images", image_id)
    links.append({"rel": "alternate", "type": "application/vnd.openstack.image",
                  "href": f"{request.base_url}/image/v2/images/{image_id}"})
    return links


def _basic(request: APIRequest, image: dict[str, Any]) -> dict[str, Any]:
    return {"id": image["id"], "name": image.get("name"),
            "links": _links(request, image["id"])}


def _detail(request: APIRequest, image: dict[str, Any]) -> dict[str, Any]:
    status = _STATUS.get(image.get("status") or "", "UNKNOWN")
    properties = dict(image.get("properties") or {})
    view = dict(_basic(request, image), **{
        "status": status, "progress": 100 if status == "ACTIVE" else 25 if
        status == "SAVING" else 0,
        "minDisk": int(image.get("min_disk") or 0), "minRam": int(image.get("min_ram") or 0),
        "created": image.get("created_at"), "updated": image.get("updated_at"),
        "metadata": properties, "OS-EXT-IMG-SIZE:size": image.get("size"),
    })
    server = properties.get("instance_uuid")
    if server:
        view["server"] = {"id": server, "links": common.links(request.base_url, "servers",
                                                              server)}
    return view


def _images(request: APIRequest) -> list[dict[str, Any]]:
    _check(request)
    images = request.api.compute_api.image_list(request.context)
    name = request.param("name")
    if name is not None:
        images = [i for i in images if i.get("name") == name]
    status = request.param("status")
    if status is not None:
        images = [i for i in images if _STATUS.get(i.get("status") or "") == status.upper()]
    return images


def index(request: APIRequest) -> Reply:
    """``GET /images``."""
    return Reply(200, {"images": [_basic(request, i) for i in _images(request)]})


def detail(request: APIRequest) -> Reply:
    """``GET /images/detail``."""
    return Reply(200, {"images": [_detail(request, i) for i in _images(request)]})


def _get(request: APIRequest, image_id: str) -> dict[str, Any]:
    _check(request)
    try:
        image = request.api.compute_api.image_get(request.context, image_id)
    except exception.ImageNotFound:
        raise faults.NotFound("Image not found.")
    if image["id"] != image_id:  # looked up by id only, never by name
        raise faults.NotFound("Image not found.")
    return image


def show(request: APIRequest, image_id: str) -> Reply:
    """``GET /images/{id}``."""
    return Reply(200, {"image": _detail(request, _get(request, image_id))})


def _no_image(request: APIRequest) -> Reply:
    """``DELETE /images[/]``: no image named, a 404 as in Nova."""
    raise faults.NotFound("Image not found.")


def delete(request: APIRequest, image_id: str) -> Reply:
    """``DELETE /images/{id}``: 204 through the compute API's ``image_delete`` when the
    image service can delete; 403 when it cannot (the fixed catalogue's images)."""
    image = _get(request, image_id)
    deleter = getattr(request.api.compute_api, "image_delete", None)
    if deleter is None:
        raise faults.Forbidden(f"Image {image['id']} is one of the cloud's own images and "
                               "cannot be deleted.")
    deleter(request.context, image["id"])
    return Reply(204)
