"""DiskWeigher: more free disk (``free_disk_mb``) weighs more (``disk_weight_multiplier``,
1.0)."""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class DiskWeigher(BaseHostWeigher):
    option = "disk_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [(h.total_usable_disk_gb - h.disk_gb_used) * 1024 for h in host_states]
