"""``/limits``: the caller's absolute limits and usage.

Owns the read-only resource ``openstack limits show`` asks for: it reports the project's
quotas (``nova_sim.compute.quotas``; -1: unlimited) with its usage counted from its live
servers, server groups and (below 2.36) floating IPs, in the fields of the microversion.
Must not know about RPC.
"""

from __future__ import annotations

from nova_sim.api.app import APIRequest, Reply, Router


def register(router: Router, api) -> None:
    """Add the ``/limits`` route."""
    router.add("GET", "/limits", limits)


def limits(request: APIRequest) -> Reply:
    """``GET /limits``: absolute limits and what the caller's project uses, with the
    fields of the microversion (Nova drops the security group and floating IP ones at 2.36,
    ``maxImageMeta`` at 2.39 and ``maxPersonality*`` at 2.57)."""
    context = request.context
    quota = request.api.compute_api.quota_api.limits(context.project_id, context.user_id)
    servers = request.api.compute_api.get_all(
        context, search_opts={"project_id": context.project_id})
    groups = request.api.compute_api.server_group_list(context)
    absolute = {
        "maxTotalInstances": quota["instances"],
        "maxTotalCores": quota["cores"],
        "maxTotalRAMSize": quota["ram"],
        "maxServerMeta": quota["metadata_items"],
        "maxTotalKeypairs": quota["key_pairs"],
        "maxServerGroups": quota["server_groups"],
        "maxServerGroupMembers": quota["server_group_members"],
        "totalInstancesUsed": len(servers),
        "totalCoresUsed": sum(int(s.get("vcpus") or 0) for s in servers),
        "totalRAMUsed": sum(int(s.get("memory_mb") or 0) for s in servers),
        "totalServerGroupsUsed": len(groups),
    }
    version = request.version
    if not version.matches("2.36"):
        # Nova's proxies to Neutron's quotas: the project's floating IPs are counted;
        # the security groups count as none used (Nova's old defaults as their limits).
        absolute.update({"maxSecurityGroups": 10, "maxSecurityGroupRules": 20,
                         "maxTotalFloatingIps": quota["floating_ips"],
                         "totalSecurityGroupsUsed": 0,
                         "totalFloatingIpsUsed": request.api.compute_api.db
                         .floating_ip_count(context.project_id)})
    if not version.matches("2.39"):
        absolute["maxImageMeta"] = 128
    if not version.matches("2.57"):
        absolute.update({"maxPersonality": 5, "maxPersonalitySize": 10240})
    return Reply(200, {"limits": {"rate": [], "absolute": absolute}})
