"""``/os-networks`` and ``/os-tenant-networks``: Nova's read-only proxies to the network
service (deprecated: a 404 from 2.36).

Owns the compute-shaped views of nova-sim's fixed networks (``nova_sim.api.network``):
``os-networks`` (admin) with Nova's nova-network era fields, those Neutron cannot fill
being ``null``, and ``os-tenant-networks`` (``id``, ``label``, ``cidr``) for anyone. An
unknown id is a 404 ("Network ... could not be found."). Must not know about the network
service's own routes.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.network import NETWORKS, NETWORKS_BY_ID

_NULL_FIELDS = (
    "bridge", "bridge_interface", "broadcast", "cidr_v6", "created_at", "deleted_at",
    "dhcp_server", "dhcp_start", "dns1", "dns2", "gateway", "gateway_v6", "host",
    "injected", "multi_host", "netmask", "netmask_v6", "priority", "rxtx_base",
    "share_address", "updated_at", "vlan", "vpn_private_address", "vpn_public_address",
    "vpn_public_port")


def register(router: Router, api) -> None:
    """Add the network proxy routes."""
    router.add("GET", "/os-networks", index)
    router.add("GET", "/os-networks/{network_id}", show)
    router.add("GET", "/os-tenant-networks", tenant_index)
    router.add("GET", "/os-tenant-networks/{network_id}", tenant_show)


def _tenant_view(net: dict[str, Any]) -> dict[str, Any]:
    return {"id": net["id"], "label": net["name"], "cidr": net.get("cidr")}


def _view(net: dict[str, Any]) -> dict[str, Any]:
    view = dict.fromkeys(_NULL_FIELDS)
    view.update(_tenant_view(net))
    view.update({"deleted": False, "enable_dhcp": True, "mtu": net.get("mtu"),
                 "project_id": net.get("project_id")})
    return view


def _network(request: APIRequest, network_id: str) -> dict[str, Any]:
    if request.version.matches("2.36"):
        raise faults.NotFound()
    net = NETWORKS_BY_ID.get(network_id)
    if net is None:
        raise faults.NotFound(f"Network {network_id} could not be found.")
    return net


def index(request: APIRequest) -> Reply:
    """``GET /os-networks`` (admin)."""
    request.require_admin("os_compute_api:os-networks:list")
    if request.version.matches("2.36"):
        raise faults.NotFound()
    return Reply(200, {"networks": [_view(net) for net in NETWORKS]})


def show(request: APIRequest, network_id: str) -> Reply:
    """``GET /os-networks/{id}`` (admin)."""
    request.require_admin("os_compute_api:os-networks:show")
    return Reply(200, {"network": _view(_network(request, network_id))})


def tenant_index(request: APIRequest) -> Reply:
    """``GET /os-tenant-networks``."""
    if request.version.matches("2.36"):
        raise faults.NotFound()
    return Reply(200, {"networks": [_tenant_view(net) for net in NETWORKS]})


def tenant_show(request: APIRequest, network_id: str) -> Reply:
    """``GET /os-tenant-networks/{id}``."""
    return Reply(200, {"network": _tenant_view(_network(request, network_id))})
