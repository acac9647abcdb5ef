"""IoOpsFilter: hosts busy with too many I/O-heavy operations are refused.

Passes hosts with ``num_io_ops < [filter_scheduler] max_io_ops_per_host`` (the
scheduler passes the option's value; builds, resizes, snapshots... in progress). Not
enabled by default, as in Nova.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


class IoOpsFilter(BaseHostFilter):
    """Passes hosts with fewer than ``max_io_ops_per_host`` operations in progress."""

    def __init__(self, conf: Any = None, clock: Any = None, *, max_io_ops_per_host: int):
        super().__init__(conf, clock)
        self.max_io_ops_per_host = max_io_ops_per_host

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        return host_state.num_io_ops < self.max_io_ops_per_host
