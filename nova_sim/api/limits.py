"""``/limits`` (the caller's absolute limits and usage) and ``/os-aggregates`` (none).

Owns the two small read-only resources ``openstack limits show`` and ``openstack hypervisor
show`` ask for: ``/limits`` reports ``[quota] instances``, ``cores`` and ``ram`` (-1:
unlimited) with the project's usage counted from its live servers; nova-sim has no host
aggregates, so ``/os-aggregates`` (admin) is an empty list. Must not know about RPC.
"""

from __future__ import annotations

from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/limits`` and ``/os-aggregates`` routes."""
    router.add("GET", "/limits", limits)
    router.add("GET", "/os-aggregates", aggregates)


def limits(request: APIRequest) -> Reply:
    """``GET /limits``: absolute limits and what the caller's project uses."""
    quota = request.api.conf.quota
    servers = request.api.compute_api.get_all(
        request.context, search_opts={"project_id": request.context.project_id})
    absolute = {
        "maxTotalInstances": quota.instances,
        "maxTotalCores": quota.cores,
        "maxTotalRAMSize": quota.ram,
        "maxServerMeta": quota.metadata_items,
        "maxImageMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxTotalKeypairs": quota.key_pairs,
        "maxServerGroups": quota.server_groups,
        "maxServerGroupMembers": quota.server_group_members,
        "totalInstancesUsed": len(servers),
        "totalCoresUsed": sum(int(s.get("vcpus") or 0) for s in servers),
        "totalRAMUsed": sum(int(s.get("memory_mb") or 0) for s in servers),
        "totalServerGroupsUsed": 0,
    }
    return Reply(200, {"limits": {"rate": [], "absolute": absolute}})


def aggregates(request: APIRequest) -> Reply:
    """``GET /os-aggregates`` (admin): nova-sim has no host aggregates."""
    request.require_admin("os_compute_api:os-aggregates:index")
    return Reply(200, {"aggregates": []})
