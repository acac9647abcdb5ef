"""NumInstancesFilter: hosts holding too many instances are refused.

Passes hosts with ``num_instances < [filter_scheduler] max_instances_per_host`` (the
scheduler passes the option's value). Not enabled by default, as in Nova.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


class NumInstancesFilter(BaseHostFilter):
    """Passes hosts with fewer than ``max_instances_per_host`` instances."""

    def __init__(self, conf: Any = None, clock: Any = None, *, max_instances_per_host: int):
        super().__init__(conf, clock)
        self.max_instances_per_host = max_instances_per_host

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        return host_state.num_instances < self.max_instances_per_host
