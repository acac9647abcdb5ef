"""``/flavors/{id}/os-flavor-access`` and the ``addTenantAccess`` / ``removeTenantAccess``
flavor actions: which projects may use a private flavor.

Owns Nova's flavor access resource (admin only): the list
(``{"flavor_access": [{"flavor_id", "tenant_id"}]}``; 404 "Access list not available for
public flavors."), ``POST /flavors/{id}/action`` with ``{"addTenantAccess": {"tenant":
p}}`` (200 with the list; 409 for a public flavor or a project that has access already)
and ``{"removeTenantAccess": {"tenant": p}}`` (200; 404 when the project had no access).
A project given access sees the private flavor in its lists and may boot it; other
non-admins get a 404 for it. Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.flavors_extraspecs import get_flavor

#: action -> Nova's policy name
_ACTIONS = {"addTenantAccess": "os_compute_api:os-flavor-access:add_tenant_access",
            "removeTenantAccess": "os_compute_api:os-flavor-access:remove_tenant_access"}


def register(router: Router, api) -> None:
    """Add the flavor access routes to the compute router."""
    router.add("GET", "/flavors/{flavor_id}/os-flavor-access", index)
    router.add("POST", "/flavors/{flavor_id}/action", action)


def _view(flavor_id: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavor_id, "tenant_id": project}
                              for project in projects]}


def index(request: APIRequest, flavor_id: str) -> Reply:
    """``GET /flavors/{id}/os-flavor-access`` (admin)."""
    request.require_admin("os_compute_api:os-flavor-access")
    flavor = get_flavor(request, flavor_id)
    if flavor.get("is_public", True):
        raise faults.NotFound("Access list not available for public flavors.")
    projects = request.api.compute_api.flavor_access_list(request.context, flavor_id)
    return Reply(200, _view(str(flavor["flavorid"]), projects))


def action(request: APIRequest, flavor_id: str) -> Reply:
    """``POST /flavors/{id}/action``: ``addTenantAccess`` or ``removeTenantAccess``."""
    body = request.json_body()
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in _ACTIONS:
        shown = ", ".join(body) if isinstance(body, dict) else body
        raise faults.BadRequest(f"There is no such action: {shown}")
    name = next(iter(body))
    request.require_admin(_ACTIONS[name])
    spec = common.require_dict(body, name)
    common.check_properties(spec, name, {"tenant"}, ("tenant",))
    project = common.check_string("tenant", spec["tenant"], min_length=1)
    flavor = get_flavor(request, flavor_id)
    compute_api = request.api.compute_api
    # FlavorAccessExists (409) and FlavorAccessNotFound (404) answer as they are.
    if name == "addTenantAccess":
        if flavor.get("is_public", True):
            raise faults.Conflict("Can not add access to a public flavor.")
        projects = compute_api.flavor_access_add(request.context, flavor_id, project)
    else:
        projects = compute_api.flavor_access_remove(request.context, flavor_id, project)
    return Reply(200, _view(str(flavor["flavorid"]), projects))
