"""NumInstancesWeigher: the instance count of the host (``num_instances_weight_multiplier``,
0.0 by default: ignored; positive packs, negative spreads)."""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class NumInstancesWeigher(BaseHostWeigher):
    option = "num_instances_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [h.num_instances for h in host_states]
