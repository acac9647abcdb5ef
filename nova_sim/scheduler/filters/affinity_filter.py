"""Server group filters: affinity (same host) and anti-affinity (different hosts).

The request spec's ``instance_group`` (``{"uuid", "policy", "hosts", "members",
"rules"}``) says where the group's members already are; the scheduler fills ``hosts``
from the database before filtering and adds each host it picks for a multi-instance
request, so that the next instance of the same request sees it (as Nova does).
Anti-affinity's ``max_server_per_host`` rule counts the members on the host
(``member_hosts_count``, also filled by the scheduler). Soft policies (``soft-affinity``
/ ``soft-anti-affinity``) are not filters but weighers (``weights/affinity.py``).
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


def _group(spec: dict[str, Any], policy: str) -> dict[str, Any] | None:
    group = spec.get("instance_group")
    if group and group.get("policy") == policy:
        return group
    return None


class ServerGroupAffinityFilter(BaseHostFilter):
    """With policy ``affinity``: once a member is placed, only its host passes."""

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return _group(spec, "affinity") is not None

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        group = _group(spec, "affinity")
        if group is None:
            return True
        hosts = group.get("hosts") or []
        return not hosts or host_state.host in hosts


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    """With policy ``anti-affinity``: hosts holding ``max_server_per_host`` (1) members
    already are refused."""

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return _group(spec, "anti-affinity") is not None

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        group = _group(spec, "anti-affinity")
        if group is None:
            return True
        limit = int((group.get("rules") or {}).get("max_server_per_host", 1))
        hosts = group.get("hosts") or []
        if limit == 1:
            return host_state.host not in hosts
        on_host = group.get("member_hosts_count", {}).get(host_state.host, 0)
        return on_host < limit
