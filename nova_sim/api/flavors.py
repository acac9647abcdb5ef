"""``/flavors``: list, detail, show, create and delete, in Nova's shape per microversion.

Owns the flavor views (``swap`` is ``""`` below 2.75 when zero, ``description`` from 2.55,
``extra_specs`` from 2.61) and the ``is_public`` / ``minRam`` / ``minDisk`` /
``limit`` / ``marker`` query parameters. A flavor is looked up by its API id only: the
``openstack`` CLI asks ``/flavors/m1.tiny`` first, gets a 404, then looks the name up in
``/flavors/detail?is_public=None`` (as with real Nova). Create (``POST /flavors``, 200)
and delete (``DELETE /flavors/{id}``, 202) are admin-only, with Nova's input checks and its
409 on a taken name or id; so is the description update (``PUT /flavors/{id}``, 2.55).
Extra specs are ``nova_sim.api.flavors_extraspecs``', flavor access
``nova_sim.api.flavor_access``'. Must not know about RPC.
"""

from __future__ import annotations

import re
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/flavors`` routes."""
    router.add("GET", "/flavors", index)
    router.add("GET", "/flavors/detail", detail)
    router.add("GET", "/flavors/{flavor_id}", show)
    router.add("POST", "/flavors", create)
    router.add("DELETE", "/flavors/{flavor_id}", delete)
    router.add("PUT", "/flavors/{flavor_id}", update)


def _basic_view(request: APIRequest, flavor: dict[str, Any]) -> dict[str, Any]:
    flavor_id = str(flavor["flavorid"])
    view = {
        "id": flavor_id,
        "name": flavor["name"],
        "links": [
            {"rel": "self", "href": f"{request.base_url}/v2.1/flavors/{flavor_id}"},
            {"rel": "bookmark", "href": f"{request.base_url}/flavors/{flavor_id}"},
        ],
    }
    if request.version.matches("2.55"):
        view["description"] = flavor.get("description")
    return view


def detail_view(request: APIRequest, flavor: dict[str, Any]) -> dict[str, Any]:
    """The full flavor object for the request's microversion."""
    view = _basic_view(request, flavor)
    swap = int(flavor.get("swap") or 0)
    view.update({
        "ram": int(flavor.get("memory_mb") or 0),
        "disk": int(flavor.get("root_gb") or 0),
        "vcpus": int(flavor.get("vcpus") or 0),
        "swap": swap if (swap or request.version.matches("2.75")) else "",
        "OS-FLV-EXT-DATA:ephemeral": int(flavor.get("ephemeral_gb") or 0),
        "OS-FLV-DISABLED:disabled": bool(flavor.get("disabled")),
        "os-flavor-access:is_public": bool(flavor.get("is_public", True)),
        "rxtx_factor": float(flavor.get("rxtx_factor") or 1.0),
    })
    if request.version.matches("2.61"):
        view["extra_specs"] = dict(flavor.get("extra_specs") or {})
    return view


def _is_public_filter(request: APIRequest) -> bool | None:
    raw = request.param("is_public")
    if not request.is_admin:
        return True
    if raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    value = raw.strip().lower()
    if value in ("1", "t", "true", "on", "y", "yes"):
        return True
    if value in ("0", "f", "false", "off", "n", "no"):
        return False
    raise faults.BadRequest(f"Invalid is_public filter [{raw}]")


def _int_param(request: APIRequest, name: str) -> int | None:
    raw = request.param(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise faults.BadRequest(f"Invalid {name} filter [{raw}]")


def _flavors(request: APIRequest) -> tuple[list[dict], bool]:
    is_public = _is_public_filter(request)
    flavors = request.api.compute_api.flavor_list(request.context, is_public=is_public)
    min_ram = _int_param(request, "minRam")
    min_disk = _int_param(request, "minDisk")
    if min_ram is not None:
        flavors = [f for f in flavors if int(f.get("memory_mb") or 0) >= min_ram]
    if min_disk is not None:
        flavors = [f for f in flavors if int(f.get("root_gb") or 0) >= min_disk]
    flavors = [f for f in flavors if not f.get("disabled")]
    return common.paginate(flavors, request.params, request.api.max_limit, key="flavorid")


def _links(request: APIRequest, collection: str, page: list[dict]) -> list:
    return common.next_link(request.base_url, collection, request.params,
                            str(page[-1]["flavorid"]))


def index(request: APIRequest) -> Reply:
    """``GET /flavors``: id, name and links of each flavor."""
    page, full = _flavors(request)
    body: dict[str, Any] = {"flavors": [_basic_view(request, f) for f in page]}
    if full and request.param("limit") is not None:
        body["flavors_links"] = _links(request, "flavors", page)
    return Reply(200, body)


def detail(request: APIRequest) -> Reply:
    """``GET /flavors/detail``: the full view of each flavor."""
    page, full = _flavors(request)
    body: dict[str, Any] = {"flavors": [detail_view(request, f) for f in page]}
    if full and request.param("limit") is not None:
        body["flavors_links"] = _links(request, "flavors/detail", page)
    return Reply(200, body)


def show(request: APIRequest, flavor_id: str) -> Reply:
    """``GET /flavors/{id}``: by API id; 404 for anything else (names included)."""
    try:
        flavor = request.api.compute_api.flavor_get(request.context, flavor_id)
    except exception.FlavorNotFound:
        raise faults.NotFound(f"Flavor {flavor_id} could not be found.")
    return Reply(200, {"flavor": detail_view(request, flavor)})


_ID_RE = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")
# body field -> (database column, smallest value)
_INT_FIELDS = {"ram": ("memory_mb", 1), "vcpus": ("vcpus", 1), "disk": ("root_gb", 0),
               "OS-FLV-EXT-DATA:ephemeral": ("ephemeral_gb", 0), "swap": ("swap", 0)}
_REQUIRED = ("name", "ram", "vcpus", "disk")


def _int_field(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise common.invalid_field(name, value, f"{value!r} is not of type 'integer', "
                                                "'string'")
    try:
        number = int(value)
    except ValueError:
        raise common.invalid_field(name, value, f"{value!r} does not match '^[0-9]+$'")
    if number < minimum or number > 2147483647:
        raise common.invalid_field(name, value, f"{value!r} is less than the minimum of "
                                                f"{minimum}" if number < minimum else
                                   f"{value!r} is greater than the maximum of 2147483647")
    return number


def _flavor_values(request: APIRequest, spec: dict[str, Any]) -> dict[str, Any]:
    allowed = set(_INT_FIELDS) | {"name", "id", "rxtx_factor", "os-flavor-access:is_public"}
    if request.version.matches("2.55"):
        allowed.add("description")
    common.check_properties(spec, "flavor", allowed, _REQUIRED)
    name = spec["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or \
            name != name.strip():
        raise common.invalid_field("name", name, "Names must be 1 to 255 characters long "
                                   "with no leading or trailing spaces")
    values: dict[str, Any] = {"name": name}
    flavor_id = spec.get("id")
    if isinstance(flavor_id, (int, float)) and not isinstance(flavor_id, bool):
        flavor_id = str(flavor_id)  # Nova's schema takes a number and stores its text
    if flavor_id is not None:
        if not isinstance(flavor_id, str) or len(flavor_id) > 255 or \
                not _ID_RE.match(flavor_id):
            raise common.invalid_field("id", flavor_id, "Flavor ids are 1 to 255 letters, "
                                       "digits, '.', ' ', '_' or '-'")
        values["flavorid"] = flavor_id
    for field, (column, minimum) in _INT_FIELDS.items():
        if field in spec:
            values[column] = _int_field(field, spec[field], minimum)
    values.update(_optional_values(spec))
    return values


def _optional_values(spec: dict[str, Any]) -> dict[str, Any]:
    """The database values of ``rxtx_factor``, ``is_public`` and ``description``."""
    values: dict[str, Any] = {}
    if "rxtx_factor" in spec:
        factor = spec["rxtx_factor"]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor <= 0:
            raise common.invalid_field("rxtx_factor", factor, "must be a number above 0")
        values["rxtx_factor"] = float(factor)
    if "os-flavor-access:is_public" in spec:
        public = spec["os-flavor-access:is_public"]
        values["is_public"] = common.schema_boolean("os-flavor-access:is_public", public)
    if "description" in spec:
        description = spec["description"]
        if description is not None and (not isinstance(description, str)
                                        or len(description) > 65535):
            raise common.invalid_field("description", description,
                                       "must be a string of at most 65535 characters")
        values["description"] = description
    return values


def create(request: APIRequest) -> Reply:
    """``POST /flavors`` (admin): 200 with the new flavor; 409 for a taken name or id."""
    request.require_admin("os_compute_api:os-flavor-manage:create")
    spec = common.require_dict(request.json_body(), "flavor")
    values = _flavor_values(request, spec)
    try:
        flavor = request.api.compute_api.flavor_create(request.context, values)
    except exception.FlavorExists:
        if "flavorid" in values and any(
                str(f["flavorid"]) == values["flavorid"]
                for f in request.api.compute_api.flavor_list(request.context, None)):
            raise faults.Conflict(f"Flavor with ID {values['flavorid']} already exists.")
        raise faults.Conflict(f"Flavor with name {values['name']} already exists.")
    return Reply(200, {"flavor": detail_view(request, flavor)})


def delete(request: APIRequest, flavor_id: str) -> Reply:
    """``DELETE /flavors/{id}`` (admin): 202; 404 when there is none."""
    request.require_admin("os_compute_api:os-flavor-manage:delete")
    try:
        request.api.compute_api.flavor_delete(request.context, flavor_id)
    except exception.FlavorNotFound:
        raise faults.NotFound(f"Flavor {flavor_id} could not be found.")
    return Reply(202)


def update(request: APIRequest, flavor_id: str) -> Reply:
    """``PUT /flavors/{id}`` (2.55, admin): change the description; 200 with the flavor.
    Below 2.55 there is no such route (404)."""
    if not request.version.matches("2.55"):
        raise faults.NotFound()
    request.require_admin("os_compute_api:os-flavor-manage:update")
    spec = common.require_dict(request.json_body(), "flavor")
    common.check_properties(spec, "flavor", {"description"}, ("description",))
    values = _optional_values(spec)
    try:
        flavor = request.api.compute_api.flavor_update(request.context, flavor_id, values)
    except exception.FlavorNotFound:
        raise faults.NotFound(f"Flavor {flavor_id} could not be found.")
    return Reply(200, {"flavor": detail_view(request, flavor)})
