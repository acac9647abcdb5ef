"""Server actions (``POST /servers/{id}/action``) and ``os-instance-actions``.

Owns the action body checks (exactly one action: ``os-start``, ``os-stop``, ``reboot``
with ``type`` SOFT/HARD) that answer 202, the mapping of a wrong state to 409
(``InstanceInvalidState`` from the compute API), and the instance action views
(``GET /servers/{id}/os-instance-actions[/{request_id}]`` with the events of each step;
``traceback`` for admins only, events for everyone from 2.51, ``updated_at`` from 2.58,
``host``/``hostId`` from 2.62). Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import _host_id, get_instance

_REBOOT_TYPES = {"soft": "SOFT", "hard": "HARD"}


def register(router: Router, api) -> None:
    """Add the action and instance-action routes."""
    router.add("POST", "/servers/{server_id}/action", action)
    router.add("GET", "/servers/{server_id}/os-instance-actions", list_actions)
    router.add("GET", "/servers/{server_id}/os-instance-actions/{request_id}", show_action)


def _conflict(error: exception.NovaException) -> faults.Conflict:
    return faults.Conflict(error.format_message())


def action(request: APIRequest, server_id: str) -> Reply:
    """Run one server action; 202 when accepted, 409 in a wrong state, 400 when unknown."""
    body = request.json_body()
    if not isinstance(body, dict) or not body:
        raise faults.BadRequest("The action body must be a JSON object with one action.")
    if len(body) != 1:
        raise faults.BadRequest(f"Only one action at a time is allowed, got "
                                f"{', '.join(sorted(map(str, body)))}.")
    name, value = next(iter(body.items()))
    handler = _ACTIONS.get(name)
    if handler is None:
        raise faults.BadRequest(f"There is no such action: {name}")
    instance = get_instance(request, server_id)
    compute_api = request.api.compute_api
    try:
        handler(request, compute_api, instance, value)
    except exception.InstanceInvalidState as error:
        raise _conflict(error)
    except exception.Conflict as error:
        raise _conflict(error)
    return Reply(202)


def _start(request: APIRequest, compute_api, instance: dict, value: Any) -> None:
    if value is not None and value != {}:
        raise common.invalid_field("os-start", value, f"{value!r} is not of type 'null'")
    compute_api.start(request.context, instance["uuid"])


def _stop(request: APIRequest, compute_api, instance: dict, value: Any) -> None:
    if value is not None and value != {}:
        raise common.invalid_field("os-stop", value, f"{value!r} is not of type 'null'")
    compute_api.stop(request.context, instance["uuid"])


def _reboot(request: APIRequest, compute_api, instance: dict, value: Any) -> None:
    if not isinstance(value, dict):
        raise common.invalid_field("reboot", value, f"{value!r} is not of type 'object'")
    unknown = set(value) - {"type"}
    if unknown:
        raise common.invalid_field(
            "reboot", value, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    if "type" not in value:
        raise faults.BadRequest("Invalid input for field/attribute reboot. 'type' is a "
                                "required property")
    reboot_type = value["type"]
    if not isinstance(reboot_type, str) or reboot_type.lower() not in _REBOOT_TYPES:
        raise common.invalid_field(
            "type", reboot_type, f"{reboot_type!r} is not one of ['HARD', 'Hard', 'hard', "
            "'SOFT', 'Soft', 'soft']")
    compute_api.reboot(request.context, instance["uuid"], _REBOOT_TYPES[reboot_type.lower()])


_ACTIONS = {"os-start": _start, "os-stop": _stop, "reboot": _reboot}


# -- instance actions ------------------------------------------------------------------
def _action_view(request: APIRequest, row: dict) -> dict[str, Any]:
    view = {
        "action": row.get("action"),
        "instance_uuid": row.get("instance_uuid"),
        "message": row.get("message"),
        "project_id": row.get("project_id"),
        "request_id": row.get("request_id"),
        "start_time": common.microtime(row.get("start_time")),
        "user_id": row.get("user_id"),
    }
    if request.version.matches("2.58"):
        view["updated_at"] = common.microtime(row.get("updated_at") or row.get("start_time"))
    return view


def _event_view(request: APIRequest, event: dict, project_id: str | None) -> dict[str, Any]:
    view = {
        "event": event.get("event"),
        "start_time": common.microtime(event.get("start_time")),
        "finish_time": common.microtime(event.get("finish_time")),
        "result": event.get("result"),
    }
    if request.is_admin:
        view["traceback"] = event.get("traceback")
    if request.version.matches("2.62"):
        host = event.get("host")
        if request.is_admin:
            view["host"] = host
        view["hostId"] = _host_id(project_id, host)
    return view


def _server_uuid(server_id: str) -> str:
    if not common.is_uuid_like(server_id):
        raise faults.NotFound(f"Instance {server_id} could not be found.")
    return common.normalize_uuid(server_id)


def list_actions(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/os-instance-actions``: newest first (deleted servers too)."""
    rows = request.api.compute_api.actions_list(request.context, _server_uuid(server_id))
    return Reply(200, {"instanceActions": [_action_view(request, r) for r in rows]})


def show_action(request: APIRequest, server_id: str, request_id: str) -> Reply:
    """``GET /servers/{id}/os-instance-actions/{request_id}`` with its events."""
    row = request.api.compute_api.action_get(request.context, _server_uuid(server_id),
                                             request_id)
    view = _action_view(request, row)
    if request.is_admin or request.version.matches("2.51"):
        view["events"] = [_event_view(request, e, row.get("project_id"))
                          for e in row.get("events") or []]
    return Reply(200, {"instanceAction": view})
