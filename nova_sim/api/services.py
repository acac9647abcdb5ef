"""``/os-services``: list the services, and enable / disable / force down a compute.

Owns the service view (``id`` a UUID from 2.53, an integer before; ``forced_down`` from
2.11; ``state`` up/down from the service group's view of heartbeats), the list filters
``host`` and ``binary``, ``PUT /os-services/{uuid}`` (2.53+: ``status``,
``disabled_reason``, ``forced_down``) and the older ``PUT /os-services/enable``,
``disable``, ``disable-log-reason`` and ``force-down`` (below 2.53). Admin only, as in
Nova's default policy. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/os-services`` routes."""
    router.add("GET", "/os-services", index)
    router.add("PUT", "/os-services/{service_id}", update)


def _state(service: dict[str, Any]) -> str:
    state = service.get("state")
    if state in ("up", "down"):
        return state
    return "up" if service.get("is_up", service.get("up", True)) else "down"


def _view(request: APIRequest, service: dict[str, Any]) -> dict[str, Any]:
    uses_uuid = request.version.matches("2.53")
    view = {
        "id": service.get("uuid") if uses_uuid else service.get("id"),
        "binary": service.get("binary"),
        "host": service.get("host"),
        "zone": service.get("zone") or service.get("availability_zone") or (
            "nova" if service.get("binary") == "nova-compute" else "internal"),
        "status": "disabled" if service.get("disabled") else "enabled",
        "state": _state(service),
        "updated_at": common.microtime(service.get("updated_at")),
        "disabled_reason": service.get("disabled_reason"),
    }
    if request.version.matches("2.11"):
        view["forced_down"] = bool(service.get("forced_down"))
    return view


def _services(request: APIRequest) -> list[dict[str, Any]]:
    return list(request.api.compute_api.service_list(request.context))


def index(request: APIRequest) -> Reply:
    """``GET /os-services[?host=&binary=]`` (admin only)."""
    request.require_admin("os_compute_api:os-services:list")
    services = _services(request)
    host = request.param("host")
    binary = request.param("binary")
    if host:
        services = [s for s in services if s.get("host") == host]
    if binary:
        services = [s for s in services if s.get("binary") == binary]
    return Reply(200, {"services": [_view(request, s) for s in services]})


def update(request: APIRequest, service_id: str) -> Reply:
    """``PUT /os-services/{id}``: the 2.53+ update, or the older named actions."""
    request.require_admin("os_compute_api:os-services:update")
    if request.version.matches("2.53"):
        return _update_by_uuid(request, service_id)
    return _legacy_action(request, service_id)


def _update(request: APIRequest, service: dict[str, Any], values: dict[str, Any]):
    try:
        return request.api.compute_api.service_update(request.context, service["id"], values)
    except exception.ServiceNotFound as error:
        raise faults.NotFound(error.format_message())


def _update_by_uuid(request: APIRequest, service_id: str) -> Reply:
    if not common.is_uuid_like(service_id):
        raise faults.BadRequest(f"Invalid uuid {service_id}")
    body = request.json_body()
    if not isinstance(body, dict):
        raise faults.BadRequest("The request body must be a JSON object.")
    unknown = set(body) - {"status", "disabled_reason", "forced_down"}
    if unknown:
        raise faults.BadRequest(
            "Invalid input for field/attribute request body. Additional properties are not "
            f"allowed ({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    values: dict[str, Any] = {}
    status = body.get("status")
    if "status" in body:
        if status not in ("enabled", "disabled"):
            raise common.invalid_field("status", status, f"{status!r} is not one of "
                                                         "['enabled', 'disabled']")
        values["disabled"] = status == "disabled"
        if status == "enabled":
            values["disabled_reason"] = None
    if "disabled_reason" in body:
        if status != "disabled":
            raise faults.BadRequest("Specifying 'disabled_reason' with status other than "
                                    "'disabled' is invalid.")
        values["disabled_reason"] = common.check_string(
            "disabled_reason", body["disabled_reason"], min_length=1, max_length=255)
    if "forced_down" in body:
        if not isinstance(body["forced_down"], bool):
            raise common.invalid_field("forced_down", body["forced_down"],
                                       "is not of type 'boolean'")
        values["forced_down"] = body["forced_down"]
    if not values:
        raise faults.BadRequest("No updates were requested. Fields 'status' or "
                                "'forced_down' should be specified.")
    service_id = common.normalize_uuid(service_id)
    service = next((s for s in _services(request) if s.get("uuid") == service_id), None)
    if service is None:
        raise faults.NotFound(f"Service {service_id} could not be found.")
    if service.get("binary") != "nova-compute":
        raise faults.BadRequest(f"Updating a {service.get('binary')} service is not "
                                "supported. Only nova-compute services can be updated.")
    updated = _update(request, service, values) or {**service, **values}
    return Reply(200, {"service": _view(request, updated)})


_LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


def _legacy_action(request: APIRequest, action: str) -> Reply:
    if action not in _LEGACY_ACTIONS:
        raise faults.NotFound(f"Unknown action {action!r}")
    body = request.json_body()
    if not isinstance(body, dict):
        raise faults.BadRequest("The request body must be a JSON object.")
    host = common.check_string("host", body.get("host"), min_length=1)
    binary = common.check_string("binary", body.get("binary"), min_length=1)
    values: dict[str, Any] = {}
    reply: dict[str, Any] = {"host": host, "binary": binary}
    if action == "enable":
        values = {"disabled": False, "disabled_reason": None}
        reply["status"] = "enabled"
    elif action == "disable":
        values = {"disabled": True}
        reply["status"] = "disabled"
    elif action == "disable-log-reason":
        reason = common.check_string("disabled_reason", body.get("disabled_reason"),
                                     min_length=1, max_length=255)
        values = {"disabled": True, "disabled_reason": reason}
        reply.update(status="disabled", disabled_reason=reason)
    else:
        if not request.version.matches("2.11"):
            raise faults.NotFound(f"Unknown action {action!r}")
        forced = body.get("forced_down")
        if not isinstance(forced, bool):
            raise common.invalid_field("forced_down", forced, "is not of type 'boolean'")
        values = {"forced_down": forced}
        reply["forced_down"] = forced
    service = next((s for s in _services(request)
                    if s.get("host") == host and s.get("binary") == binary), None)
    if service is None:
        raise faults.NotFound(f"Service {binary} on host {host} could not be found.")
    _update(request, service, values)
    return Reply(200, {"service": reply})
