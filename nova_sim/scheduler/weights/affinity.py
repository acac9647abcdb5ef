"""Soft server-group policies as weighers (Nova's ServerGroupSoftAffinityWeigher and
ServerGroupSoftAntiAffinityWeigher).

The raw value is the number of the group's members already on the host (from the
request spec's ``instance_group["member_hosts_count"]``, which the scheduler fills from
the database and updates as it places a multi-instance request): soft-affinity prefers
hosts with more members, soft-anti-affinity (negated) hosts with fewer. Both multipliers
default to 1.0 (``[filter_scheduler] soft_affinity_weight_multiplier`` /
``soft_anti_affinity_weight_multiplier``). Requests without such a group weigh 0.
"""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


def _members_on_hosts(host_states, spec, policy):
    group = spec.get("instance_group") or {}
    if group.get("policy") != policy:
        return [0] * len(host_states)
    counts = group.get("member_hosts_count") or {}
    return [counts.get(h.host, 0) for h in host_states]


class ServerGroupSoftAffinityWeigher(BaseHostWeigher):
    option = "soft_affinity_weight_multiplier"
    policy = "soft-affinity"

    def run_for_request(self, spec):
        return (spec.get("instance_group") or {}).get("policy") == self.policy

    def weigh_all(self, host_states, spec):
        return _members_on_hosts(host_states, spec, "soft-affinity")


class ServerGroupSoftAntiAffinityWeigher(ServerGroupSoftAffinityWeigher):
    option = "soft_anti_affinity_weight_multiplier"
    policy = "soft-anti-affinity"

    def weigh_all(self, host_states, spec):
        return [-count for count in _members_on_hosts(host_states, spec, "soft-anti-affinity")]
