"""ResourceFilter: the host still has room for one more instance of the request.

Placement's candidates already guarantee room for the first instance; this filter
matters for the next instances of a multi-instance request, after the scheduler has
consumed the room of the hosts it picked (Nova relied on RamFilter / DiskFilter /
CoreFilter for this before placement). The scheduler always runs it, after the
configured filters.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter
from nova_sim.scheduler.utils import resources_from_request_spec


class ResourceFilter(BaseHostFilter):
    """Passes hosts whose placement room covers the request's resources."""

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return index > 0

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        room = host_state.room
        return all(
            room.get(rc, -1) >= amount
            for rc, amount in resources_from_request_spec(spec).items()
        )
