"""A minimal image service at ``/image`` (Glance v2 shapes) over the cloud's images.

Owns ``GET /image/v2/images`` (filters ``name=``, ``id=in:a,b``, ``status``,
``visibility`` and any other property, ``sort_key``/``sort_dir``, ``limit``/``marker``),
``GET /image/v2/images/{id}``, ``POST /image/v2/images`` (201, a ``queued`` record), ``PUT
/image/v2/images/{id}/file`` (the upload: 204, the image ``active`` with the body's size;
the bytes are not kept) and ``DELETE /image/v2/images/{id}`` (204) and ``GET
/image/v2/images/{id}/tasks`` (no import tasks), over the compute API's image service (the
built-in CirrOS image and the stored snapshots, backups and created images), so that
``openstack server create --image cirros-0.6.2-x86_64-disk``, ``server image create`` and
``image delete`` work. Glance's visibility rules: a private image is seen only by its
owner's project and by admins; only they may change or delete it; the built-in images are
public and cannot be changed (403). Must not know about the compute service beyond the
compute API's image methods. """

from __future__ import annotations

import hashlib
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

#: Fields ``POST /v2/images`` takes as the record's own (others become properties).
_CREATE_FIELDS = {"name", "visibility", "protected", "disk_format", "container_format",
                  "min_disk", "min_ram", "id", "tags"}
_READ_ONLY = {"status", "owner", "size", "virtual_size", "checksum", "created_at",
              "updated_at", "self", "file", "schema", "os_hash_algo", "os_hash_value",
              "direct_url", "locations"}


#: Query parameters of ``GET /v2/images`` that are no property filter.
_LIST_PARAMS = frozenset(["limit", "marker", "sort_key", "sort_dir", "sort", "name", "id",
                          "status", "visibility", "member_status", "os_hidden", "tag"])


def register(router: Router, api) -> None:
    """Add the ``/image`` routes (paths relative to ``/image``)."""
    router.add("GET", "/v2/images", list_images)
    router.add("POST", "/v2/images", create_image)
    router.add("GET", "/v2/images/{image_id}", show_image)
    router.add("DELETE", "/v2/images/{image_id}", delete_image)
    router.add("PUT", "/v2/images/{image_id}/file", upload_image)
    router.add("GET", "/v2/images/{image_id}/tasks", image_tasks)
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


def visible(request: APIRequest, image: dict[str, Any]) -> bool:
    """Whether the caller may see ``image`` (public, or its project's, or an admin)."""
    return (request.is_admin or image.get("visibility") in ("public", "community")
            or image.get("owner") == request.context.project_id)


def get_visible_image(request: APIRequest, image_id: str) -> dict[str, Any]:
    """The image ``image_id`` when the caller may see it; ``ImageNotFound`` otherwise
    (a private image of another project does not exist for the caller)."""
    if not common.is_uuid_like(image_id):
        raise exception.ImageNotFound(image_id=image_id)
    image = request.api.compute_api.image_get(request.context, image_id)
    if image["id"] != image_id or not visible(request, image):
        raise exception.ImageNotFound(image_id=image_id)
    return image


def _get(request: APIRequest, image_id: str) -> dict[str, Any]:
    try:
        return get_visible_image(request, image_id)
    except exception.ImageNotFound:
        raise faults.NotFound(f"No image found with ID {image_id}")


def _check_owner(request: APIRequest, image: dict[str, Any]) -> None:
    if not (request.is_admin or image.get("owner") == request.context.project_id):
        raise faults.Forbidden("You are not permitted to modify this image.")


def list_images(request: APIRequest) -> Reply:
    """``GET /image/v2/images``: the images the caller may see, filtered by ``name``,
    ``id=in:...``, ``status`` and ``visibility``."""
    images = [i for i in request.api.compute_api.image_list(request.context)
              if visible(request, i)]
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
    for key, wanted in request.params.items():
        if key not in _LIST_PARAMS:
            # Glance v2 filters on any other property (``image_type=backup``...)
            images = [i for i in images if str(i.get(key, (i.get("properties") or {})
                                                      .get(key))) == wanted]
    sort_key = request.param("sort_key")
    if sort_key in ("created_at", "updated_at", "name", "size", "status"):
        images.sort(key=lambda i: (i.get(sort_key) is None, str(i.get(sort_key) or "")),
                    reverse=request.param("sort_dir") == "desc")
    page, _full = common.paginate(images, request.params, 1000)
    body: dict[str, Any] = {
        "images": [_view(i) for i in page],
        "first": "/v2/images",
        "schema": "/v2/schemas/images",
    }
    return Reply(200, body)


def show_image(request: APIRequest, image_id: str) -> Reply:
    """``GET /image/v2/images/{id}``: one image by id (a name is a 404, as in Glance)."""
    return Reply(200, _view(_get(request, image_id)))


def create_image(request: APIRequest) -> Reply:
    """``POST /image/v2/images``: a ``queued`` image owned by the caller's project (201);
    fields Glance does not let a client set are a 403, as in Glance."""
    body = request.json_body()
    if not isinstance(body, dict):
        raise faults.BadRequest("The request body must be a JSON object.")
    read_only = set(body) & _READ_ONLY
    if read_only:
        raise faults.Forbidden(f"Attribute '{sorted(read_only)[0]}' is read-only.")
    visibility = body.get("visibility", "shared")
    if visibility not in ("public", "private", "shared", "community"):
        raise faults.BadRequest(f"Invalid visibility value: {visibility}")
    if visibility == "public" and not request.is_admin:
        raise faults.Forbidden("You are not authorized to complete publicize_image action.")
    values = {key: value for key, value in body.items()
              if key in _CREATE_FIELDS and key != "tags"}
    values["properties"] = {key: value for key, value in body.items()
                            if key not in _CREATE_FIELDS}
    values.update(visibility=visibility, owner=request.context.project_id, status="queued")
    if "id" in values and not common.is_uuid_like(values["id"]):
        raise faults.BadRequest(f"Invalid image id {values['id']!r}")
    image = request.api.compute_api.image_api.create(values)
    return Reply(201, _view(image), [("Location", f"{request.base_url}/image/v2/images/"
                                                  f"{image['id']}")])


def upload_image(request: APIRequest, image_id: str) -> Reply:
    """``PUT /image/v2/images/{id}/file``: the data of a ``queued`` image; it becomes
    ``active`` with the data's size and md5 (the bytes are not kept). 409 when the image
    is not ``queued``."""
    image = _get(request, image_id)
    _check_owner(request, image)
    if image["status"] != "queued":
        raise faults.Conflict(f"Image status transition from {image['status']} to saving "
                              "is not allowed")
    data = request.webob.body
    request.api.compute_api.image_api.update(image_id, {
        "status": "active", "size": len(data),
        "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest()})
    return Reply(204)


def remove_image(request: APIRequest, image: dict[str, Any], refusal: str) -> None:
    """Delete ``image`` for the caller; 403 with ``refusal`` when it is another
    project's (and the caller no admin), protected, or a built-in image."""
    owner = request.is_admin or image.get("owner") == request.context.project_id
    if not owner or image.get("protected"):
        raise faults.Forbidden(refusal)
    try:
        request.api.compute_api.image_api.delete(image["id"])
    except exception.Forbidden:
        raise faults.Forbidden(refusal)


def delete_image(request: APIRequest, image_id: str) -> Reply:
    """``DELETE /image/v2/images/{id}``: 204; 403 for a protected or built-in image or
    another project's."""
    remove_image(request, _get(request, image_id),
                 f"You are not permitted to delete the image {image_id}.")
    return Reply(204)


def image_tasks(request: APIRequest, image_id: str) -> Reply:
    """``GET /image/v2/images/{id}/tasks`` (Glance 2.12): the image's import tasks; none,
    as nova-sim's images are never imported."""
    _get(request, image_id)
    return Reply(200, {"tasks": []})


def image_schema(request: APIRequest) -> Reply:
    """``GET /image/v2/schemas/image``: a minimal schema document."""
    return Reply(200, {"name": "image", "properties": {}, "additionalProperties": {
        "type": "string"}, "links": []})
