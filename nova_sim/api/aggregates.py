"""``/os-aggregates``: host aggregates (admin only).

Owns Nova's aggregate resource: list, create (``name``, optional ``availability_zone``;
200 without ``hosts`` and ``metadata``, as Nova answers), show, update (``name``,
``availability_zone``), delete (200; 400 while it has hosts) and the actions
``add_host``, ``remove_host`` and ``set_metadata`` (a ``null`` value removes a key), with
``uuid`` in the view from 2.41. Ids are integers; an unknown aggregate (any id that is not
an integer too) or
host is a 404, a taken name or a host already there a 409. The rules (zones, hosts) are
``nova_sim.compute.aggregates``'. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_POLICY = "os_compute_api:os-aggregates:"


def register(router: Router, api) -> None:
    """Add the ``/os-aggregates`` routes."""
    router.add("GET", "/os-aggregates", index)
    router.add("POST", "/os-aggregates", create)
    router.add("GET", "/os-aggregates/{aggregate_id}", show)
    router.add("PUT", "/os-aggregates/{aggregate_id}", update)
    router.add("DELETE", "/os-aggregates/{aggregate_id}", delete)
    router.add("POST", "/os-aggregates/{aggregate_id}/action", action)


def _api(request: APIRequest, action: str) -> Any:
    request.require_admin(_POLICY + action)
    return request.api.compute_api.aggregate_api


def _id(aggregate_id: str) -> int:
    if not aggregate_id.isascii() or not aggregate_id.isdigit():
        raise faults.NotFound(f"Aggregate {aggregate_id[:64]} could not be found.")
    return int(aggregate_id)


def _view(request: APIRequest, aggregate: dict[str, Any], full: bool = True) -> dict:
    metadata = dict(aggregate.get("metadata") or {})
    view: dict[str, Any] = {
        "id": aggregate["id"], "name": aggregate["name"],
        "availability_zone": metadata.get("availability_zone"),
        "created_at": aggregate.get("created_at"), "updated_at": aggregate.get("updated_at"),
        "deleted": False, "deleted_at": None,
    }
    if full:
        view["hosts"] = list(aggregate.get("hosts") or [])
        view["metadata"] = metadata
    if request.version.matches("2.41"):
        view["uuid"] = aggregate.get("uuid")
    return {"aggregate": view}


def _name(value: Any, field: str = "name") -> str:
    text = common.check_string(field, value, min_length=1)
    if text != text.strip():
        raise common.invalid_field(field, value, "has leading or trailing spaces")
    return text


def _zone(spec: dict[str, Any]) -> str | None:
    value = spec.get("availability_zone")
    return None if value is None else _name(value, "availability_zone")


def index(request: APIRequest) -> Reply:
    """``GET /os-aggregates``."""
    aggregates = _api(request, "index").get_all(request.context)
    return Reply(200, {"aggregates": [_view(request, a)["aggregate"] for a in aggregates]})


def create(request: APIRequest) -> Reply:
    """``POST /os-aggregates``."""
    aggregate_api = _api(request, "create")
    spec = common.require_dict(request.json_body(), "aggregate")
    common.check_properties(spec, "aggregate", {"name", "availability_zone"}, ("name",))
    aggregate = aggregate_api.create(request.context, _name(spec["name"]), _zone(spec))
    return Reply(200, _view(request, aggregate, full=False))


def show(request: APIRequest, aggregate_id: str) -> Reply:
    """``GET /os-aggregates/{id}``."""
    return Reply(200, _view(request, _api(request, "show").get(request.context,
                                                               _id(aggregate_id))))


def update(request: APIRequest, aggregate_id: str) -> Reply:
    """``PUT /os-aggregates/{id}``: rename and/or change the zone."""
    aggregate_api = _api(request, "update")
    spec = common.require_dict(request.json_body(), "aggregate")
    common.check_properties(spec, "aggregate", {"name", "availability_zone"})
    if not spec:
        raise faults.BadRequest("Invalid input for field/attribute aggregate. Value: {}. "
                                "{} does not have enough properties")
    name = _name(spec["name"]) if "name" in spec else None
    kwargs = {"zone": _zone(spec)} if "availability_zone" in spec else {}
    aggregate = aggregate_api.update(request.context, _id(aggregate_id), name, **kwargs)
    return Reply(200, _view(request, aggregate))


def delete(request: APIRequest, aggregate_id: str) -> Reply:
    """``DELETE /os-aggregates/{id}``: 200 with no body."""
    _api(request, "delete").delete(request.context, _id(aggregate_id))
    return Reply(200)


def _metadata(spec: dict[str, Any]) -> dict[str, Any]:
    common.check_properties(spec, "set_metadata", {"metadata"}, ("metadata",))
    metadata = spec["metadata"]
    if not isinstance(metadata, dict):
        raise common.invalid_field("metadata", metadata, "is not of type 'object'")
    for key, value in metadata.items():
        common.check_string("metadata", key, min_length=1)
        if value is not None:
            common.check_string(key, value)
    return metadata


def action(request: APIRequest, aggregate_id: str) -> Reply:
    """``POST /os-aggregates/{id}/action``: ``add_host``, ``remove_host`` or
    ``set_metadata``."""
    body = request.json_body()
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in (
            "add_host", "remove_host", "set_metadata"):
        raise faults.BadRequest("Invalid input for field/attribute body: exactly one of "
                                "'add_host', 'remove_host', 'set_metadata' is expected")
    name = next(iter(body))
    aggregate_api = _api(request, name)
    spec = common.require_dict(body, name)
    ident = _id(aggregate_id)
    if name == "set_metadata":
        aggregate = aggregate_api.update_metadata(request.context, ident, _metadata(spec))
    else:
        common.check_properties(spec, name, {"host"}, ("host",))
        host = common.check_string("host", spec["host"], min_length=1)
        method = aggregate_api.add_host if name == "add_host" else aggregate_api.remove_host
        aggregate = method(request.context, ident, host)
    return Reply(200, _view(request, aggregate))
