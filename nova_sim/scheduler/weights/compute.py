"""BuildFailureWeigher: hosts whose recent builds failed weigh less.

The raw value is ``-failed_builds`` (the compute reports the count in its node stats and
resets it after a successful build), with ``build_failure_weight_multiplier`` 1e6 so that
one failure outweighs every other weigher, as in Nova.
"""

from __future__ import annotations

from nova_sim.scheduler.weights import BaseHostWeigher


class BuildFailureWeigher(BaseHostWeigher):
    option = "build_failure_weight_multiplier"

    def weigh_all(self, host_states, spec):
        return [-h.failed_builds for h in host_states]
