"""IoOpsWeigher: the number of I/O-heavy operations in progress on the host (builds,
resizes...), with ``io_ops_weight_multiplier`` -1.0 so that quiet hosts win."""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class IoOpsWeigher(BaseHostWeigher):
    option = "io_ops_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [h.num_io_ops for h in host_states]
