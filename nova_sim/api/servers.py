"""``/servers``: create, list, detail, show, update and delete servers.

Owns the input checks of ``POST /servers`` (name, imageRef, flavorRef, networks
``auto``/``none``/list, min_count/max_count, metadata, availability_zone,
block_device_mapping_v2 accepted), the list filters (name, status, image, flavor, ip,
the tag filters from 2.26, host and all_tenants for admins, limit/marker paging) and the
server view (``show_view``) in Nova's shape for the requested microversion. Policy: a
project sees and acts only on its own servers (others' are 404); admins see
``OS-EXT-SRV-ATTR:*`` and may list all tenants. Must not know about RPC: everything goes
through ``compute_api``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults, name_filter, volume
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.network import NETWORKS_BY_ID, addresses_for

# Keys POST /servers accepts inside "server" (Nova's schema, less the ones that need
# services the simulator does not have); any other key is a 400 as in Nova.
_CREATE_KEYS = frozenset([
    "name", "imageRef", "flavorRef", "networks", "min_count", "max_count", "metadata",
    "availability_zone", "block_device_mapping_v2", "block_device_mapping", "key_name",
    "security_groups", "user_data", "config_drive", "accessIPv4", "accessIPv6",
    "description", "tags", "hostname", "adminPass", "OS-DCF:diskConfig", "return_reservation_id",
    "personality", "trusted_image_certificates", "host", "hypervisor_hostname",
])
_NETWORK_KEYS = frozenset(["uuid", "port", "fixed_ip", "tag"])
_BDM_KEYS = frozenset([
    "uuid", "boot_index", "source_type", "destination_type", "delete_on_termination",
    "volume_size", "device_name", "device_type", "disk_bus", "guest_format", "tag",
    "volume_type", "no_device", "connection_info", "snapshot_id", "volume_id", "image_id",
])
_NAME_RE = re.compile(r"^(?! )[^\x00-\x1f\x7f]*(?<! )$")


def register(router: Router, api) -> None:
    """Add the ``/servers`` routes to ``router``."""
    router.add("GET", "/servers", index)
    router.add("POST", "/servers", create)
    router.add("GET", "/servers/detail", detail)
    router.add("GET", "/servers/{server_id}", show)
    router.add("PUT", "/servers/{server_id}", update)
    router.add("DELETE", "/servers/{server_id}", delete)


# -- lookups ---------------------------------------------------------------------------
def get_instance(request: APIRequest, server_id: str) -> dict:
    """The caller's instance ``server_id``; 404 when unknown or another project's."""
    if not common.is_uuid_like(server_id):
        raise faults.NotFound(f"Instance {server_id} could not be found.")
    server_id = common.normalize_uuid(server_id)
    try:
        instance = request.api.compute_api.get(request.context, server_id)
    except exception.InstanceNotFound:
        instance = None
    if not instance or (
        not request.is_admin and instance.get("project_id") != request.context.project_id
    ):
        raise faults.NotFound(f"Instance {server_id} could not be found.")
    return instance


# -- views -----------------------------------------------------------------------------
def _volumes_attached(request: APIRequest, instance: dict) -> list[dict[str, Any]]:
    """Nova's ``os-extended-volumes:volumes_attached``: the ids of the server's volumes
    (as the block-storage service left them in its system metadata), with
    ``delete_on_termination`` from 2.3."""
    attached = (instance.get("system_metadata") or {}).get("volumes_attached") or []
    if request.version.matches("2.3"):
        return [{"id": v["id"], "delete_on_termination": bool(v.get("delete_on_termination"))}
                for v in attached]
    return [{"id": v["id"]} for v in attached]


_HOST_IDS: dict[tuple[str | None, str], str] = {}


def _host_id(project_id: str | None, host: str | None) -> str:
    """Nova's ``hostId``: sha224 of project id + host (the same host looks different to
    different projects); "" without a host."""
    if not host:
        return ""
    key = (project_id, host)
    value = _HOST_IDS.get(key)
    if value is None:
        value = hashlib.sha224(((project_id or "") + host).encode()).hexdigest()
        if len(_HOST_IDS) < 65536:
            _HOST_IDS[key] = value
    return value


_FLAG_VERSIONS = ("2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.63", "2.71", "2.73",
                  "2.90", "2.96", "2.98", "2.100")
_FLAGS: dict[tuple[int, int], dict[str, bool]] = {}


def _flags(request: APIRequest) -> dict[str, bool]:
    """``{"2.47": True, ...}``: which microversion-dependent fields the view has."""
    version = request.version
    key = (version.major, version.minor)
    flags = _FLAGS.get(key)
    if flags is None:
        flags = _FLAGS[key] = {v: version.matches(v) for v in _FLAG_VERSIONS}
    return flags


def _flavor_view(request: APIRequest, instance: dict) -> dict:
    flavor = instance.get("flavor") or {}
    if request.version.matches("2.47"):
        view = {
            "vcpus": flavor.get("vcpus", 0),
            "ram": flavor.get("memory_mb", flavor.get("ram", 0)),
            "disk": flavor.get("root_gb", flavor.get("disk", 0)),
            "ephemeral": flavor.get("ephemeral_gb", flavor.get("ephemeral", 0)),
            "swap": flavor.get("swap", 0) or 0,
            "original_name": flavor.get("name", ""),
        }
        if request.is_admin or request.version.matches("2.47"):
            view["extra_specs"] = dict(flavor.get("extra_specs") or {})
        return view
    flavor_id = str(flavor.get("flavorid", flavor.get("id", instance.get("flavor_id", ""))))
    return {
        "id": flavor_id,
        "links": [{"rel": "bookmark", "href": f"{request.base_url}/flavors/{flavor_id}"}],
    }


def _image_view(request: APIRequest, instance: dict) -> Any:
    image_ref = instance.get("image_ref") or ""
    if not image_ref:
        return ""
    return {
        "id": image_ref,
        "links": [{"rel": "bookmark", "href": f"{request.base_url}/images/{image_ref}"}],
    }


def _fault_view(request: APIRequest, instance: dict) -> dict | None:
    fault = instance.get("fault")
    if not fault:
        return None
    code = int(fault.get("code", 500) or 500)
    view = {
        "code": code,
        "created": common.isotime(fault.get("created_at")) or common.isotime(
            instance.get("updated_at")),
        "message": fault.get("message", ""),
    }
    if request.is_admin or code != 500:
        details = fault.get("details")
        if details:
            view["details"] = details
    return view


def show_view(request: APIRequest, instance: dict, show_extra: bool = True) -> dict:
    """The ``server`` object of ``GET /servers/{id}`` for the request's microversion."""
    flags = _flags(request)
    is_admin = request.is_admin
    uuid = instance["uuid"]
    vm_state = instance.get("vm_state")
    task_state = instance.get("task_state")
    status = common.status_from_state(vm_state, task_state)
    project_id = instance.get("project_id")
    host = instance.get("host")
    server: dict[str, Any] = {
        "id": uuid,
        "name": instance.get("display_name") or instance.get("name") or "",
        "status": status,
        "tenant_id": project_id,
        "user_id": instance.get("user_id"),
        "metadata": dict(instance.get("metadata") or {}),
        "hostId": _host_id(project_id, host),
        "image": _image_view(request, instance),
        "flavor": _flavor_view(request, instance),
        "created": common.isotime(instance.get("created_at")),
        "updated": common.isotime(instance.get("updated_at") or instance.get("created_at")),
        "addresses": addresses_for(instance),
        "accessIPv4": instance.get("access_ip_v4") or "",
        "accessIPv6": instance.get("access_ip_v6") or "",
        "links": common.links(request.base_url, "servers", uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": instance.get("availability_zone") or (
            request.api.default_availability_zone if host else ""),
        "config_drive": "True" if instance.get("config_drive") else "",
        "key_name": instance.get("key_name"),
        "OS-SRV-USG:launched_at": common.microtime(instance.get("launched_at")),
        "OS-SRV-USG:terminated_at": common.microtime(instance.get("terminated_at")),
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:power_state": instance.get("power_state", 0) or 0,
        "os-extended-volumes:volumes_attached": _volumes_attached(request, instance),
    }
    if status in ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"):
        server["progress"] = int(instance.get("progress") or (100 if status == "ACTIVE" else 0))
    groups = instance.get("security_groups")
    if server["addresses"] and groups != []:  # a server with none lost them all: no key
        server["security_groups"] = [
            {"name": g["name"] if isinstance(g, dict) else str(g)} for g in groups
        ] if isinstance(groups, list) else [{"name": "default"}]
    if is_admin:
        server.update(_admin_attributes(instance, flags))
    server.update(_microversion_fields(request, instance, flags, show_extra))
    fault = _fault_view(request, instance) if status in ("ERROR", "DELETED") else None
    if fault:
        server["fault"] = fault
    return server


def _admin_attributes(instance: dict, flags: dict[str, bool]) -> dict[str, Any]:
    """The ``OS-EXT-SRV-ATTR:*`` fields an admin sees (more from 2.3)."""
    attributes: dict[str, Any] = {
        "OS-EXT-SRV-ATTR:host": instance.get("host"),
        "OS-EXT-SRV-ATTR:instance_name": instance.get("instance_name") or (
            "instance-%08x" % int(instance.get("id") or 0)),
        "OS-EXT-SRV-ATTR:hypervisor_hostname": instance.get("node"),
    }
    if flags["2.3"]:
        attributes.update({
            "OS-EXT-SRV-ATTR:reservation_id": instance.get("reservation_id") or "",
            "OS-EXT-SRV-ATTR:launch_index": int(instance.get("launch_index") or 0),
            "OS-EXT-SRV-ATTR:hostname": instance.get("hostname") or "",
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
            "OS-EXT-SRV-ATTR:user_data": instance.get("user_data"),
        })
    return attributes


def _microversion_fields(request: APIRequest, instance: dict, flags: dict[str, bool],
                         show_extra: bool) -> dict[str, Any]:
    """The fields that later microversions add to a server (2.9 to 2.100)."""
    is_admin = request.is_admin
    server: dict[str, Any] = {}
    if flags["2.9"]:
        server["locked"] = bool(instance.get("locked"))
    if flags["2.16"] and is_admin:
        server["host_status"] = instance.get("host_status") or (
            "UP" if instance.get("host") else "")
    if flags["2.19"]:
        server["description"] = instance.get("display_description")
    if flags["2.26"]:
        server["tags"] = tags_of(request, instance)
    if flags["2.63"]:
        server["trusted_image_certificates"] = None
    if flags["2.71"] and show_extra:
        server["server_groups"] = []
    if flags["2.73"]:
        server["locked_reason"] = instance.get("locked_reason")
    if flags["2.90"] and not is_admin:
        server["OS-EXT-SRV-ATTR:hostname"] = instance.get("hostname") or ""
    if flags["2.96"]:
        server["pinned_availability_zone"] = instance.get("pinned_availability_zone")
    if flags["2.98"]:
        server["image"] = _image_view(request, instance)
    if flags["2.100"]:
        server["scheduler_hints"] = dict(instance.get("scheduler_hints") or {})
    return server


def tags_of(request: APIRequest, instance: dict) -> list[str]:
    """The server's tags (``nova_sim.api.server_tags``), from the row when it has them."""
    if "tags" in instance:
        return list(instance["tags"] or [])
    db = getattr(request.api.compute_api, "db", None)
    return db.instance_tag_get(instance["uuid"]) if db is not None else []


def _basic_view(request: APIRequest, instance: dict) -> dict:
    uuid = instance["uuid"]
    return {
        "id": uuid,
        "name": instance.get("display_name") or instance.get("name") or "",
        "links": common.links(request.base_url, "servers", uuid),
    }


# -- list ------------------------------------------------------------------------------
_ADMIN_FILTERS = ("host", "node", "deleted", "project_id", "tenant_id", "user_id")


def _all_tenants(request: APIRequest, is_detail: bool) -> bool:
    """Whether ``all_tenants`` was asked for (403 for a non-admin)."""
    if "all_tenants" not in request.params:
        return False
    raw = request.param("all_tenants")
    all_tenants = raw == "" or common.bool_from_string(raw, strict=False, default=True)
    if all_tenants and not request.is_admin:
        action = "detail" if is_detail else "index"
        raise faults.Forbidden(
            f"Policy doesn't allow os_compute_api:servers:{action}:get_all_tenants "
            "to be performed.")
    return all_tenants


def _status_filters(request: APIRequest) -> dict[str, Any] | None:
    """``vm_state`` / ``task_state`` filters of the ``status`` parameters; None when
    no status given matches any state (the answer is then an empty list)."""
    statuses = [s for s in request.params.getall("status") if s]
    if not statuses:
        return {}
    vm_states: set[str] = set()
    task_states: set[str] | None = set()
    for status in statuses:
        found = common.states_from_status(status)
        if found is None:
            continue
        vm_states.update(found[0])
        if found[1] is None or task_states is None:
            task_states = None
        else:
            task_states.update(found[1])
    if not vm_states:
        return None
    filters: dict[str, Any] = {"vm_state": sorted(vm_states)}
    if task_states is not None:
        filters["task_state"] = sorted(task_states)
    return filters


def _project_filters(request: APIRequest, all_tenants: bool) -> dict[str, Any]:
    """The admin-only filters (``host``, ``node``, ``deleted``, another project) and the
    project scope: the caller's own project unless ``all_tenants``."""
    filters: dict[str, Any] = {}
    if request.is_admin:
        for key in ("host", "node"):
            value = request.param(key)
            if value:
                filters[key] = value
        deleted = request.param("deleted")
        if deleted is not None:
            filters["deleted"] = common.bool_from_string(deleted, default=False)
        if all_tenants:
            filters["all_tenants"] = True
            project = request.param("project_id") or request.param("tenant_id")
            if project:
                filters["project_id"] = project
    if not all_tenants:
        filters["project_id"] = request.context.project_id
    return filters


def _resource_filters(request: APIRequest) -> dict[str, Any] | None:
    """``image`` (an id or a URL ending in one), ``flavor`` (an API flavor id; None, an
    empty list, when there is no such flavor, as in Nova) and ``reservation_id``."""
    filters: dict[str, Any] = {}
    reservation_id = request.param("reservation_id")
    if reservation_id:
        filters["reservation_id"] = reservation_id
    image = request.param("image")
    if image:
        filters["image_ref"] = image.rstrip("/").rsplit("/", 1)[-1]
    flavor_id = request.param("flavor")
    if flavor_id:
        try:
            flavor = request.api.compute_api.flavor_get(request.context, flavor_id)
        except exception.FlavorNotFound:
            return None
        filters["instance_type_id"] = flavor["id"]
    return filters


def _time_filters(request: APIRequest) -> dict[str, Any]:
    """``changes-since`` (2.1) and ``changes-before`` (2.66), as timestamps (400 when
    not ISO 8601)."""
    filters: dict[str, Any] = {}
    for key, since in (("changes-since", "2.1"), ("changes-before", "2.66")):
        raw = request.param(key)
        if raw is not None and request.version.matches(since):
            stamp = common.microtime(raw) if raw else None
            if stamp is None:
                raise faults.BadRequest(f"Invalid input for query parameters {key}. Value: "
                                        f"{raw[:64]}. It is not an ISO 8601 date-time.")
            filters[key] = stamp
    return filters


def _list(request: APIRequest, is_detail: bool) -> Reply:
    params = request.params
    all_tenants = _all_tenants(request, is_detail)
    filters: dict[str, Any] = {}
    name = request.param("name")
    # The name regex runs here on RE2 (linear time), never in the database's backtracking
    # engine: the database gives every other filter's rows, sorted, and the page is cut
    # after matching.
    matches = name_filter.compile_filter(name) if name else None
    states = _status_filters(request)
    if states is None:
        return Reply(200, {"servers": []})
    filters.update(states)
    filters.update(_project_filters(request, all_tenants))
    filters.update(_time_filters(request))
    resources = _resource_filters(request)
    if resources is None:
        return Reply(200, {"servers": []})
    filters.update(resources)
    ip = request.param("ip")
    # The ip regex, like the name one, runs here (on every address of a server).
    ip_matches = name_filter.compile_filter(ip) if ip else None
    sort_keys = [k for k in params.getall("sort_key") if k] or None
    sort_dirs = [d for d in params.getall("sort_dir") if d] or None
    limit = common.parse_limit(params, request.api.max_limit)
    marker = request.param("marker")
    tag_filters = _tag_filters(request)
    if matches is None and ip_matches is None and not tag_filters:
        page = request.api.compute_api.get_all(
            request.context, search_opts=filters, limit=limit, marker=marker,
            sort_keys=sort_keys, sort_dirs=sort_dirs)
    else:
        rows = request.api.compute_api.get_all(
            request.context, search_opts=filters, sort_keys=sort_keys, sort_dirs=sort_dirs)
        rows = [i for i in rows if _wanted(i, matches, ip_matches)]
        if tag_filters:
            rows = _tagged(request, rows, tag_filters)
        page = _cut_page(rows, limit, marker)
    if not request.is_admin:  # policy safety net: never show another project's servers
        page = [i for i in page if i.get("project_id") == request.context.project_id]
    if is_detail:
        if request.version.matches("2.26"):  # every server's tags in one query
            db = getattr(request.api.compute_api, "db", None)
            if db is not None:
                tags = db.instance_tag_get_many([i["uuid"] for i in page])
                page = [dict(i, tags=tags.get(i["uuid"], [])) for i in page]
        body: dict[str, Any] = {"servers": [show_view(request, i, show_extra=False)
                                            for i in page]}
    else:
        body = {"servers": [_basic_view(request, i) for i in page]}
    if limit and len(page) == limit:
        collection = "servers/detail" if is_detail else "servers"
        body["servers_links"] = common.next_link(
            request.base_url, collection, params, page[-1]["uuid"])
    return Reply(200, body)


_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def _tag_filters(request: APIRequest) -> dict[str, set[str]]:
    """The tag filters of a list (2.26; ignored before): ``tags`` (every one of these
    tags), ``tags-any`` (at least one), ``not-tags`` (not every one), ``not-tags-any``
    (none), each a comma-separated list."""
    if not request.version.matches("2.26"):
        return {}
    found = {}
    for key in _TAG_FILTERS:
        value = request.param(key)
        if value:
            found[key] = {tag.strip() for tag in value.split(",") if tag.strip()}
    return found


def _tagged(request: APIRequest, rows: list[dict],
            wanted: dict[str, set[str]]) -> list[dict]:
    """The rows whose tags pass the tag filters (every row's tags in one query)."""
    db = request.api.compute_api.db
    tags = db.instance_tag_get_many([row["uuid"] for row in rows])
    kept = []
    for row in rows:
        have = set(tags.get(row["uuid"], []))
        if "tags" in wanted and not wanted["tags"] <= have:
            continue
        if "tags-any" in wanted and not wanted["tags-any"] & have:
            continue
        if "not-tags" in wanted and wanted["not-tags"] <= have:
            continue
        if "not-tags-any" in wanted and wanted["not-tags-any"] & have:
            continue
        kept.append(row)
    return kept


def _wanted(instance: dict, name_matches: Any, ip_matches: Any) -> bool:
    """Whether the server's name and one of its addresses match the regex filters."""
    if name_matches is not None and not name_matches(instance.get("display_name")):
        return False
    return ip_matches is None or any(
        ip_matches(entry.get("addr") or "")
        for entries in addresses_for(instance).values() for entry in entries)


def _cut_page(rows: list[dict], limit: int | None, marker: str | None) -> list[dict]:
    """The page of ``rows`` after ``marker`` (a uuid among them; 400 when it is not, as
    the database answers) holding at most ``limit`` rows."""
    if marker is not None:
        position = next((n for n, row in enumerate(rows) if row["uuid"] == marker), None)
        if position is None:
            raise faults.BadRequest(f"Marker {marker} could not be found.")
        rows = rows[position + 1:]
    return rows if limit is None else rows[:limit]


def index(request: APIRequest) -> Reply:
    """``GET /servers``: id, name and links of the caller's servers."""
    return _list(request, is_detail=False)


def detail(request: APIRequest) -> Reply:
    """``GET /servers/detail``: the full view of the caller's servers."""
    return _list(request, is_detail=True)


def show(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}``."""
    instance = get_instance(request, server_id)
    return Reply(200, {"server": show_view(request, instance)})


# -- create ----------------------------------------------------------------------------
def _parse_networks(request: APIRequest, server: dict) -> Any:
    if "networks" not in server:
        if request.version.matches("2.37"):
            raise faults.BadRequest(
                "Invalid input for field/attribute server. 'networks' is a required property")
        return "auto"
    networks = server["networks"]
    if isinstance(networks, str):
        if networks in ("auto", "none"):
            if request.version.matches("2.37"):
                return networks
            raise common.invalid_field(
                "networks", networks, f"'networks': {networks!r} needs microversion 2.37 "
                "or later (send OpenStack-API-Version: compute 2.37); below it, give a "
                "list of networks")
        raise common.invalid_field(
            "networks", networks, f"{networks!r} is not one of ['auto', 'none'] "
            "or a list of networks")
    if not isinstance(networks, list):
        raise common.invalid_field(
            "networks", networks, f"{networks!r} is not of type 'array', 'string'")
    requested = []
    for item in networks:
        if not isinstance(item, dict):
            raise common.invalid_field("networks", item, f"{item!r} is not of type 'object'")
        unknown = set(item) - _NETWORK_KEYS
        if unknown:
            raise common.invalid_field(
                "networks", item,
                f"Additional properties are not allowed ({', '.join(map(repr, sorted(unknown)))}"
                " were unexpected)")
        if "port" in item and item["port"] is not None:
            raise faults.BadRequest("Ports are not supported by the simulator's network "
                                    "service: request networks by uuid.")
        net_id = item.get("uuid")
        if not isinstance(net_id, str) or not common.is_uuid_like(net_id):
            raise faults.BadRequest(f"Bad networks format: network uuid is not in proper "
                                    f"format ({net_id!r})")
        net_id = common.normalize_uuid(net_id)
        if net_id not in NETWORKS_BY_ID:
            raise faults.BadRequest(f"Network {net_id} could not be found.")
        fixed_ip = item.get("fixed_ip")
        if fixed_ip is not None and not isinstance(fixed_ip, str):
            raise common.invalid_field("fixed_ip", fixed_ip, "is not a valid IP address")
        requested.append({"uuid": net_id, "fixed_ip": fixed_ip})
    return requested


def _parse_metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise common.invalid_field("metadata", value, f"{value!r} is not of type 'object'")
    for key, item in value.items():
        if not key or len(key) > 255:
            raise common.invalid_field(
                "metadata", key, "Metadata keys must be 1 to 255 characters long")
        if not isinstance(item, str):
            raise common.invalid_field("metadata", item, f"{item!r} is not of type 'string'")
        if len(item) > 255:
            raise common.invalid_field(
                "metadata", item, "Metadata values must be at most 255 characters long")
    return dict(value)


def _check_bdms(value: Any) -> list:
    if not isinstance(value, list):
        raise common.invalid_field(
            "block_device_mapping_v2", value, f"{value!r} is not of type 'array'")
    for item in value:
        if not isinstance(item, dict):
            raise common.invalid_field(
                "block_device_mapping_v2", item, f"{item!r} is not of type 'object'")
        unknown = set(item) - _BDM_KEYS
        if unknown:
            raise common.invalid_field(
                "block_device_mapping_v2", item,
                f"Additional properties are not allowed ({', '.join(map(repr, sorted(unknown)))}"
                " were unexpected)")
    return value


def _create_name(server: dict) -> str:
    """The new server's ``name`` (required; 400 when missing or malformed)."""
    if "name" not in server:
        raise faults.BadRequest(
            "Invalid input for field/attribute server. 'name' is a required property")
    name = common.check_string("name", server["name"], min_length=1, max_length=255)
    if not _NAME_RE.match(name):
        raise common.invalid_field(
            "name", name, "The name must not start or end with a space nor hold control "
            "characters")
    return name


def _create_flavor_id(server: dict) -> str:
    """The flavor id of ``flavorRef`` (an id or a link; 400 when missing or malformed)."""
    if "flavorRef" not in server:
        raise faults.BadRequest(
            "Invalid input for field/attribute server. 'flavorRef' is a required property")
    flavor_ref = server["flavorRef"]
    if isinstance(flavor_ref, bool) or not isinstance(flavor_ref, (str, int)):
        raise common.invalid_field(
            "flavorRef", flavor_ref, f"{flavor_ref!r} is not of type 'string', 'integer'")
    flavor_id = str(flavor_ref).rstrip("/").rsplit("/", 1)[-1]
    if not flavor_id:
        raise faults.BadRequest("Invalid flavorRef provided.")
    return flavor_id


def _create_image_ref(server: dict) -> str:
    """The image uuid of ``imageRef`` (an id or a link), else of the boot image of
    ``block_device_mapping_v2``; 400 when there is none or it is not a uuid."""
    image_ref = server.get("imageRef", "")
    if not isinstance(image_ref, str):
        raise common.invalid_field(
            "imageRef", image_ref, f"{image_ref!r} is not of type 'string'")
    image_ref = image_ref.rstrip("/").rsplit("/", 1)[-1]
    bdms = _check_bdms(server.get("block_device_mapping_v2", []))
    if not image_ref:
        image_ref = next((b.get("uuid") for b in bdms
                          if b.get("source_type") == "image" and b.get("boot_index") in (0, "0")
                          and isinstance(b.get("uuid"), str)), "")
        if not image_ref:
            raise faults.BadRequest("Invalid input for field/attribute imageRef: an image is "
                                    "required (nova-sim boots from an image; volumes are "
                                    "attached beside it).")
    if not common.is_uuid_like(image_ref):
        raise faults.BadRequest(f"Invalid imageRef provided: {image_ref[:100]!r}.")
    return image_ref


def _create_tags(request: APIRequest, server: dict) -> list[str]:
    """``tags`` of a create (2.52; an unknown property before): at most 50 tags of 1 to
    60 characters without ``/`` or ``,``."""
    if "tags" not in server:
        return []
    if not request.version.matches("2.52"):
        raise faults.BadRequest("Invalid input for field/attribute server. Additional "
                                "properties are not allowed ('tags' was unexpected)")
    tags = server["tags"]
    if not isinstance(tags, list) or len(tags) > 50 or not all(
            isinstance(t, str) and 1 <= len(t) <= 60 and "/" not in t and "," not in t
            for t in tags):
        raise common.invalid_field("tags", tags, "must be a list of at most 50 tags of 1 to "
                                   "60 characters without '/' or ','")
    return list(tags)


def _scheduler_hints(body: Any) -> dict[str, Any]:
    """The scheduler hints beside ``server`` (``os:scheduler_hints`` or
    ``OS-SCH-HNT:scheduler_hints``; 400 when not an object)."""
    hints: dict[str, Any] = {}
    if isinstance(body, dict):
        for key in ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints"):
            if key in body:
                if not isinstance(body[key], dict):
                    raise common.invalid_field(key, body[key], "is not of type 'object'")
                hints.update(body[key])
    return hints


def create(request: APIRequest) -> Reply:
    """``POST /servers``: validate, ask the compute API to build, answer 202.

    The reply holds the new server's id, links, adminPass, security_groups and
    OS-DCF:diskConfig, with a ``Location`` header, as in Nova.
    """
    body = request.json_body()
    server = common.require_dict(body, "server")
    unknown = set(server) - _CREATE_KEYS
    if unknown:
        raise faults.BadRequest(
            "Invalid input for field/attribute server. Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    name = _create_name(server)
    flavor_id = _create_flavor_id(server)
    image_ref = _create_image_ref(server)
    networks = _parse_networks(request, server)
    min_count, max_count = _create_counts(request, server)
    metadata = _parse_metadata(server.get("metadata", {}))
    quota = request.api.compute_api.quota_api.limits(request.context.project_id,
                                                     request.context.user_id)
    _check_metadata_quota(request, metadata, quota)
    destination = _requested_destination(request, server)
    for key, min_length in (("availability_zone", 1), ("description", 0), ("key_name", 1)):
        if server.get(key) is not None:
            common.check_string(key, server[key], min_length=min_length)
    availability_zone = server.get("availability_zone")
    description = server.get("description")
    key_name = server.get("key_name")
    hints = _scheduler_hints(body)
    tags = _create_tags(request, server)
    max_count = _check_quota(request, flavor_id, min_count, max_count, quota)
    kwargs: dict[str, Any] = dict(
        flavor_id=flavor_id,
        image_ref=common.normalize_uuid(image_ref),
        name=name,
        min_count=min_count,
        max_count=max_count,
        metadata=metadata,
        availability_zone=availability_zone,
        networks=networks,
    )
    optional = {"description": description, "key_name": key_name,
                "scheduler_hints": hints or None,
                # Asked between creation steps: a client gone cancels a large create.
                "client_gone": request.webob.environ.get("nova_sim.client_gone")}
    optional.update(_optional_fields(server))
    _check_security_groups(request, optional.get("security_groups"))
    volumes = _boot_volumes(request, server, max_count)
    optional.update(destination)
    instances = _call_create(request, kwargs, optional)
    if not instances:
        raise faults.Fault("The compute service created no instance.")
    if tags:
        for instance in instances:
            request.api.compute_api.db.instance_tag_set(instance["uuid"], tags)
    for found, item in volumes:
        volume.attach(request, found, instances[0], item["device"],
                      item["delete_on_termination"])
    first = instances[0]
    uuid = first["uuid"]
    if server.get("return_reservation_id"):
        return Reply(202, {"reservation_id": first.get("reservation_id") or ""})
    reply = {
        "id": uuid,
        "links": common.links(request.base_url, "servers", uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
    }
    admin_pass = server.get("adminPass")
    reply["adminPass"] = admin_pass if isinstance(admin_pass, str) else (
        first.get("admin_pass") or _admin_pass(uuid))
    location = f"{request.base_url}/v2.1/servers/{uuid}"
    return Reply(202, {"server": reply}, [("Location", location)])


def _boot_volumes(request: APIRequest, server: dict,
                  max_count: int) -> list[tuple[dict, dict[str, Any]]]:
    """The volumes ``block_device_mapping_v2`` attaches (``source_type`` and
    ``destination_type`` ``volume``), each with its device (``/dev/vda`` for boot index
    0) and ``delete_on_termination``: 400 for an unknown volume or one that is not
    ``available``, or for several servers at once."""
    wanted = [b for b in _check_bdms(server.get("block_device_mapping_v2", []))
              if b.get("source_type") == "volume" and b.get("destination_type",
                                                             "volume") == "volume"]
    if not wanted:
        return []
    if max_count > 1:
        raise faults.BadRequest("Block Device Mapping is Invalid: a volume cannot be "
                                "attached to several servers at once.")
    found = []
    devices = iter(f"/dev/vd{letter}" for letter in "bcdefghijklmnopqrstuvwxyz")
    for item in wanted:
        volume_id = item.get("uuid") or item.get("volume_id")
        try:
            row = volume.get_volume(request, str(volume_id))
        except exception.VolumeNotFound:
            raise faults.BadRequest(f"Block Device Mapping is Invalid: failed to get volume "
                                    f"{volume_id}.")
        if row["status"] != "available":
            raise faults.BadRequest(f"Invalid volume: volume '{volume_id}' status must be "
                                    f"'available'. Currently in '{row['status']}'")
        boot = item.get("boot_index") in (0, "0")
        found.append((row, {"device": "/dev/vda" if boot else next(devices),
                            "delete_on_termination": common.bool_from_string(
                                item.get("delete_on_termination", False))}))
    return found


def _optional_fields(server: dict) -> dict[str, Any]:
    """The other create fields the compute API records, checked (400 when malformed)."""
    fields: dict[str, Any] = {}
    for key, name in (("user_data", "user_data"), ("adminPass", "admin_password"),
                      ("hostname", "hostname")):
        if server.get(key) is not None:
            fields[name] = common.check_string(key, server[key], max_length=65535)
    fields.update(_access_ips(server))
    if server.get("config_drive") is not None:
        value = server["config_drive"]
        if not isinstance(value, (bool, str)):
            raise common.invalid_field("config_drive", value, "is not of type 'boolean'")
        fields["config_drive"] = common.bool_from_string(value)
    groups = server.get("security_groups")
    if groups is not None:
        if not isinstance(groups, list) or not all(
                isinstance(g, dict) and isinstance(g.get("name"), str) for g in groups):
            raise common.invalid_field("security_groups", groups,
                                       "must be a list of {'name': <string>}")
        fields["security_groups"] = [g["name"] for g in groups]
    return fields


def _check_security_groups(request: APIRequest, names: list[str] | None) -> None:
    """400 (Nova's words) unless every group named (by name or id) is one of the project's
    security groups (``nova_sim.api.security_groups``)."""
    if not names:
        return
    groups = request.api.compute_api.db.security_group_get_all(request.context.project_id)
    known = {g["name"] for g in groups} | {g["uuid"] for g in groups}
    for name in names:
        if name not in known:
            raise faults.BadRequest(f"Security group {name} not found for project "
                                    f"{request.context.project_id}.")


def _access_ips(server: dict) -> dict[str, str]:
    """``accessIPv4`` / ``accessIPv6`` as the database keeps them: 400 unless an IPv4 /
    IPv6 address (an empty string clears it); IPv6 in its compressed form, as Nova
    normalizes it."""
    fields = {}
    for key, name, kind in (("accessIPv4", "access_ip_v4", ipaddress.IPv4Address),
                            ("accessIPv6", "access_ip_v6", ipaddress.IPv6Address)):
        value = server.get(key)
        if value is None:
            continue
        common.check_string(key, value)
        if value == "":
            fields[name] = ""
            continue
        try:
            fields[name] = kind(value).compressed
        except ValueError:
            raise common.invalid_field(key, value, f"{value!r} is not a '{key[-2:].lower()}'")
    return fields


def _create_counts(request: APIRequest, server: dict) -> tuple[int, int]:
    """``min_count`` and ``max_count``: positive integers, min <= max, and both at most
    ``[api] max_servers_per_request`` (400 otherwise, in the words of a schema maximum)."""
    min_count = common.check_positive_int("min_count", server.get("min_count", 1))
    max_count = common.check_positive_int("max_count", server.get("max_count", min_count))
    bound = request.api.conf.api.max_servers_per_request
    for name, count in (("min_count", min_count), ("max_count", max_count)):
        if count > bound:
            raise common.invalid_field(name, count, f"{count} is greater than the maximum "
                                                    f"of {bound}")
    if min_count > max_count:
        raise faults.BadRequest("min_count must be <= max_count")
    return min_count, max_count


def _check_metadata_quota(request: APIRequest, metadata: dict,
                          quota: dict[str, int]) -> None:
    """403 when ``metadata`` holds more items than ``[quota] metadata_items`` (the
    ``maxServerMeta`` of ``GET /limits``), in Nova's words."""
    allowed = quota["metadata_items"]
    if 0 <= allowed < len(metadata):
        raise faults.Forbidden(f"Quota exceeded for metadata_items: Maximum number of "
                               f"metadata items exceeds {allowed}")


def _requested_destination(request: APIRequest, server: dict) -> dict[str, Any]:
    """``host`` / ``hypervisor_hostname`` (2.74): only below 2.74 an unknown property
    (400); admin only (403, Nova's ``compute:servers:create:requested_destination``
    policy); strings of 1-255 characters. The compute API checks that they exist."""
    given = {key: server[key] for key in ("host", "hypervisor_hostname") if key in server}
    if not given:
        return {}
    if not request.version.matches("2.74"):
        raise faults.BadRequest(
            "Invalid input for field/attribute server. Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(given)))} were unexpected)")
    request.require_admin("compute:servers:create:requested_destination")
    return {"requested_" + key: common.check_string(key, value, min_length=1)
            for key, value in given.items()}


def _check_quota(request: APIRequest, flavor_id: str, min_count: int, max_count: int,
                 quota: dict[str, int]) -> int:
    """Nova's instance quota (``[quota] instances``, ``cores``, ``ram``; -1 unlimited).

    Returns how many instances may be built (at most ``max_count``); 403 when not even
    ``min_count`` fit. Counts the project's live instances in the database.
    """
    compute_api = request.api.compute_api
    try:
        flavor = compute_api.flavor_get(request.context, flavor_id)
    except exception.FlavorNotFound as error:
        raise faults.BadRequest(error.format_message())
    project_id = request.context.project_id
    rows = None
    allowed = max_count
    for resource, limit, per_instance in (
            ("instances", quota["instances"], 1),
            ("cores", quota["cores"], flavor.get("vcpus") or 0),
            ("ram", quota["ram"], flavor.get("memory_mb") or 0)):
        if limit < 0 or per_instance <= 0:
            continue
        if rows is None:
            rows = compute_api.get_all(request.context, search_opts={"project_id": project_id})
        if resource == "instances":
            used = len(rows)
        else:
            column = "vcpus" if resource == "cores" else "memory_mb"
            used = sum(int(r.get(column) or 0) for r in rows)
        fits = max(0, (limit - used) // per_instance)
        if fits < min_count:
            raise faults.Forbidden(
                f"Quota exceeded for {resource}: Requested {min_count * per_instance}, but "
                f"already used {used} of {limit} {resource}")
        allowed = min(allowed, fits)
    return allowed


def _call_create(request: APIRequest, kwargs: dict, optional: dict) -> list[dict]:
    """Call ``compute_api.create`` with the optional keywords that were given; a missing
    flavor, image, network or key pair is the client's error (400)."""
    kwargs.update((key, value) for key, value in optional.items() if value is not None)
    try:
        return request.api.compute_api.create(request.context, **kwargs)
    except (exception.FlavorNotFound, exception.ImageNotFound, exception.NetworkNotFound,
            exception.ComputeHostNotFound) as e:
        raise faults.BadRequest(e.format_message())
    except exception.KeypairNotFound:
        raise faults.BadRequest("Invalid key_name provided.")


def _admin_pass(uuid: str) -> str:
    return hashlib.sha256(uuid.encode()).hexdigest()[:12]


# -- update / delete -------------------------------------------------------------------
def update(request: APIRequest, server_id: str) -> Reply:
    """``PUT /servers/{id}``: rename (``name``) or describe (``description``) a server."""
    body = request.json_body()
    server = common.require_dict(body, "server")
    allowed = {"name", "description", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
               "hostname"}
    unknown = set(server) - allowed
    if unknown:
        raise faults.BadRequest(
            "Invalid input for field/attribute server. Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    instance = get_instance(request, server_id)
    updates: dict[str, Any] = {}
    if "name" in server:
        name = common.check_string("name", server["name"], min_length=1, max_length=255)
        if not _NAME_RE.match(name):
            raise common.invalid_field("name", name, "The name must not start or end with a "
                                                     "space nor hold control characters")
        updates["display_name"] = name
    if "description" in server:
        updates["display_description"] = common.check_string(
            "description", server["description"], max_length=255, allow_none=True)
    updates.update(_access_ips(server))
    if updates:
        # A rename touches only the database row, as Nova's API does for these fields.
        request.api.compute_api.db.instance_update(instance["uuid"], updates)
        instance = get_instance(request, instance["uuid"])
    view = show_view(request, instance)
    if not request.version.matches("2.75"):
        view = _update_view(view)
    return Reply(200, {"server": view})


#: What Nova's answer to ``PUT /servers/{id}`` leaves out below 2.75.
_NOT_IN_UPDATE = ("OS-EXT-AZ:availability_zone", "config_drive", "key_name",
                  "security_groups", "os-extended-volumes:volumes_attached", "host_status",
                  "server_groups", "OS-EXT-SRV-ATTR:hostname")


def _update_view(view: dict) -> dict:
    """The server view of ``PUT /servers/{id}`` below 2.75: no extended attributes,
    status, usage, AZ, config drive, key name, security groups or volumes, and addresses
    without their type and MAC."""
    view = {key: value for key, value in view.items() if key not in _NOT_IN_UPDATE
            and not key.startswith(("OS-EXT-SRV-ATTR:", "OS-EXT-STS:", "OS-SRV-USG:"))}
    view["addresses"] = {
        label: [{"version": a.get("version"), "addr": a.get("addr")} for a in entries]
        for label, entries in (view.get("addresses") or {}).items()}
    return view


def delete(request: APIRequest, server_id: str) -> Reply:
    """``DELETE /servers/{id}``: 204; the instance goes on to DELETED asynchronously."""
    instance = get_instance(request, server_id)
    request.api.compute_api.delete(request.context, instance["uuid"])
    return Reply(204)
