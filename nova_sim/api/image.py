"""A minimal image service at ``/image`` (Glance v2 shapes) over the image catalogue.

Owns ``GET /image/v2/images`` (filters ``name=`` and ``id=in:a,b``, ``limit``/``marker``)
and ``GET /image/v2/images/{id}``, serving ``nova_sim.image``'s catalogue so that
``openstack server create --image cirros-0.6.2-x86_64-disk`` and ``server list`` can
resolve images. Read-only. Must not know about the compute service.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim import image as image_catalogue
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/image`` routes (paths relative to ``/image``)."""
    router.add("GET", "/v2/images", list_images)
    router.add("GET", "/v2/images/{image_id}", show_image)
    router.add("GET", "/v2/schemas/image", image_schema)


def _view(image: dict[str, Any]) -> dict[str, Any]:
    view = dict(image)
    properties = view.pop("properties", None) or {}
    for key, value in properties.items():
        view.setdefault(key, value)
    image_id = view["id"]
    view.setdefault("os_hash_value", None)
    view.setdefault("os_hidden", False)
    view["self"] = f"/v2/images/{image_id}"
    view["file"] = f"/v2/images/{image_id}/file"
    view["schema"] = "/v2/schemas/image"
    return view


def list_images(request: APIRequest) -> Reply:
    """``GET /image/v2/images``: the catalogue, filtered by ``name`` and ``id=in:...``."""
    images = image_catalogue.list_images()
    name = request.param("name")
    if name is not None:
        images = [i for i in images if i["name"] == name]
    wanted_id = request.param("id")
    if wanted_id is not None:
        if wanted_id.startswith("in:"):
            ids = {part.strip().strip('"') for part in wanted_id[3:].split(",") if part.strip()}
        else:
            ids = {wanted_id}
        images = [i for i in images if i["id"] in ids]
    status = request.param("status")
    if status is not None:
        images = [i for i in images if i["status"] == status]
    visibility = request.param("visibility")
    if visibility not in (None, "all"):
        images = [i for i in images if i["visibility"] == visibility]
    try:
        page, _full = common.paginate(images, request.params, 1000)
    except faults.BadRequest:
        raise
    body: dict[str, Any] = {
        "images": [_view(i) for i in page],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    return Reply(200, body)


def show_image(request: APIRequest, image_id: str) -> Reply:
    """``GET /image/v2/images/{id}``: one image by id (a name is a 404, as in Glance)."""
    if not common.is_uuid_like(image_id):
        raise faults.NotFound(f"No image found with ID {image_id}")
    try:
        image = image_catalogue.get_image(image_id)
    except exception.ImageNotFound:
        raise faults.NotFound(f"No image found with ID {image_id}")
    return Reply(200, _view(image))


def image_schema(request: APIRequest) -> Reply:
    """``GET /image/v2/schemas/image``: a minimal schema document."""
    return Reply(200, {"name": "image", "properties": {}, "additionalProperties": {
        "type": "string"}, "links": []})
