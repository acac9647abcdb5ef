"""``/os-floating-ips`` and ``/os-floating-ip-pools``: Nova's proxies to the network
service's floating IPs (deprecated: a 404 from 2.36), and the ``addFloatingIp`` /
``removeFloatingIp`` server actions (gone at 2.44).

Owns the compute-shaped views of the floating IPs the network service keeps
(``nova_sim.api.network``): a project's floating IPs (``id``, ``ip``, ``pool``,
``fixed_ip``, ``instance_id``), allocating one from a pool (``{"pool": name}``, the
default pool ``public`` without one: 200; 404 "Floating IP pool not found." or "No more
floating IPs in pool ...", 403 "IP allocation over quota in pool ..." past the
project's ``floating_ips`` quota), show (404 "Floating IP not found for ID ..."),
release (202, associated or not), the pools (the external networks), and the two server
actions with Nova's checks: ``address`` (and ``fixed_address``) must be IP addresses
(400), the server must have a fixed address (400) and hold ``fixed_address`` (400), the
floating IP must be the caller's (404 "floating IP not found"); associating one that
points elsewhere moves it, as Neutron does, but a fixed address holds one floating IP of
a network (400); removing one that does not point at the server is a 409. Must not know about RPC.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults, network
from nova_sim.api.app import APIRequest, Reply, Router

#: The microversion that removed the proxies, and the one that removed the actions.
PROXY_GONE = "2.36"
ACTIONS_GONE = "2.44"


def register(router: Router, api) -> None:
    """Add the floating IP proxy routes."""
    router.add("GET", "/os-floating-ips", index)
    router.add("POST", "/os-floating-ips", create)
    router.add("GET", "/os-floating-ips/{ip_id}", show)
    router.add("DELETE", "/os-floating-ips/{ip_id}", delete)
    router.add("DELETE", "/os-floating-ips", _no_floating_ip)
    router.add("GET", "/os-floating-ip-pools", pools)


def _check_version(request: APIRequest) -> None:
    if request.version.matches(PROXY_GONE):
        raise faults.NotFound()


def _pool_name(network_id: str) -> str:
    net = network.NETWORKS_BY_ID.get(network_id)
    return net["name"] if net is not None else network_id


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["uuid"], "ip": row["address"], "pool": _pool_name(row["network_id"]),
            "fixed_ip": row.get("fixed_address") if row.get("instance_uuid") else None,
            "instance_id": row.get("instance_uuid")}


def _get(request: APIRequest, ip_id: str) -> dict[str, Any]:
    try:
        return network.get_floating_ip(request, ip_id)
    except exception.FloatingIpNotFound:
        raise faults.NotFound(f"Floating IP not found for ID {ip_id}")


def _no_floating_ip(request: APIRequest) -> Reply:
    """``DELETE /os-floating-ips[/]``: no floating IP named, a 404 as in Nova."""
    raise faults.NotFound()


def index(request: APIRequest) -> Reply:
    """``GET /os-floating-ips``: the caller's project's floating IPs (an admin's too)."""
    _check_version(request)
    return Reply(200, {"floating_ips": [_view(row)
                                        for row in network.floating_ips_of(request)]})


def create(request: APIRequest) -> Reply:
    """``POST /os-floating-ips`` ``{"pool": name}`` (or no body): 200 with the new
    floating IP."""
    _check_version(request)
    raw = request.webob.body
    body = request.json_body() if raw and raw.strip() else None
    pool = body.get("pool") if isinstance(body, dict) else None
    net = network.external_network(None if pool is None else str(pool))
    if net is None:
        raise faults.NotFound("Floating IP pool not found.")
    try:
        row = network.allocate_floating_ip(request, net)
    except network.FloatingIpLimitExceeded:
        raise faults.Forbidden(f"IP allocation over quota in pool {pool}." if pool
                               else "IP allocation over quota.")
    except exception.NoMoreFloatingIps:
        raise faults.NotFound(f"No more floating IPs in pool {pool}." if pool
                              else "No more floating IPs available.")
    return Reply(200, {"floating_ip": _view(row)})


def show(request: APIRequest, ip_id: str) -> Reply:
    """``GET /os-floating-ips/{id}``."""
    _check_version(request)
    return Reply(200, {"floating_ip": _view(_get(request, ip_id))})


def delete(request: APIRequest, ip_id: str) -> Reply:
    """``DELETE /os-floating-ips/{id}``: 202 (disassociated first when associated)."""
    _check_version(request)
    network.release_floating_ip(request, _get(request, ip_id))
    return Reply(202)


def pools(request: APIRequest) -> Reply:
    """``GET /os-floating-ip-pools``: the external networks, by name."""
    _check_version(request)
    return Reply(200, {"floating_ip_pools": [
        {"name": net["name"]} for net in network.NETWORKS if net.get("router:external")]})


# -- the server actions --------------------------------------------------------------------
def _action_body(request: APIRequest, name: str, value: Any,
                 allowed: tuple[str, ...]) -> dict[str, str]:
    """The ``address`` (and ``fixed_address``) of an action body, checked as Nova's
    schema does (400)."""
    if request.version.matches(ACTIONS_GONE):
        raise faults.NotFound()
    if not isinstance(value, dict):
        raise common.invalid_field(name, value, f"{value!r} is not of type 'object'")
    unknown = set(value) - set(allowed)
    if unknown:
        raise common.invalid_field(
            name, value, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    if "address" not in value:
        raise faults.BadRequest(f"Invalid input for field/attribute {name}. 'address' is a "
                                "required property")
    for key in allowed:
        if key in value:
            try:
                ipaddress.ip_address(value[key] if isinstance(value[key], str) else "")
            except ValueError:
                raise common.invalid_field(key, value[key],
                                           f"{value[key]!r} is not a 'ipv4' or 'ipv6'")
    return value


def _by_address(request: APIRequest, address: str) -> dict[str, Any]:
    try:
        return network.get_floating_ip_by_address(request, address)
    except exception.FloatingIpNotFound:
        raise faults.NotFound("floating IP not found")


def add_floating_ip(request: APIRequest, compute_api, instance: dict, value: Any,
                    name: str = "addFloatingIp") -> None:
    """``{"addFloatingIp": {"address": ..., "fixed_address": ...}}``: 202."""
    value = _action_body(request, name, value, ("address", "fixed_address"))
    fixed = network.fixed_addresses(instance)
    if not fixed:
        raise faults.BadRequest("Instance network is not ready yet")
    fixed_address = value.get("fixed_address")
    if fixed_address is not None and fixed_address not in fixed:
        raise faults.BadRequest("Specified fixed address not assigned to instance")
    if fixed_address is None:
        fixed_address = next((a for a in fixed if ipaddress.ip_address(a).version == 4), None)
        if fixed_address is None:
            raise faults.BadRequest(
                f"Unable to associate floating IP {value['address']} to any fixed IPs for "
                f"instance {instance['uuid']}. Instance has no fixed IPv4 addresses to "
                "associate.")
    row = _by_address(request, value["address"])
    try:
        network.associate_floating_ip(request, row, instance, fixed_address)
    except network.FloatingIpPortInUse:
        raise faults.BadRequest(f"Floating IP {value['address']} association has failed.")


def remove_floating_ip(request: APIRequest, compute_api, instance: dict, value: Any,
                       name: str = "removeFloatingIp") -> None:
    """``{"removeFloatingIp": {"address": ...}}``: 202; 409 when it does not point at
    the server."""
    value = _action_body(request, name, value, ("address",))
    row = _by_address(request, value["address"])
    if row.get("instance_uuid") != instance["uuid"]:
        raise faults.Conflict(f"Floating IP {value['address']} is not associated with "
                              f"instance {instance['uuid']}.")
    network.disassociate_floating_ip(request, row)
