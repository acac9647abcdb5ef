"""``/os-hosts`` (deprecated; below 2.43): hosts, their resources and their status.

Owns Nova's legacy host API, admin only: the list (``host_name``, ``service`` (the
topic), ``zone``; ``?zone=`` filters, a blank zone does not), a compute host's resources
(``(total)``, ``(used_now)``, ``(used_max)`` and one row per project with servers there),
``PUT`` of ``status`` (``enable``/``disable``: the host's nova-compute service, as
``os-services`` does) and ``maintenance_mode`` (501: the fake driver does not implement
it, as Nova's does not), and the power actions ``startup``, ``shutdown``, ``reboot``,
which Nova passes to the driver and the fake driver answers with the action; nova-sim
answers them in the API. An unknown host is a 404; from 2.43 every route is a 404. Must
not know about RPC.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_TOGGLES = {"enable": False, "disable": True}


def register(router: Router, api) -> None:
    """Add the ``/os-hosts`` routes."""
    router.add("GET", "/os-hosts", index)
    router.add("GET", "/os-hosts/{host}", show)
    router.add("PUT", "/os-hosts/{host}", update)
    for action in ("startup", "shutdown", "reboot"):
        router.add("GET", "/os-hosts/{host}/" + action, _power_action(action))


def _check(request: APIRequest, action: str) -> None:
    request.require_admin(f"os_compute_api:os-hosts:{action}")
    if request.version.matches("2.43"):
        raise faults.NotFound()


def _compute_service(request: APIRequest, host: str) -> dict[str, Any]:
    services = request.api.compute_api.service_list(request.context, binary="nova-compute",
                                                    host=host)
    if not services:
        raise faults.NotFound(f"Compute host {host} could not be found.")
    return services[0]


def index(request: APIRequest) -> Reply:
    """``GET /os-hosts[?zone=]``."""
    _check(request, "list")
    zone = request.param("zone")
    hosts = [{"host_name": s["host"], "service": s.get("topic") or s["binary"][5:],
              "zone": s["zone"]}
             for s in request.api.compute_api.service_list(request.context)
             if not zone or s["zone"] == zone]
    return Reply(200, {"hosts": hosts})


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict:
    return {"resource": {"host": host, "project": project, "cpu": cpu,
                         "memory_mb": memory_mb, "disk_gb": disk_gb}}


def show(request: APIRequest, host: str) -> Reply:
    """``GET /os-hosts/{host}``: a compute host's resources."""
    _check(request, "show")
    _compute_service(request, host)
    nodes = [n for n in request.api.compute_api.hypervisor_list(request.context)
             if n.get("host") == host]
    totals = [sum(int(n.get(key) or 0) for n in nodes) for key in (
        "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used")]
    instances = request.api.compute_api.get_all(request.context, filters={"host": host})
    by_project: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for instance in instances:
        used = by_project[instance.get("project_id") or ""]
        used[0] += int(instance.get("vcpus") or 0)
        used[1] += int(instance.get("memory_mb") or 0)
        used[2] += int(instance.get("root_gb") or 0) + int(instance.get("ephemeral_gb") or 0)
    used_max = [sum(used[i] for used in by_project.values()) for i in range(3)]
    rows = [_resource(host, "(total)", *totals[:3]),
            _resource(host, "(used_now)", *totals[3:]),
            _resource(host, "(used_max)", *used_max)]
    rows.extend(_resource(host, project, *used) for project, used in sorted(
        by_project.items()))
    return Reply(200, {"host": rows})


def update(request: APIRequest, host: str) -> Reply:
    """``PUT /os-hosts/{host}``: ``status`` and/or ``maintenance_mode``."""
    _check(request, "update")
    body = request.json_body()
    if not isinstance(body, dict) or not body:
        raise faults.BadRequest("Invalid input for field/attribute body. Value: "
                                f"{body}. {body!r} does not have enough properties")
    common.check_properties(body, "body", {"status", "maintenance_mode"})
    for key, value in body.items():
        if value not in _TOGGLES:
            raise common.invalid_field(key, value, f"{value!r} is not one of ['enable', "
                                       "'disable']")
    service = _compute_service(request, host)
    if "maintenance_mode" in body:
        raise faults.NotImplementedFault("Virt driver does not implement host maintenance "
                                         "mode.")
    disabled = _TOGGLES[body["status"]]
    request.api.compute_api.service_update(request.context, service, {"disabled": disabled})
    return Reply(200, {"host": host, "status": "disabled" if disabled else "enabled"})


def _power_action(action: str):
    def handler(request: APIRequest, host: str) -> Reply:
        _check(request, action)
        _compute_service(request, host)
        return Reply(200, {"host": host, "power_action": action})

    handler.__name__ = action
    handler.__doc__ = f"``GET /os-hosts/{{host}}/{action}``: the fake driver's answer."
    return handler
