"""``/flavors/{id}/os-extra_specs``: read, set and unset a flavor's extra specs.

Owns Nova's flavor extra specs resource: ``GET`` of all (``{"extra_specs": {...}}``) or of
one key (``{key: value}``) for anyone who may see the flavor; ``POST`` (merge; the body
back), ``PUT`` of one key (``{key: value}``: 400 "Request body and URI mismatch" or "Request
body contains too many items") and ``DELETE`` of one key (200, no body) for admins only (403 before
anything else, as Nova's policy check comes first). Keys are 1 to 255 letters, digits or
``-_:. /``; values strings (numbers and booleans are kept as given, at most 255
characters once written out). A missing key is a 404 ("Flavor 1 has no extra specs with
key k."). nova-sim does not validate the known keys (Nova does from 2.86). Must not know
about RPC.
"""

from __future__ import annotations

import re
from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_KEY_RE = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
_POLICY = "os_compute_api:os-flavor-extra-specs:"


def register(router: Router, api) -> None:
    """Add the extra specs routes to the compute router."""
    collection = "/flavors/{flavor_id}/os-extra_specs"
    router.add("GET", collection, index)
    router.add("POST", collection, create)
    router.add("GET", collection + "/{key}", show)
    router.add("PUT", collection + "/{key}", update)
    router.add("DELETE", collection + "/{key}", delete)


def get_flavor(request: APIRequest, flavor_id: str) -> dict[str, Any]:
    """The flavor as the caller may see it; 404 otherwise."""
    try:
        return request.api.compute_api.flavor_get(request.context, flavor_id)
    except exception.FlavorNotFound as error:
        raise faults.NotFound(error.format_message())


def _specs(flavor: dict[str, Any]) -> dict[str, Any]:
    return dict(flavor.get("extra_specs") or {})


def _check_specs(specs: Any) -> dict[str, Any]:
    if not isinstance(specs, dict):
        raise common.invalid_field("extra_specs", specs, "is not of type 'object'")
    for key, value in specs.items():
        if not _KEY_RE.match(key):
            raise common.invalid_field("extra_specs", key, f"{key!r} does not match "
                                       "'^[a-zA-Z0-9-_:. /]{1,255}$'")
        if isinstance(value, str):
            text = value
        elif isinstance(value, (bool, int, float)):
            text = str(value)
        else:
            raise common.invalid_field(key, value, f"{value!r} is not of type 'string', "
                                       "'number', 'boolean'")
        if len(text) > 255:
            raise common.invalid_field(key, value, "is longer than 255 characters")
    return specs


def _write(request: APIRequest, flavor: dict[str, Any], specs: dict[str, Any]) -> None:
    request.api.compute_api.flavor_update(
        request.context, str(flavor["flavorid"]), {"extra_specs": specs})


def index(request: APIRequest, flavor_id: str) -> Reply:
    """``GET /flavors/{id}/os-extra_specs``."""
    return Reply(200, {"extra_specs": _specs(get_flavor(request, flavor_id))})


def create(request: APIRequest, flavor_id: str) -> Reply:
    """``POST /flavors/{id}/os-extra_specs`` (admin): merge; the given specs back."""
    request.require_admin(_POLICY + "create")
    body = request.json_body()
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise faults.BadRequest("Invalid input for field/attribute extra_specs. "
                                "'extra_specs' is a required property")
    specs = _check_specs(body["extra_specs"])
    flavor = get_flavor(request, flavor_id)
    _write(request, flavor, {**_specs(flavor), **specs})
    return Reply(200, {"extra_specs": specs})


def show(request: APIRequest, flavor_id: str, key: str) -> Reply:
    """``GET /flavors/{id}/os-extra_specs/{key}``."""
    specs = _specs(get_flavor(request, flavor_id))
    if key not in specs:
        raise faults.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return Reply(200, {key: specs[key]})


def update(request: APIRequest, flavor_id: str, key: str) -> Reply:
    """``PUT /flavors/{id}/os-extra_specs/{key}`` (admin): set one key."""
    request.require_admin(_POLICY + "update")
    specs = _check_specs(request.json_body())
    if key not in specs:
        raise faults.BadRequest("Request body and URI mismatch")
    if len(specs) > 1:
        raise faults.BadRequest("Request body contains too many items")
    flavor = get_flavor(request, flavor_id)
    _write(request, flavor, {**_specs(flavor), **specs})
    return Reply(200, specs)


def delete(request: APIRequest, flavor_id: str, key: str) -> Reply:
    """``DELETE /flavors/{id}/os-extra_specs/{key}`` (admin): 200 with no body."""
    request.require_admin(_POLICY + "delete")
    flavor = get_flavor(request, flavor_id)
    specs = _specs(flavor)
    if key not in specs:
        raise faults.NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    del specs[key]
    _write(request, flavor, specs)
    return Reply(200)
