"""``/os-hypervisors``: list, detail, show and statistics of the compute nodes.

Owns the hypervisor views per microversion: ``id`` a UUID from 2.53 (an integer before);
``vcpus``, ``memory_mb``, ``local_gb``, their ``*_used``, ``free_*``, ``running_vms``,
``current_workload``, ``disk_available_least`` and ``cpu_info`` only below 2.88 (2.88
dropped them and added ``uptime``); ``state``/``status`` from the node's nova-compute
service. Below 2.88 ``/os-hypervisors/{id}/uptime`` (the fake driver's ``uptime`` line);
below 2.53 ``/os-hypervisors/{pattern}/search`` and ``/os-hypervisors/{pattern}/servers``
(the nodes whose hostname holds ``pattern``, with their servers' uuid and name). Admin
only, as in Nova's default policy. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/os-hypervisors`` routes."""
    router.add("GET", "/os-hypervisors", index)
    router.add("GET", "/os-hypervisors/detail", detail)
    router.add("GET", "/os-hypervisors/statistics", statistics)
    router.add("GET", "/os-hypervisors/{hypervisor_id}", show)
    router.add("GET", "/os-hypervisors/{hypervisor_id}/uptime", uptime)
    router.add("GET", "/os-hypervisors/{pattern}/search", search)
    router.add("GET", "/os-hypervisors/{pattern}/servers", servers)


def _nodes_and_services(request: APIRequest) -> list[tuple[dict, dict]]:
    nodes = request.api.compute_api.hypervisor_list(request.context)
    return [(node, node.get("service") or {"state": node.get("state", "down"),
                                          "disabled": node.get("status") == "disabled"})
            for node in nodes]


def _state(service: dict) -> str:
    state = service.get("state")
    if state in ("up", "down"):
        return state
    return "up" if service.get("is_up", service.get("up", True)) else "down"


def _basic_view(request: APIRequest, node: dict, service: dict) -> dict[str, Any]:
    return {
        "id": node.get("uuid") if request.version.matches("2.53") else node.get("id"),
        "hypervisor_hostname": node.get("hypervisor_hostname"),
        "state": _state(service),
        "status": "disabled" if service.get("disabled") else "enabled",
    }


def _detail_view(request: APIRequest, node: dict, service: dict) -> dict[str, Any]:
    view = _basic_view(request, node, service)
    uses_uuid = request.version.matches("2.53")
    view.update({
        "host_ip": node.get("host_ip") or "127.0.0.1",
        "hypervisor_type": node.get("hypervisor_type") or "fake",
        "hypervisor_version": int(node.get("hypervisor_version") or 1000),
        "service": {
            "host": node.get("host"),
            "id": service.get("uuid") if uses_uuid else service.get("id"),
            "disabled_reason": service.get("disabled_reason"),
        },
    })
    if request.version.matches(None, "2.87"):
        vcpus = int(node.get("vcpus") or 0)
        memory_mb = int(node.get("memory_mb") or 0)
        local_gb = int(node.get("local_gb") or 0)
        vcpus_used = int(node.get("vcpus_used") or 0)
        memory_mb_used = int(node.get("memory_mb_used") or 0)
        local_gb_used = int(node.get("local_gb_used") or 0)
        view.update({
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "local_gb": local_gb,
            "vcpus_used": vcpus_used,
            "memory_mb_used": memory_mb_used,
            "local_gb_used": local_gb_used,
            "free_ram_mb": int(node.get("free_ram_mb", memory_mb - memory_mb_used) or 0),
            "free_disk_gb": int(node.get("free_disk_gb", local_gb - local_gb_used) or 0),
            "current_workload": int(node.get("current_workload") or 0),
            "running_vms": int(node.get("running_vms") or 0),
            "disk_available_least": local_gb - local_gb_used,
            "cpu_info": {} if request.version.matches("2.28") else "{}",
        })
    else:
        view["uptime"] = None
    return view


def _filtered(request: APIRequest) -> list[tuple[dict, dict]]:
    request.require_admin("os_compute_api:os-hypervisors:list")
    pairs = _nodes_and_services(request)
    pattern = request.param("hypervisor_hostname_pattern")
    if pattern is not None:
        if not request.version.matches("2.53"):
            raise faults.BadRequest("hypervisor_hostname_pattern needs microversion 2.53")
        pairs = [(n, s) for n, s in pairs if pattern in (n.get("hypervisor_hostname") or "")]
        if not pairs:
            raise faults.NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return pairs


def _page(request: APIRequest, pairs: list, collection: str, view) -> Reply:
    if not request.version.matches("2.33"):
        items = [view(request, n, s) for n, s in pairs]
        return Reply(200, {"hypervisors": items})
    keyed = [dict(node=n, service=s, id=str(_basic_view(request, n, s)["id"]))
             for n, s in pairs]
    page, full = common.paginate(keyed, request.params, request.api.max_limit)
    body: dict[str, Any] = {"hypervisors": [view(request, k["node"], k["service"])
                                            for k in page]}
    if full and request.param("limit") is not None:
        body["hypervisors_links"] = common.next_link(
            request.base_url, collection, request.params, page[-1]["id"])
    return Reply(200, body)


def index(request: APIRequest) -> Reply:
    """``GET /os-hypervisors``: id, hostname, state and status of each node."""
    return _page(request, _filtered(request), "os-hypervisors", _basic_view)


def detail(request: APIRequest) -> Reply:
    """``GET /os-hypervisors/detail``."""
    return _page(request, _filtered(request), "os-hypervisors/detail", _detail_view)


def _find(request: APIRequest, hypervisor_id: str) -> tuple[dict, dict]:
    """The node ``hypervisor_id`` (a UUID from 2.53, else 400; an integer before) and its
    service; 404 when there is none."""
    if request.version.matches("2.53"):
        if not common.is_uuid_like(hypervisor_id):
            raise faults.BadRequest(f"Invalid uuid {hypervisor_id}")
        key, wanted = "uuid", common.normalize_uuid(hypervisor_id)
    else:
        if not hypervisor_id.isascii() or not hypervisor_id.isdigit():
            raise faults.NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")
        key, wanted = "id", int(hypervisor_id)
    for node, service in _nodes_and_services(request):
        if node.get(key) == wanted:
            return node, service
    raise faults.NotFound(f"Hypervisor with ID {hypervisor_id} could not be found.")


def show(request: APIRequest, hypervisor_id: str) -> Reply:
    """``GET /os-hypervisors/{id}``."""
    request.require_admin("os_compute_api:os-hypervisors:show")
    node, service = _find(request, hypervisor_id)
    return Reply(200, {"hypervisor": _detail_view(request, node, service)})


#: What Nova's fake driver answers for a host's uptime.
FAKE_UPTIME = " 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14"


def uptime(request: APIRequest, hypervisor_id: str) -> Reply:
    """``GET /os-hypervisors/{id}/uptime`` (below 2.88; the detail view has it after)."""
    request.require_admin("os_compute_api:os-hypervisors:uptime")
    if request.version.matches("2.88"):
        raise faults.NotFound()
    node, service = _find(request, hypervisor_id)
    return Reply(200, {"hypervisor": dict(_basic_view(request, node, service),
                                          uptime=FAKE_UPTIME)})


def _matching(request: APIRequest, pattern: str, action: str) -> list[tuple[dict, dict]]:
    request.require_admin(f"os_compute_api:os-hypervisors:{action}")
    if request.version.matches("2.53"):
        raise faults.NotFound()
    pairs = [(n, s) for n, s in _nodes_and_services(request)
             if pattern in (n.get("hypervisor_hostname") or "")]
    if not pairs:
        raise faults.NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return pairs


def search(request: APIRequest, pattern: str) -> Reply:
    """``GET /os-hypervisors/{pattern}/search`` (below 2.53)."""
    return Reply(200, {"hypervisors": [_basic_view(request, n, s)
                                       for n, s in _matching(request, pattern, "search")]})


def servers(request: APIRequest, pattern: str) -> Reply:
    """``GET /os-hypervisors/{pattern}/servers`` (below 2.53): each matching node with
    ``servers`` (uuid and name; left out when it runs none)."""
    found = []
    for node, service in _matching(request, pattern, "servers"):
        view = _basic_view(request, node, service)
        instances = request.api.compute_api.get_all(
            request.context, filters={"host": node.get("host")})
        instances = [i for i in instances if i.get("node") in (None, node.get(
            "hypervisor_hostname"))]
        if instances:
            view["servers"] = [{"uuid": i["uuid"], "name": i.get("display_name") or ""}
                               for i in instances]
        found.append(view)
    return Reply(200, {"hypervisors": found})


def statistics(request: APIRequest) -> Reply:
    """``GET /os-hypervisors/statistics`` (below 2.88): sums over all nodes."""
    request.require_admin("os_compute_api:os-hypervisors:statistics")
    if request.version.matches("2.88"):
        raise faults.NotFound("The resource could not be found.")
    keys = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
            "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
            "disk_available_least")
    totals = dict.fromkeys(keys, 0)
    pairs = _nodes_and_services(request)
    for node, service in pairs:
        view = _detail_view(request, node, service)
        for key in keys:
            totals[key] += int(view.get(key) or 0)
    totals["count"] = len(pairs)
    return Reply(200, {"hypervisor_statistics": totals})
