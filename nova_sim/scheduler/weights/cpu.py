"""CPUWeigher: more free vCPUs (``vcpus_total * cpu_allocation_ratio - vcpus_used``)
weigh more (``cpu_weight_multiplier``, 1.0)."""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class CPUWeigher(BaseHostWeigher):
    option = "cpu_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [h.vcpus_total * h.cpu_allocation_ratio - h.vcpus_used for h in host_states]
