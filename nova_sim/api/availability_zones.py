"""``/os-availability-zone``: the zones of the compute hosts (and, in detail, every host).

Owns the zone views over the compute API's ``availability_zones``: the plain list shows
the compute zones and whether each is available; ``/detail`` (admin only, as in Nova) adds
the internal zone and every host's services. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/os-availability-zone`` routes."""
    router.add("GET", "/os-availability-zone", index)
    router.add("GET", "/os-availability-zone/detail", detail)


def _internal_zone(request: APIRequest) -> str:
    try:
        return request.api.conf.internal_service_availability_zone or "internal"
    except Exception:
        return "internal"


def index(request: APIRequest) -> Reply:
    """``GET /os-availability-zone``: the compute zones and whether each is available."""
    internal = _internal_zone(request)
    info = [
        {"zoneName": zone["zone"], "zoneState": {"available": bool(zone["available"])},
         "hosts": None}
        for zone in request.api.compute_api.availability_zones(request.context)
        if zone["zone"] != internal
    ]
    return Reply(200, {"availabilityZoneInfo": info})


def detail(request: APIRequest) -> Reply:
    """``GET /os-availability-zone/detail`` (admin): every zone with its hosts."""
    request.require_admin("os_compute_api:os-availability-zone:detail")
    info = []
    for zone in request.api.compute_api.availability_zones(request.context):
        hosts: dict[str, dict[str, Any]] = {}
        for host, binaries in (zone.get("hosts") or {}).items():
            hosts[host] = {
                binary: {"available": bool(state.get("available")),
                         "active": bool(state.get("active")),
                         "updated_at": common.microtime(state.get("updated_at"))}
                for binary, state in binaries.items()
            }
        info.append({"zoneName": zone["zone"],
                     "zoneState": {"available": bool(zone["available"])}, "hosts": hosts})
    return Reply(200, {"availabilityZoneInfo": info})
