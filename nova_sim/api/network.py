"""A minimal network service at ``/network`` (Neutron's v2.0 shapes), and server addresses.

Owns the simulator's network catalogue (``private``, the network ``networks: auto``
picks, and ``public``, shared by every project, plus the networks projects create), the
routes ``GET /network/v2.0/networks[?name=&id=]`` and ``GET /network/v2.0/networks/{id}``
that ``openstack server create --network NAME`` walks, network and subnet create and
delete (one IPv4 subnet per network; servers booted on a network get an address of its
subnet), ``GET /network/v2.0/ports`` (one port per server address, as openstacksdk looks
a server's addresses up), floating IPs (``/network/v2.0/floatingips``: allocate an
address of an external network, point it at a server's port, release it; kept in the
database's ``floating_ips`` table, so every API process sees them; the functions the
compute API's ``os-floating-ips`` proxy and ``addFloatingIp`` call; a server's floating
IPs are also written into its system metadata, where its addresses find them), and
``addresses_for``, which renders an instance's network info as Nova's ``addresses``.
Errors here use Neutron's body (``{"NeutronError": {...}}``), as the clients expect from
this endpoint. The catalogue lives in the API process's memory (like the identity
service's users): networks made through the API are gone after a restart. Must not know
about the compute service beyond the instance dict.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from nova_sim import exception
from nova_sim.api import auth, faults
from nova_sim.api.app import APIRequest, Reply, Router

_NAMESPACE = uuid_module.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122 DNS


def _network(name: str, cidr: str, external: bool) -> dict[str, Any]:
    net_id = str(uuid_module.uuid5(_NAMESPACE, f"nova-sim.network.{name}"))
    return {
        "id": net_id,
        "name": name,
        "status": "ACTIVE",
        "admin_state_up": True,
        "shared": True,
        "router:external": external,
        "subnets": [str(uuid_module.uuid5(_NAMESPACE, f"nova-sim.subnet.{name}"))],
        "tenant_id": "admin",
        "project_id": "admin",
        "mtu": 1450,
        "port_security_enabled": True,
        "availability_zones": ["nova"],
        "description": "",
        "tags": [],
        "cidr": cidr,
    }


PRIVATE = _network("private", "10.0.0.0/24", external=False)
PUBLIC = _network("public", "172.24.4.0/24", external=True)
NETWORKS = [PRIVATE, PUBLIC]
NETWORKS_BY_ID = {net["id"]: net for net in NETWORKS}
AUTO_NETWORK = PRIVATE


def register(router: Router, api) -> None:
    """Add the ``/network`` routes (paths relative to ``/network``)."""
    router.add("GET", "/v2.0", version_doc)
    router.add("GET", "/v2.0/networks", list_networks)
    router.add("GET", "/v2.0/networks/{network_id}", show_network)
    router.add("GET", "/v2.0/extensions", list_extensions)
    router.add("GET", "/v2.0/ports", list_ports)
    router.add("GET", "/v2.0/floatingips", list_floating_ips)
    router.add("POST", "/v2.0/floatingips", create_floating_ip)
    router.add("GET", "/v2.0/floatingips/{ip_id}", show_floating_ip)
    router.add("PUT", "/v2.0/floatingips/{ip_id}", update_floating_ip)
    router.add("DELETE", "/v2.0/floatingips/{ip_id}", delete_floating_ip)
    router.add("POST", "/v2.0/networks", create_network)
    router.add("DELETE", "/v2.0/networks/{network_id}", delete_network)
    router.add("GET", "/v2.0/subnets", list_subnets)
    router.add("POST", "/v2.0/subnets", create_subnet)
    router.add("GET", "/v2.0/subnets/{subnet_id}", show_subnet)
    router.add("DELETE", "/v2.0/subnets/{subnet_id}", delete_subnet)


def _view(net: dict[str, Any]) -> dict[str, Any]:
    view = dict(net)
    view.pop("cidr", None)
    return view


def version_doc(request: APIRequest) -> Reply:
    """``GET /network/v2.0``: the resources this minimal Neutron serves."""
    return Reply(200, {"resources": [{
        "name": "network", "collection": "networks",
        "links": [{"rel": "self", "href": f"{request.base_url}/network/v2.0/networks"}],
    }]})


def _flag(value: str) -> bool | None:
    """A Neutron boolean query value (``True``, ``false``, ``1``...); None when neither."""
    return {"true": True, "1": True, "false": False, "0": False}.get(value.lower())


def list_networks(request: APIRequest) -> Reply:
    """``GET /network/v2.0/networks``: the networks the caller sees (shared ones, its
    project's, every one for an admin), filtered as Neutron does by ``name``, ``id``,
    ``project_id``/``tenant_id`` (each repeatable), ``shared`` and ``router:external``
    (booleans; a value that is none matches nothing)."""
    names = request.params.getall("name")
    ids = request.params.getall("id")
    projects = request.params.getall("project_id") + request.params.getall("tenant_id")
    flags = {key: [_flag(v) for v in request.params.getall(key)]
             for key in ("shared", "router:external")}
    nets = [
        _view(net) for net in NETWORKS
        if (not names or net["name"] in names) and (not ids or net["id"] in ids)
        and (not projects or net.get("project_id") in projects)
        and all(not wanted or bool(net.get(key)) in wanted for key, wanted in flags.items())
        and (net["shared"] or request.is_admin
             or net.get("project_id") == request.context.project_id)
    ]
    return Reply(200, {"networks": nets})


def list_extensions(request: APIRequest) -> Reply:
    """``GET /network/v2.0/extensions``: none (clients probe for optional features)."""
    return Reply(200, {"extensions": []})


def show_network(request: APIRequest, network_id: str) -> Reply:
    """``GET /network/v2.0/networks/{id}``; Neutron's 404 body when unknown."""
    net = NETWORKS_BY_ID.get(network_id)
    if net is None:
        raise NeutronNotFound(f"Network {network_id} could not be found.")
    return Reply(200, {"network": _view(net)})


def _ports_of(instance: dict) -> list[dict[str, Any]]:
    """Neutron-shaped ports of an instance: one per address of ``addresses_for``."""
    by_name = {net["name"]: net for net in NETWORKS}
    ports = []
    for label, entries in addresses_for(instance, floating=False).items():
        net = by_name.get(label)
        for entry in entries:
            ports.append({
                "id": str(uuid_module.uuid5(_NAMESPACE, f"nova-sim.port.{instance['uuid']}."
                                            f"{entry.get('addr')}")),
                "name": "", "network_id": net["id"] if net else None,
                "device_id": instance["uuid"], "device_owner": "compute:nova",
                "mac_address": entry.get("OS-EXT-IPS-MAC:mac_addr"),
                "fixed_ips": [{"subnet_id": net["subnets"][0] if net else None,
                               "ip_address": entry.get("addr")}],
                "status": "ACTIVE", "admin_state_up": True,
                "tenant_id": instance.get("project_id"),
                "project_id": instance.get("project_id"),
                "security_groups": [], "binding:vnic_type": "normal", "tags": [],
                "description": "",
            })
    return ports


def list_ports(request: APIRequest) -> Reply:
    """``GET /network/v2.0/ports``: the ports of the caller's servers (every project's for
    an admin), one per address, filtered by ``device_id``, ``network_id`` and ``id``."""
    filters: dict[str, Any] = {}
    device_ids = request.params.getall("device_id")
    if device_ids:
        filters["uuid"] = device_ids
    if not request.is_admin:
        filters["project_id"] = request.context.project_id
    instances = request.api.compute_api.get_all(request.context, filters=filters)
    network_ids = request.params.getall("network_id")
    ids = request.params.getall("id")
    ports = [port for instance in instances for port in _ports_of(instance)
             if (not network_ids or port["network_id"] in network_ids)
             and (not ids or port["id"] in ids)]
    return Reply(200, {"ports": ports})


#: Subnets by id: one per fixed network, plus those made through the API.
SUBNETS: dict[str, dict[str, Any]] = {
    net["subnets"][0]: {"id": net["subnets"][0], "name": f"{net['name']}-subnet",
                        "network_id": net["id"], "cidr": net["cidr"], "ip_version": 4,
                        "enable_dhcp": True, "tenant_id": "admin", "project_id": "admin",
                        "gateway_ip": net["cidr"].rsplit(".", 1)[0] + ".1"}
    for net in NETWORKS}


def _body(request: APIRequest, key: str) -> dict[str, Any]:
    body = request.json_body()
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise faults.BadRequest(f"Resource body required: '{key}' is missing")
    return body[key]


def create_network(request: APIRequest) -> Reply:
    """``POST /network/v2.0/networks``: a network of the caller's project (201); servers
    may be booted on it once it has a subnet."""
    spec = _body(request, "network")
    name = spec.get("name", "")
    if not isinstance(name, str) or len(name) > 255:
        raise faults.BadRequest("Invalid input for name: a string of at most 255 characters "
                                "is expected.")
    net_id = str(uuid_module.uuid4())
    net = dict(_network(name, "", external=False), id=net_id, subnets=[], cidr=None,
               shared=False, tenant_id=request.context.project_id,
               project_id=request.context.project_id)
    NETWORKS.append(net)
    NETWORKS_BY_ID[net_id] = net
    return Reply(201, {"network": _view(net)})


def _owned(request: APIRequest, found: dict[str, Any] | None, kind: str,
           ident: str) -> dict[str, Any]:
    if found is None or (not request.is_admin and found.get("project_id") not in (
            request.context.project_id, None) and not found.get("shared")):
        raise NeutronNotFound(f"{kind} {ident} could not be found.")
    return found


def delete_network(request: APIRequest, network_id: str) -> Reply:
    """``DELETE /network/v2.0/networks/{id}``: 204 (its subnets go too); the fixed
    networks cannot be deleted (409)."""
    net = _owned(request, NETWORKS_BY_ID.get(network_id), "Network", network_id)
    if net in (PRIVATE, PUBLIC):
        raise faults.Conflict(f"Unable to complete operation on network {network_id}: it "
                              "is one of the cloud's own networks.")
    for subnet_id in net["subnets"]:
        SUBNETS.pop(subnet_id, None)
    NETWORKS.remove(net)
    del NETWORKS_BY_ID[network_id]
    return Reply(204)


def list_subnets(request: APIRequest) -> Reply:
    """``GET /network/v2.0/subnets[?network_id=]``."""
    network_ids = request.params.getall("network_id")
    return Reply(200, {"subnets": [s for s in SUBNETS.values()
                                   if not network_ids or s["network_id"] in network_ids]})


def create_subnet(request: APIRequest) -> Reply:
    """``POST /network/v2.0/subnets``: an IPv4 subnet (``cidr``) of a network with none
    (201); its addresses are the network's servers'."""
    import ipaddress

    spec = _body(request, "subnet")
    net = _owned(request, NETWORKS_BY_ID.get(str(spec.get("network_id"))), "Network",
                 str(spec.get("network_id")))
    try:
        cidr = ipaddress.IPv4Network(str(spec.get("cidr")), strict=False)
    except ValueError:
        raise faults.BadRequest(f"Invalid input for cidr: '{spec.get('cidr')}' is not an "
                                "IPv4 network.")
    if net["subnets"]:
        raise faults.Conflict("nova-sim networks hold one subnet each.")
    subnet = {"id": str(uuid_module.uuid4()), "name": spec.get("name", ""),
              "network_id": net["id"], "cidr": str(cidr), "ip_version": 4,
              "enable_dhcp": True, "tenant_id": request.context.project_id,
              "project_id": request.context.project_id,
              "gateway_ip": str(cidr.network_address + 1)}
    SUBNETS[subnet["id"]] = subnet
    net["subnets"] = [subnet["id"]]
    net["cidr"] = str(cidr)
    return Reply(201, {"subnet": subnet})


def show_subnet(request: APIRequest, subnet_id: str) -> Reply:
    """``GET /network/v2.0/subnets/{id}``."""
    return Reply(200, {"subnet": _owned(request, SUBNETS.get(subnet_id), "Subnet",
                                        subnet_id)})


def delete_subnet(request: APIRequest, subnet_id: str) -> Reply:
    """``DELETE /network/v2.0/subnets/{id}``: 204."""
    subnet = _owned(request, SUBNETS.get(subnet_id), "Subnet", subnet_id)
    net = NETWORKS_BY_ID.get(subnet["network_id"])
    if net in (PRIVATE, PUBLIC):
        raise faults.Conflict(f"Unable to complete operation on subnet {subnet_id}: it is "
                              "one of the cloud's own subnets.")
    del SUBNETS[subnet_id]
    if net is not None:
        net["subnets"], net["cidr"] = [], None
    return Reply(204)


# -- floating IPs ------------------------------------------------------------------------
class FloatingIpLimitExceeded(Exception):
    """The project holds as many floating IPs as its ``floating_ips`` quota allows."""


def external_network(name_or_id: str | None) -> dict[str, Any] | None:
    """The external network (a floating IP pool) with this name or id; with None, the
    default pool (``public``)."""
    if name_or_id is None:
        return PUBLIC
    return next((net for net in NETWORKS if net.get("router:external")
                 and name_or_id in (net["id"], net["name"])), None)


def _pool_addresses(net: dict[str, Any]):
    """The addresses a pool hands out: its subnet's hosts but the gateway."""
    import ipaddress

    subnet = ipaddress.IPv4Network(net["cidr"])
    gateway = subnet.network_address + 1
    return (str(host) for host in subnet.hosts() if host != gateway)


def allocate_floating_ip(request: APIRequest, net: dict[str, Any],
                         description: str = "") -> dict[str, Any]:
    """A new floating IP of the caller's project from the external network ``net``;
    ``FloatingIpLimitExceeded`` past the project's ``floating_ips`` quota,
    ``exception.NoMoreFloatingIps`` when the pool is used up."""
    db = request.api.compute_api.db
    project_id = request.context.project_id
    allowed = request.api.compute_api.quota_api.limits(project_id)["floating_ips"]
    if 0 <= allowed <= db.floating_ip_count(project_id):
        raise FloatingIpLimitExceeded()
    return db.floating_ip_allocate(project_id, net["id"], _pool_addresses(net), description)


def _live(request: APIRequest, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with the associations to servers that are gone dropped (a deleted
    server's port goes, and its floating IPs with it, as Neutron unbinds them)."""
    wanted = sorted({row["instance_uuid"] for row in rows if row.get("instance_uuid")})
    if not wanted:
        return rows
    found = {i["uuid"] for i in request.api.compute_api.get_all(
        request.context.elevated(), filters={"uuid": wanted})}
    return [row if row.get("instance_uuid") in (None, *found)
            else dict(row, instance_uuid=None, fixed_address=None) for row in rows]


def floating_ips_of(request: APIRequest, all_projects: bool = False) -> list[dict[str, Any]]:
    """The caller's project's floating IPs (every project's with ``all_projects``)."""
    db = request.api.compute_api.db
    return _live(request, db.floating_ip_get_all(
        None if all_projects else request.context.project_id))


def _visible_floating_ip(request: APIRequest, row: dict[str, Any]) -> dict[str, Any]:
    if not request.is_admin and row["project_id"] != request.context.project_id:
        raise exception.FloatingIpNotFound(id=row["uuid"])
    return _live(request, [row])[0]


def get_floating_ip(request: APIRequest, ip_id: str) -> dict[str, Any]:
    """One floating IP the caller may see, by id (``exception.FloatingIpNotFound`` when
    unknown or another project's)."""
    return _visible_floating_ip(request, request.api.compute_api.db.floating_ip_get(ip_id))


def get_floating_ip_by_address(request: APIRequest, address: str) -> dict[str, Any]:
    """One floating IP the caller may see, by address
    (``exception.FloatingIpNotFoundForAddress``)."""
    row = request.api.compute_api.db.floating_ip_get_by_address(address)
    if not request.is_admin and row["project_id"] != request.context.project_id:
        raise exception.FloatingIpNotFoundForAddress(address=address)
    return _live(request, [row])[0]


def fixed_addresses(instance: dict) -> list[str]:
    """The fixed addresses of a server (those a floating IP may point at)."""
    return [entry["addr"] for entries in addresses_for(instance, floating=False).values()
            for entry in entries if entry.get("OS-EXT-IPS:type", "fixed") == "fixed"
            and entry.get("addr")]


class FloatingIpPortInUse(Exception):
    """The fixed address already has a floating IP of the same external network."""


def associate_floating_ip(request: APIRequest, row: dict[str, Any], instance: dict,
                          fixed_address: str) -> dict[str, Any]:
    """Point a floating IP at ``fixed_address`` of ``instance`` (moving it from any
    server it pointed at, as Neutron does); ``FloatingIpPortInUse`` (with Neutron's
    message) when another floating IP of the same network points there."""
    db = request.api.compute_api.db
    for other in _live(request, db.floating_ip_get_by_instance(instance["uuid"])):
        if (other["uuid"] != row["uuid"] and other["fixed_address"] == fixed_address
                and other["network_id"] == row["network_id"]):
            raise FloatingIpPortInUse(
                f"Cannot associate floating IP {row['address']} ({row['uuid']}) with port "
                f"{port_id(instance['uuid'], fixed_address)} using fixed IP "
                f"{fixed_address}, as that fixed IP already has a floating IP on external "
                f"network {row['network_id']}.")
    found = db.floating_ip_associate(row["uuid"], instance["uuid"], fixed_address)
    if row.get("instance_uuid") and row["instance_uuid"] != instance["uuid"]:
        _show_on_server(request, row["instance_uuid"])  # moved away from there
    _show_on_server(request, instance["uuid"])
    return found


def disassociate_floating_ip(request: APIRequest, row: dict[str, Any]) -> dict[str, Any]:
    """Drop a floating IP's association."""
    found = request.api.compute_api.db.floating_ip_associate(row["uuid"], None, None)
    _show_on_server(request, row.get("instance_uuid"))
    return found


def release_floating_ip(request: APIRequest, row: dict[str, Any]) -> None:
    """Release a floating IP (associated or not) back to its pool."""
    request.api.compute_api.db.floating_ip_destroy(row["uuid"])
    _show_on_server(request, row.get("instance_uuid"))


#: The system metadata key of a server's floating IPs: ``[{"addr", "fixed"}]``.
FLOATING_KEY = "floating_ips"


def _show_on_server(request: APIRequest, instance_uuid: str | None) -> None:
    """Write the floating IPs pointing at a server into its system metadata, where its
    ``addresses`` find them (as Neutron's event refreshes Nova's network info cache)."""
    if not instance_uuid:
        return
    db = request.api.compute_api.db
    try:
        instance = db.instance_get(instance_uuid)
    except exception.InstanceNotFound:
        return
    system_metadata = dict(instance.get("system_metadata") or {})
    system_metadata[FLOATING_KEY] = [
        {"addr": row["address"], "fixed": row["fixed_address"]}
        for row in db.floating_ip_get_by_instance(instance_uuid)]
    db.instance_update(instance_uuid, {"system_metadata": system_metadata})


def port_id(instance_uuid: str, address: str | None) -> str:
    """The id of the port of a server's fixed address (as ``GET /v2.0/ports`` shows)."""
    return str(uuid_module.uuid5(_NAMESPACE, f"nova-sim.port.{instance_uuid}.{address}"))


def _floating_view(row: dict[str, Any]) -> dict[str, Any]:
    associated = bool(row.get("instance_uuid"))
    return {
        "id": row["uuid"], "floating_ip_address": row["address"],
        "floating_network_id": row["network_id"], "router_id": None,
        "port_id": port_id(row["instance_uuid"], row["fixed_address"]) if associated
        else None,
        "fixed_ip_address": row.get("fixed_address") if associated else None,
        "status": "ACTIVE" if associated else "DOWN",
        "tenant_id": row["project_id"], "project_id": row["project_id"],
        "description": row.get("description") or "", "tags": [], "revision_number": 0,
        "created_at": _stamp(row.get("created_at")),
        "updated_at": _stamp(row.get("updated_at")), "port_forwardings": [],
    }


def _stamp(value: str | None) -> str | None:
    return value.split(".", 1)[0] + "Z" if value else value


_FLOATING_FILTERS = {"id": "id", "floating_ip_address": "floating_ip_address",
                     "floating_network_id": "floating_network_id", "port_id": "port_id",
                     "fixed_ip_address": "fixed_ip_address", "status": "status",
                     "project_id": "project_id", "tenant_id": "tenant_id"}


def list_floating_ips(request: APIRequest) -> Reply:
    """``GET /network/v2.0/floatingips``: the caller's project's floating IPs (every
    project's for an admin), filtered by ``id``, ``floating_ip_address``,
    ``floating_network_id``, ``port_id``, ``fixed_ip_address``, ``status`` and
    ``project_id``/``tenant_id`` (each repeatable)."""
    views = [_floating_view(row) for row in floating_ips_of(request, request.is_admin)]
    for param, field in _FLOATING_FILTERS.items():
        wanted = request.params.getall(param)
        if wanted:
            views = [view for view in views if view[field] in wanted]
    return Reply(200, {"floatingips": views})


def _port_target(request: APIRequest, wanted_port: str,
                 fixed_address: Any = None) -> tuple[dict, str]:
    """The server and fixed address behind a port id the caller may use (404 when
    there is no such port)."""
    for instance in request.api.compute_api.get_all(request.context):
        for address in fixed_addresses(instance):
            if port_id(instance["uuid"], address) == wanted_port and (
                    fixed_address in (None, address)):
                return instance, address
    raise NeutronNotFound(f"Port {wanted_port} could not be found.")


def _neutron_floating_ip(request: APIRequest, ip_id: str) -> dict[str, Any]:
    try:
        return get_floating_ip(request, ip_id)
    except exception.FloatingIpNotFound:
        raise NeutronNotFound(f"Floating IP {ip_id} could not be found.")


def create_floating_ip(request: APIRequest) -> Reply:
    """``POST /network/v2.0/floatingips`` ``{"floatingip": {"floating_network_id"[,
    "port_id", "fixed_ip_address", "description"]}}``: 201; 404 for an unknown network,
    400 for one that is not external, 409 past the quota or with the pool used up."""
    auth.check_role(request.context, request.webob.method)
    spec = _body(request, "floatingip")
    network_id = spec.get("floating_network_id")
    if not isinstance(network_id, str):
        raise faults.BadRequest("Invalid input for floating_network_id: a network id is "
                                "required.")
    net = NETWORKS_BY_ID.get(network_id)
    if net is None:
        raise NeutronNotFound(f"Network {network_id} could not be found.")
    if not net.get("router:external"):
        raise faults.BadRequest(f"Bad floatingip request: Network {network_id} is not a "
                                "valid external network.")
    target = None
    if spec.get("port_id"):
        target = _port_target(request, str(spec["port_id"]), spec.get("fixed_ip_address"))
    try:
        row = allocate_floating_ip(request, net, str(spec.get("description") or ""))
    except FloatingIpLimitExceeded:
        raise faults.Conflict("Quota exceeded for resources: ['floatingip'].")
    except exception.NoMoreFloatingIps:
        raise faults.Conflict(f"No more IP addresses available on network {network_id}.")
    if target is not None:
        try:
            row = associate_floating_ip(request, row, *target)
        except FloatingIpPortInUse as error:
            release_floating_ip(request, row)
            raise faults.Conflict(str(error))
    return Reply(201, {"floatingip": _floating_view(row)})


def show_floating_ip(request: APIRequest, ip_id: str) -> Reply:
    """``GET /network/v2.0/floatingips/{id}``."""
    return Reply(200, {"floatingip": _floating_view(_neutron_floating_ip(request, ip_id))})


def update_floating_ip(request: APIRequest, ip_id: str) -> Reply:
    """``PUT /network/v2.0/floatingips/{id}`` ``{"floatingip": {"port_id": ...}}``:
    associate with a port (``null``: no longer associated)."""
    auth.check_role(request.context, request.webob.method)
    spec = _body(request, "floatingip")
    row = _neutron_floating_ip(request, ip_id)
    if "port_id" in spec:
        if spec["port_id"] is None:
            row = disassociate_floating_ip(request, row)
        else:
            target = _port_target(request, str(spec["port_id"]),
                                  spec.get("fixed_ip_address"))
            try:
                row = associate_floating_ip(request, row, *target)
            except FloatingIpPortInUse as error:
                raise faults.Conflict(str(error))
    return Reply(200, {"floatingip": _floating_view(row)})


def delete_floating_ip(request: APIRequest, ip_id: str) -> Reply:
    """``DELETE /network/v2.0/floatingips/{id}``: 204."""
    auth.check_role(request.context, request.webob.method)
    release_floating_ip(request, _neutron_floating_ip(request, ip_id))
    return Reply(204)


class NeutronNotFound(faults.NotFound):
    """A 404 of the network service (rendered by the application as a Nova fault)."""


def _fixed_ip(net: dict[str, Any], instance: dict) -> str | None:
    if not net.get("cidr"):
        return None  # a network without a subnet gives no address
    prefix = net["cidr"].rsplit(".", 1)[0]
    number = int(instance.get("id") or int(uuid_module.UUID(instance["uuid"]).int % 250))
    return f"{prefix}.{2 + number % 250}"


def _mac(instance: dict, index: int) -> str:
    hex_digits = instance["uuid"].replace("-", "")
    third = (int(hex_digits[4:6], 16) + index) % 256
    return f"fa:16:3e:{hex_digits[0:2]}:{hex_digits[2:4]}:{third:02x}"


def requested_networks(networks: Any) -> list[dict[str, Any]]:
    """The network records ``networks`` (``auto``, ``none`` or a list) asks for."""
    if networks == "none" or networks is None:
        return []
    if networks == "auto":
        return [AUTO_NETWORK]
    return [NETWORKS_BY_ID[item["uuid"]] for item in networks if item.get("uuid")
            in NETWORKS_BY_ID]


def addresses_for(instance: dict, floating: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Nova's ``addresses`` of an instance: ``{network name: [{version, addr, ...}]}``.

    Reads Nova-shaped network info from ``info_cache`` (a list of VIFs) when the compute
    service filled it, else the ``networks`` the instance was requested with (kept in its
    system metadata by the compute API) once it has a host. The floating IPs pointing at
    a fixed address follow it (``OS-EXT-IPS:type`` ``floating``, as the network service
    left them in the system metadata) unless ``floating`` is false.
    """
    addresses = _fixed_addresses_for(instance)
    pointing = (instance.get("system_metadata") or {}).get(FLOATING_KEY) if floating else None
    for entry in pointing or []:
        for entries in addresses.values():
            fixed = next((e for e in entries if e["addr"] == entry.get("fixed")
                          and e["OS-EXT-IPS:type"] == "fixed"), None)
            if fixed is not None:
                entries.append(dict(fixed, addr=entry.get("addr"),
                                    **{"OS-EXT-IPS:type": "floating"}))
                break
    return addresses


def _fixed_addresses_for(instance: dict) -> dict[str, list[dict[str, Any]]]:
    info = instance.get("info_cache")
    addresses: dict[str, list[dict[str, Any]]] = {}
    if isinstance(info, list) and info:
        for vif in info:
            if not isinstance(vif, dict):
                continue
            network = vif.get("network") or {}
            label = network.get("label") or network.get("name") or "private"
            for subnet in network.get("subnets") or []:
                for ip in subnet.get("ips") or []:
                    addresses.setdefault(label, []).append({
                        "version": ip.get("version", 4),
                        "addr": ip.get("address"),
                        "OS-EXT-IPS:type": ip.get("type", "fixed"),
                        "OS-EXT-IPS-MAC:mac_addr": vif.get("address"),
                    })
        return addresses
    system_metadata = instance.get("system_metadata") or {}
    wanted = instance.get("requested_networks", system_metadata.get("requested_networks"))
    if wanted is None or not instance.get("host") or instance.get("vm_state") in (
            "building", "deleted", "error"):
        return addresses
    if isinstance(wanted, str) and wanted not in ("auto", "none"):
        import json

        try:
            wanted = json.loads(wanted)
        except ValueError:
            return addresses
    for index, net in enumerate(requested_networks(wanted)):
        if not net.get("cidr"):
            continue
        addresses.setdefault(net["name"], []).append({
            "version": 4,
            "addr": _fixed_ip(net, instance),
            "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": _mac(instance, index),
        })
    return addresses
