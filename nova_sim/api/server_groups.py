"""``/os-server-groups``: list, show, create and delete server groups.

Owns Nova's server group resource and its views per microversion: ``policies`` (a list of
one) and ``metadata`` (always empty) below 2.64, ``policy`` and ``rules`` from 2.64;
``project_id`` and ``user_id`` from 2.13. Policies are ``affinity`` and
``anti-affinity``, plus ``soft-affinity`` and ``soft-anti-affinity`` from 2.15; the rule
``max_server_per_host`` (2.64) is for ``anti-affinity`` only. Create answers 200, delete
204; ``[quota] server_groups`` per project is a 403 past it. The list takes
``all_projects`` (admins), ``limit`` and ``offset``. Another project's group is a 404
unless an admin asks. Members are the group's live servers; the scheduler's affinity
filters enforce the policy when a server is booted with the ``group`` hint. Must not
know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router

_POLICIES = ("affinity", "anti-affinity")
_SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")


def register(router: Router, api) -> None:
    """Add the ``/os-server-groups`` routes."""
    router.add("GET", "/os-server-groups", index)
    router.add("POST", "/os-server-groups", create)
    router.add("GET", "/os-server-groups/{group_id}", show)
    router.add("DELETE", "/os-server-groups/{group_id}", delete)


def _view(request: APIRequest, group: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group["uuid"], "name": group.get("name") or "",
                            "members": list(group.get("members") or [])}
    if request.version.matches("2.64"):
        view["policy"] = group["policy"]
        view["rules"] = dict(group.get("rules") or {})
    else:
        view["policies"] = [group["policy"]]
        view["metadata"] = {}
    if request.version.matches("2.13"):
        view["project_id"] = group.get("project_id")
        view["user_id"] = group.get("user_id")
    return view


def _get(request: APIRequest, group_id: str) -> dict[str, Any]:
    try:
        group = request.api.compute_api.server_group_get(request.context, group_id)
    except exception.ServerGroupNotFound as error:
        raise faults.NotFound(error.format_message())
    if not request.is_admin and group.get("project_id") != request.context.project_id:
        raise faults.NotFound(f"Instance group {group_id} could not be found.")
    return group


def index(request: APIRequest) -> Reply:
    """``GET /os-server-groups``: the project's groups (``all_projects`` for admins)."""
    all_projects = request.is_admin and common.bool_from_string(
        request.param("all_projects") or "false")
    groups = request.api.compute_api.server_group_list(request.context, all_projects)
    offset = request.param("offset")
    if offset is not None:
        start = common.check_non_negative_int("offset", offset)
        groups = groups[start:]
    if request.param("limit") is not None:
        groups = groups[:common.parse_limit(request.params, request.api.max_limit)]
    return Reply(200, {"server_groups": [_view(request, g) for g in groups]})


def show(request: APIRequest, group_id: str) -> Reply:
    """``GET /os-server-groups/{id}``."""
    return Reply(200, {"server_group": _view(request, _get(request, group_id))})


def delete(request: APIRequest, group_id: str) -> Reply:
    """``DELETE /os-server-groups/{id}``: 204."""
    _get(request, group_id)
    request.api.compute_api.server_group_delete(request.context, group_id)
    return Reply(204)


def _policy_and_rules(request: APIRequest, spec: dict[str, Any]) -> tuple[str, dict]:
    allowed = _POLICIES + (_SOFT_POLICIES if request.version.matches("2.15") else ())
    if request.version.matches("2.64"):
        common.check_properties(spec, "server_group", {"name", "policy", "rules"},
                                ("name", "policy"))
        policy = spec["policy"]
        rules = spec.get("rules", {})
        if not isinstance(rules, dict) or set(rules) - {"max_server_per_host"}:
            raise common.invalid_field("rules", rules, "only 'max_server_per_host' is "
                                       "allowed")
        if rules:
            if policy != "anti-affinity":
                raise faults.BadRequest("Only anti-affinity policy supports "
                                        "'max_server_per_host' rule.")
            rules = {"max_server_per_host": common.check_positive_int(
                "max_server_per_host", rules["max_server_per_host"])}
    else:
        common.check_properties(spec, "server_group", {"name", "policies"},
                                ("name", "policies"))
        policies = spec["policies"]
        if not isinstance(policies, list) or len(policies) != 1:
            raise common.invalid_field("policies", policies, "must be a list of one policy")
        policy, rules = policies[0], {}
    if policy not in allowed:
        raise common.invalid_field("policy", policy, f"{policy!r} is not one of "
                                   f"{list(allowed)}")
    return policy, rules


def create(request: APIRequest) -> Reply:
    """``POST /os-server-groups``: 200 with the new group; 403 past the quota."""
    spec = common.require_dict(request.json_body(), "server_group")
    policy, rules = _policy_and_rules(request, spec)
    name = common.check_string("name", spec["name"], min_length=1)
    if name != name.strip():
        raise common.invalid_field("name", name, "has leading or trailing spaces")
    compute_api = request.api.compute_api
    limit = compute_api.quota_api.limit(request.context.project_id, "server_groups")
    if limit >= 0 and len(compute_api.server_group_list(request.context)) >= limit:
        raise faults.Forbidden("Quota exceeded, too many server groups.")
    group = compute_api.server_group_create(request.context, name, policy, rules)
    return Reply(200, {"server_group": _view(request, group)})
