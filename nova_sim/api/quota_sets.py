"""``/os-quota-sets`` and ``/os-quota-class-sets``: show and change quotas.

Owns Nova's quota resources. ``GET /os-quota-sets/{project}`` (one's own project, any for
an admin; ``?user_id=`` for a user's limits), ``.../defaults`` and ``.../detail``
(``{"limit", "in_use", "reserved"}`` per resource), ``PUT`` (admin: some limits, integers
or digit strings from -1; a limit under what is in use is a 400 unless ``force``) and
``DELETE`` (admin, 202: back to the defaults). ``GET`` and ``PUT
/os-quota-class-sets/{class}`` (admin; the class ``default`` is every project's
defaults). The resources shown follow the microversion: the network ones (``fixed_ips``,
``floating_ips``, ``security_groups``, ``security_group_rules``) go at 2.36 (2.50 for
quota classes, which gain ``server_groups`` and ``server_group_members`` there), the
``injected_file*`` ones at 2.57; changing one that is gone is a 400. Must not know about
RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.compute.quotas import INJECTED_RESOURCES, NETWORK_RESOURCES, RESOURCES

_GROUP_RESOURCES = ("server_groups", "server_group_members")


def register(router: Router, api) -> None:
    """Add the quota routes."""
    router.add("GET", "/os-quota-sets/{project_id}", show)
    router.add("PUT", "/os-quota-sets/{project_id}", update)
    router.add("DELETE", "/os-quota-sets/{project_id}", delete)
    router.add("GET", "/os-quota-sets/{project_id}/defaults", defaults)
    router.add("GET", "/os-quota-sets/{project_id}/detail", detail)
    router.add("GET", "/os-quota-class-sets/{class_name}", show_class)
    router.add("PUT", "/os-quota-class-sets/{class_name}", update_class)


def _resources(request: APIRequest, classes: bool = False) -> tuple[str, ...]:
    version = request.version
    names = list(RESOURCES)
    if classes and not version.matches("2.50"):
        names = [n for n in names if n not in _GROUP_RESOURCES]
    if not version.matches("2.50" if classes else "2.36"):
        names += list(NETWORK_RESOURCES)
    if not version.matches("2.57"):
        names += list(INJECTED_RESOURCES)
    return tuple(names)


def _quota_api(request: APIRequest) -> Any:
    return request.api.compute_api.quota_api


def _view(request: APIRequest, limits: dict[str, int], classes: bool = False) -> dict:
    return {name: limits[name] for name in _resources(request, classes)}


def _check_project(request: APIRequest, project_id: str, action: str) -> None:
    if project_id != request.context.project_id:
        request.require_admin(f"os_compute_api:os-quota-sets:{action}")


def show(request: APIRequest, project_id: str) -> Reply:
    """``GET /os-quota-sets/{project}[?user_id=]``."""
    _check_project(request, project_id, "show")
    limits = _quota_api(request).limits(project_id, request.param("user_id"))
    return Reply(200, {"quota_set": dict(_view(request, limits), id=project_id)})


def defaults(request: APIRequest, project_id: str) -> Reply:
    """``GET /os-quota-sets/{project}/defaults``."""
    return Reply(200, {"quota_set": dict(_view(request, _quota_api(request).defaults()),
                                         id=project_id)})


def _in_use(request: APIRequest, project_id: str, user_id: str | None) -> dict[str, int]:
    compute_api = request.api.compute_api
    servers = compute_api.get_all(request.context, filters={"project_id": project_id})
    used = {"instances": len(servers),
            "cores": sum(int(s.get("vcpus") or 0) for s in servers),
            "ram": sum(int(s.get("memory_mb") or 0) for s in servers)}
    groups = compute_api.server_group_list(request.context, all_projects=True)
    used["server_groups"] = sum(1 for g in groups if g.get("project_id") == project_id)
    used["key_pairs"] = len(compute_api.keypair_api.get_key_pairs(
        request.context, user_id or request.context.user_id))
    return used


def detail(request: APIRequest, project_id: str) -> Reply:
    """``GET /os-quota-sets/{project}/detail``: limit, in use and reserved."""
    _check_project(request, project_id, "detail")
    user_id = request.param("user_id")
    limits = _quota_api(request).limits(project_id, user_id)
    used = _in_use(request, project_id, user_id)
    body = {name: {"limit": limit, "in_use": used.get(name, 0), "reserved": 0}
            for name, limit in _view(request, limits).items()}
    return Reply(200, {"quota_set": dict(body, id=project_id)})


def _new_limits(request: APIRequest, body: Any, key: str, classes: bool) -> dict[str, int]:
    spec = common.require_dict(body, key)
    allowed = set(_resources(request, classes)) | ({"force"} if not classes else set())
    common.check_properties(spec, key, allowed)
    limits = {}
    for name, value in spec.items():
        if name == "force":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)) or (
                isinstance(value, str) and not value.lstrip("-").isdigit()):
            raise common.invalid_field(name, value, f"{value!r} is not an integer")
        number = int(value)
        if number < -1:
            raise common.invalid_field(name, value, f"{number} is less than the minimum "
                                       "of -1")
        limits[name] = number
    return limits


def update(request: APIRequest, project_id: str) -> Reply:
    """``PUT /os-quota-sets/{project}[?user_id=]`` (admin)."""
    request.require_admin("os_compute_api:os-quota-sets:update")
    body = request.json_body()
    limits = _new_limits(request, body, "quota_set", classes=False)
    force = common.bool_from_string(body["quota_set"].get("force", False))
    user_id = request.param("user_id")
    if not force:
        used = _in_use(request, project_id, user_id)
        for name, limit in limits.items():
            if 0 <= limit < used.get(name, 0):
                raise faults.BadRequest(
                    f"Quota limit {limit} for {name} must be greater than or equal to "
                    f"already used and reserved {used[name]}.")
    _quota_api(request).set_limits(project_id, limits, user_id)
    return Reply(200, {"quota_set": _view(request, _quota_api(request).limits(
        project_id, user_id))})


def delete(request: APIRequest, project_id: str) -> Reply:
    """``DELETE /os-quota-sets/{project}[?user_id=]`` (admin): 202, the defaults again."""
    request.require_admin("os_compute_api:os-quota-sets:delete")
    _quota_api(request).reset(project_id, request.param("user_id"))
    return Reply(202)


def show_class(request: APIRequest, class_name: str) -> Reply:
    """``GET /os-quota-class-sets/{class}`` (admin)."""
    request.require_admin("os_compute_api:os-quota-class-sets:show")
    limits = _quota_api(request).class_limits(class_name)
    return Reply(200, {"quota_class_set": dict(_view(request, limits, classes=True),
                                               id=class_name)})


def update_class(request: APIRequest, class_name: str) -> Reply:
    """``PUT /os-quota-class-sets/{class}`` (admin)."""
    request.require_admin("os_compute_api:os-quota-class-sets:update")
    common.check_string("class_name", class_name, min_length=1)
    limits = _new_limits(request, request.json_body(), "quota_class_set", classes=True)
    _quota_api(request).set_class_limits(class_name, limits)
    return Reply(200, {"quota_class_set": _view(
        request, _quota_api(request).class_limits(class_name), classes=True)})
