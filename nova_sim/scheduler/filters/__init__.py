"""Host filters: which of the candidate hosts may take the instance.

Owns ``BaseHostFilter`` and the registry of filters by name (the names of
``[filter_scheduler] enabled_filters``). A filter answers for one host
(``host_passes(host_state, spec)``); the scheduler calls ``filter_all(hosts, spec)``, which
a filter may override with a faster loop over all hosts at once. Filters read the
request spec (a dict, see ``nova_sim.scheduler.manager``) and the ``HostState``; they must
not touch the database or RPC (what they need is put into the spec or the host state
before they run).
"""

from __future__ import annotations

from typing import Any


class BaseHostFilter:
    """Base class of the filters. Subclasses override ``host_passes``; they may also
    override ``filter_all`` (one call per request instead of one per host) and
    ``run_filter_for_request`` (skip the filter when the request does not concern it)."""

    #: Run once per request, not again for each instance of a multi-instance request.
    run_filter_once_per_request = False

    def __init__(self, conf: Any = None, clock: Any = None):
        self.conf = conf
        self.clock = clock

    @property
    def name(self) -> str:
        return type(self).__name__

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        """False skips the filter for this request (every host passes)."""
        if self.run_filter_once_per_request and index > 0:
            return False
        return True

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        raise NotImplementedError

    def filter_all(self, host_states: list, spec: dict[str, Any]) -> list:
        """The hosts that pass, in the order given."""
        passes = self.host_passes
        return [host for host in host_states if passes(host, spec)]


def all_filters() -> dict[str, type[BaseHostFilter]]:
    """Every filter class by name."""
    from nova_sim.scheduler.filters.affinity_filter import (
        ServerGroupAffinityFilter,
        ServerGroupAntiAffinityFilter,
    )
    from nova_sim.scheduler.filters.affinity_hints_filter import (
        DifferentHostFilter,
        SameHostFilter,
    )
    from nova_sim.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
    from nova_sim.scheduler.filters.compute_capabilities_filter import (
        ComputeCapabilitiesFilter,
    )
    from nova_sim.scheduler.filters.compute_filter import ComputeFilter
    from nova_sim.scheduler.filters.image_props_filter import ImagePropertiesFilter
    from nova_sim.scheduler.filters.io_ops_filter import IoOpsFilter
    from nova_sim.scheduler.filters.num_instances_filter import NumInstancesFilter
    from nova_sim.scheduler.filters.resource_filter import ResourceFilter

    classes = (
        AvailabilityZoneFilter, ComputeFilter, ComputeCapabilitiesFilter,
        ImagePropertiesFilter, ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter,
        ResourceFilter, IoOpsFilter, NumInstancesFilter, SameHostFilter, DifferentHostFilter,
    )
    return {cls.__name__: cls for cls in classes}
