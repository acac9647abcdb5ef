"""``/os-availability-zone``: the zones of the compute hosts (and, in detail, every host).

Owns the zone views, built from the service list: a compute's zone is its service's
``availability_zone`` (``nova`` by default), the other services live in the internal zone
(shown only in ``/detail``, which is admin only as in Nova). Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/os-availability-zone`` routes."""
    router.add("GET", "/os-availability-zone", index)
    router.add("GET", "/os-availability-zone/detail", detail)


def _is_up(service: dict) -> bool:
    state = service.get("state")
    if state in ("up", "down"):
        return state == "up"
    return bool(service.get("is_up", service.get("up", True)))


def _zone_of(service: dict) -> str:
    if service.get("binary") == "nova-compute":
        return service.get("zone") or service.get("availability_zone") or "nova"
    return "internal"


def _zones(request: APIRequest) -> dict[str, list[dict]]:
    zones: dict[str, list[dict]] = {}
    for service in request.api.compute_api.service_get_all(request.context):
        zones.setdefault(_zone_of(service), []).append(service)
    return zones


def index(request: APIRequest) -> Reply:
    """``GET /os-availability-zone``: the compute zones and whether each is available."""
    info = []
    for name, services in sorted(_zones(request).items()):
        if name == "internal":
            continue
        available = any(_is_up(s) and not s.get("disabled") for s in services)
        info.append({"zoneName": name, "zoneState": {"available": available}, "hosts": None})
    return Reply(200, {"availabilityZoneInfo": info})


def detail(request: APIRequest) -> Reply:
    """``GET /os-availability-zone/detail`` (admin): every zone with its hosts."""
    request.require_admin("os_compute_api:os-availability-zone:detail")
    info = []
    for name, services in sorted(_zones(request).items()):
        hosts: dict[str, dict[str, Any]] = {}
        for service in services:
            hosts.setdefault(service.get("host"), {})[service.get("binary")] = {
                "available": _is_up(service),
                "active": not service.get("disabled"),
                "updated_at": common.microtime(service.get("updated_at")),
            }
        available = any(_is_up(s) and not s.get("disabled") for s in services)
        info.append({"zoneName": name, "zoneState": {"available": available},
                     "hosts": hosts})
    return Reply(200, {"availabilityZoneInfo": info})
