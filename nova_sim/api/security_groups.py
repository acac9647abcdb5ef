"""``/os-security-groups``, ``/os-security-group-rules`` and
``/servers/{id}/os-security-groups``: Nova's proxies to Neutron's security groups
(deprecated: a 404 from 2.36).

Owns the compute-shaped security groups nova-sim keeps itself (``nova_sim.db
.security_groups``; it has no Neutron): a project's groups (its ``default`` one made on
first use), create (``name``, ``description``; names need not be unique, as in Neutron),
show, update, delete (202; 400 for ``default`` or a group a server uses; an id that is not a
UUID is a 400, as Neutron's ids are), and ingress rules
(``ip_protocol`` ``tcp``/``udp``/``icmp``, ports 1-65535 with ``from_port <= to_port``,
ICMP type and code -1-255, a ``cidr`` (default ``0.0.0.0/0``) or a source ``group_id``; a
duplicate is a 400), in Nova's views (``tenant_id``, ``rules`` with ``ip_range`` and
``group``). Admins list every project's groups with ``all_tenants``. A server's groups
are those named at its creation (``POST /servers`` checks that they exist). Nothing
filters packets: there are none. Must not know about RPC.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import get_instance

_PROTOCOLS = ("tcp", "udp", "icmp")


def register(router: Router, api) -> None:
    """Add the security group routes."""
    router.add("GET", "/os-security-groups", index)
    router.add("POST", "/os-security-groups", create)
    router.add("GET", "/os-security-groups/{group_id}", show)
    router.add("PUT", "/os-security-groups/{group_id}", update)
    router.add("DELETE", "/os-security-groups/{group_id}", delete)
    router.add("DELETE", "/os-security-groups", _no_group)
    router.add("POST", "/os-security-group-rules", create_rule)
    router.add("DELETE", "/os-security-group-rules/{rule_id}", delete_rule)
    router.add("GET", "/servers/{server_id}/os-security-groups", server_groups)


def _db(request: APIRequest) -> Any:
    if request.version.matches("2.36"):
        raise faults.NotFound()
    return request.api.compute_api.db


def _rule_view(db: Any, rule: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": rule["uuid"], "parent_group_id": rule["parent_group_id"],
        "ip_protocol": rule.get("protocol"), "from_port": rule.get("from_port"),
        "to_port": rule.get("to_port"), "ip_range": {}, "group": {}}
    if rule.get("group_id"):
        try:
            source = db.security_group_get(rule["group_id"])
            view["group"] = {"name": source["name"], "tenant_id": source["project_id"]}
        except exception.SecurityGroupNotFound:
            pass
    else:
        view["ip_range"] = {"cidr": rule.get("cidr") or "0.0.0.0/0"}
    return view


def _view(db: Any, group: dict[str, Any]) -> dict[str, Any]:
    return {"id": group["uuid"], "name": group["name"],
            "description": group.get("description") or "", "tenant_id": group["project_id"],
            "rules": [_rule_view(db, rule) for rule in group.get("rules") or []]}


def _get(request: APIRequest, db: Any, group_id: str) -> dict[str, Any]:
    if not common.is_uuid_like(group_id):
        raise faults.BadRequest("Security group id should be uuid")
    try:
        group = db.security_group_get(group_id)
    except exception.SecurityGroupNotFound as error:
        raise faults.NotFound(error.format_message())
    if not request.is_admin and group["project_id"] != request.context.project_id:
        raise faults.NotFound(f"Security group {group_id} not found.")
    return group


def _no_group(request: APIRequest) -> Reply:
    """``DELETE /os-security-groups[/]``: no group named, a 404 as in Nova."""
    raise faults.NotFound()


def index(request: APIRequest) -> Reply:
    """``GET /os-security-groups`` (``all_tenants`` for admins)."""
    db = _db(request)
    all_tenants = request.is_admin and common.bool_from_string(
        request.param("all_tenants") or "false")
    if all_tenants:
        db.security_group_get_all(request.context.project_id)  # its default exists too
    groups = db.security_group_get_all(None if all_tenants else request.context.project_id)
    return Reply(200, {"security_groups": [_view(db, g) for g in groups]})


def _fields(spec: dict[str, Any], required: bool) -> dict[str, str]:
    values = {}
    for key in ("name", "description"):
        if key not in spec:
            if required:
                raise faults.BadRequest(f"Invalid input for field/attribute "
                                        f"security_group. '{key}' is a required property")
            continue
        values[key] = common.check_string(key, spec[key], max_length=255)
    return values


def create(request: APIRequest) -> Reply:
    """``POST /os-security-groups``: 200 with the new group."""
    db = _db(request)
    values = _fields(common.require_dict(request.json_body(), "security_group"), True)
    group = db.security_group_create(request.context.project_id, values["name"],
                                     values["description"])
    return Reply(200, {"security_group": _view(db, group)})


def show(request: APIRequest, group_id: str) -> Reply:
    """``GET /os-security-groups/{id}``."""
    db = _db(request)
    return Reply(200, {"security_group": _view(db, _get(request, db, group_id))})


def update(request: APIRequest, group_id: str) -> Reply:
    """``PUT /os-security-groups/{id}``: name and/or description."""
    db = _db(request)
    values = _fields(common.require_dict(request.json_body(), "security_group"), False)
    group = _get(request, db, group_id)
    if group["name"] == "default" and values.get("name", "default") != "default":
        raise faults.BadRequest("Updating the name of the default security group is not "
                                "allowed.")
    return Reply(200, {"security_group": _view(db, db.security_group_update(group_id,
                                                                            values))})


def _in_use(request: APIRequest, group: dict[str, Any]) -> bool:
    servers = request.api.compute_api.get_all(
        request.context, filters={"project_id": group["project_id"]})
    for server in servers:
        for entry in server.get("security_groups") or []:
            name = entry.get("name") if isinstance(entry, dict) else entry
            if name in (group["name"], group["uuid"]):
                return True
    return False


def delete(request: APIRequest, group_id: str) -> Reply:
    """``DELETE /os-security-groups/{id}``: 202; 400 for ``default`` or one in use."""
    db = _db(request)
    group = _get(request, db, group_id)
    if group["name"] == "default":
        raise faults.BadRequest("Removing default security group not allowed.")
    if _in_use(request, group):
        raise faults.BadRequest(f"Security group {group_id} is in use.")
    db.security_group_destroy(group_id)
    return Reply(202)


def _port(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise faults.BadRequest(f"{name} is not an integer.")
    try:
        return int(value)
    except ValueError:
        raise faults.BadRequest(f"{name} is not an integer.")


def _rule_values(request: APIRequest, db: Any, spec: dict[str, Any]) -> dict[str, Any]:
    parent = spec.get("parent_group_id")
    if not isinstance(parent, (str, int)):
        raise faults.BadRequest("parent_group_id is required")
    _get(request, db, str(parent))
    protocol = spec.get("ip_protocol")
    protocol = protocol.lower() if isinstance(protocol, str) else protocol
    if protocol not in _PROTOCOLS:
        raise faults.BadRequest(f"Invalid IP protocol {spec.get('ip_protocol')}.")
    from_port = _port("from_port", spec.get("from_port"))
    to_port = _port("to_port", spec.get("to_port"))
    if from_port is None or to_port is None:
        raise faults.BadRequest("Invalid port range: from_port and to_port are required.")
    if protocol == "icmp":
        if not (-1 <= from_port <= 255 and -1 <= to_port <= 255):
            raise faults.BadRequest(f"Invalid port range {from_port}:{to_port}. Type and "
                                    "Code must be integers for ICMP protocol type")
    elif not (1 <= from_port <= 65535 and 1 <= to_port <= 65535) or from_port > to_port:
        raise faults.BadRequest(f"Invalid port range {from_port}:{to_port}. Valid port "
                                "range is 1-65535")
    values: dict[str, Any] = {"parent_group_id": str(parent), "protocol": protocol,
                              "from_port": from_port, "to_port": to_port}
    if spec.get("group_id"):
        values["group_id"] = _get(request, db, str(spec["group_id"]))["uuid"]
    else:
        cidr = str(spec.get("cidr") or "0.0.0.0/0")
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise faults.BadRequest(f"Invalid cidr {cidr}.")
        values["cidr"] = cidr  # as given, as Nova shows it
    return values


def create_rule(request: APIRequest) -> Reply:
    """``POST /os-security-group-rules``: 200 with the rule; 400 for a duplicate."""
    db = _db(request)
    spec = common.require_dict(request.json_body(), "security_group_rule")
    values = _rule_values(request, db, spec)
    parent = db.security_group_get(values["parent_group_id"])
    keys = ("protocol", "from_port", "to_port", "cidr", "group_id")
    if any(all(rule.get(k) == values.get(k) for k in keys) for rule in parent["rules"]):
        raise faults.BadRequest(f"This rule already exists in group "
                                f"{values['parent_group_id']}")
    rule = db.security_group_rule_create(values)
    return Reply(200, {"security_group_rule": _rule_view(db, rule)})


def delete_rule(request: APIRequest, rule_id: str) -> Reply:
    """``DELETE /os-security-group-rules/{id}``: 202."""
    db = _db(request)
    try:
        rule = db.security_group_rule_get(rule_id)
        _get(request, db, rule["parent_group_id"])
        db.security_group_rule_destroy(rule_id)
    except exception.SecurityGroupRuleNotFound as error:
        raise faults.NotFound(error.format_message())
    return Reply(202)


def server_groups(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/os-security-groups``: the groups the server was created in."""
    db = _db(request)
    instance = get_instance(request, server_id)
    names = {entry.get("name") if isinstance(entry, dict) else entry
             for entry in instance.get("security_groups") or []}
    groups = [g for g in db.security_group_get_all(instance["project_id"])
              if g["name"] in names or g["uuid"] in names]
    return Reply(200, {"security_groups": [_view(db, g) for g in groups]})

