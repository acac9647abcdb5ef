"""RAMWeigher: more free RAM weighs more (``ram_weight_multiplier``, 1.0: spread;
negative: stack)."""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class RAMWeigher(BaseHostWeigher):
    option = "ram_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [h.total_usable_ram_mb - h.memory_mb_used for h in host_states]
