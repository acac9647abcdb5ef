"""Server metadata: ``/servers/{id}/metadata`` and ``/servers/{id}/metadata/{key}``.

Owns Nova's server metadata resource: ``GET`` (all, or one key as ``{"meta": {...}}``),
``POST`` (merge; 200 with the whole metadata), ``PUT`` (replace all; 200), ``PUT`` of one
key (``{"meta": {key: value}}``: 400 when the body holds another key or several) and
``DELETE`` of one key (204). A missing key is a 404 ("Metadata item was not found"), more
than 128 items a 403, an instance not ``ACTIVE``/``PAUSED``/``SUSPENDED``/``SHUTOFF`` or
busy with a task a 409; another project's server is a 404. Keys and values are checked as
at create (1 to 255 characters; values strings of at most 255). Must not know about the
compute manager.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import _parse_metadata, get_instance

MAX_ITEMS = 128  # Nova's default quota of metadata items (and /limits' maxServerMeta)
_NOT_FOUND = "Metadata item was not found"


def register(router: Router, api) -> None:
    """Add the server metadata routes to the compute router."""
    collection = "/servers/{server_id}/metadata"
    for method, handler in (("GET", index), ("POST", create), ("PUT", update_all)):
        router.add(method, collection, handler)
    for method, handler in (("GET", show), ("PUT", update), ("DELETE", delete)):
        router.add(method, collection + "/{key}", handler)


def _metadata(instance: dict[str, Any]) -> dict[str, str]:
    return dict(instance.get("metadata") or {})


def _save(request: APIRequest, instance: dict[str, Any], metadata: dict[str, str],
          replace: bool = False, delete_key: str | None = None) -> dict[str, str]:
    merged = dict(metadata) if replace else {**_metadata(instance), **metadata}
    if len(merged) > MAX_ITEMS:
        raise faults.Forbidden(f"Maximum number of metadata items exceeds {MAX_ITEMS}")
    return request.api.compute_api.update_instance_metadata(
        request.context, instance["uuid"], metadata, replace=replace, delete_key=delete_key)


def _body_metadata(request: APIRequest, key: str) -> dict[str, str]:
    body = request.json_body()
    value = common.require_dict(body, key)
    return _parse_metadata(value)


def index(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/metadata``."""
    return Reply(200, {"metadata": _metadata(get_instance(request, server_id))})


def create(request: APIRequest, server_id: str) -> Reply:
    """``POST /servers/{id}/metadata``: merge; the whole metadata back."""
    metadata = _body_metadata(request, "metadata")
    instance = get_instance(request, server_id)
    return Reply(200, {"metadata": _save(request, instance, metadata)})


def update_all(request: APIRequest, server_id: str) -> Reply:
    """``PUT /servers/{id}/metadata``: replace the metadata."""
    metadata = _body_metadata(request, "metadata")
    instance = get_instance(request, server_id)
    return Reply(200, {"metadata": _save(request, instance, metadata, replace=True)})


def show(request: APIRequest, server_id: str, key: str) -> Reply:
    """``GET /servers/{id}/metadata/{key}``."""
    metadata = _metadata(get_instance(request, server_id))
    if key not in metadata:
        raise faults.NotFound(_NOT_FOUND)
    return Reply(200, {"meta": {key: metadata[key]}})


def update(request: APIRequest, server_id: str, key: str) -> Reply:
    """``PUT /servers/{id}/metadata/{key}``: set one item."""
    meta = _body_metadata(request, "meta")
    if key not in meta:
        raise faults.BadRequest("Request body and URI mismatch")
    if len(meta) > 1:
        raise faults.BadRequest("Request body contains too many items")
    instance = get_instance(request, server_id)
    _save(request, instance, meta)
    return Reply(200, {"meta": meta})


def delete(request: APIRequest, server_id: str, key: str) -> Reply:
    """``DELETE /servers/{id}/metadata/{key}``: 204."""
    instance = get_instance(request, server_id)
    if key not in _metadata(instance):
        raise faults.NotFound(_NOT_FOUND)
    _save(request, instance, {}, delete_key=key)
    return Reply(204)
