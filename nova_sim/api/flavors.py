"""``/flavors``: list, detail and show (read-only), in Nova's shape per microversion.

Owns the flavor views (``swap`` is ``""`` below 2.75 when zero, ``description`` from 2.55,
``extra_specs`` from 2.61) and the ``is_public`` / ``minRam`` / ``minDisk`` /
``limit`` / ``marker`` query parameters. A flavor is looked up by its API id only: the
``openstack`` CLI asks ``/flavors/m1.tiny`` first, gets a 404, then looks the name up in
``/flavors/detail?is_public=None`` (as with real Nova). Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/flavors`` routes."""
    router.add("GET", "/flavors", index)
    router.add("GET", "/flavors/detail", detail)
    router.add("GET", "/flavors/{flavor_id}", show)
    router.add("GET", "/flavors/{flavor_id}/os-extra_specs", extra_specs)


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


def extra_specs(request: APIRequest, flavor_id: str) -> Reply:
    """``GET /flavors/{id}/os-extra_specs`` (``openstack flavor show`` asks for it)."""
    try:
        flavor = request.api.compute_api.flavor_get(request.context, flavor_id)
    except exception.FlavorNotFound:
        raise faults.NotFound(f"Flavor {flavor_id} could not be found.")
    return Reply(200, {"extra_specs": dict(flavor.get("extra_specs") or {})})
