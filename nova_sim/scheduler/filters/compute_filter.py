"""ComputeFilter: the host's nova-compute service is enabled and up.

Up, as Nova's database service group driver decides: not forced down, and
``abs(now - last_heartbeat) <= service_down_time`` where ``last_heartbeat`` is the
service's ``last_seen_up`` (or ``updated_at`` / ``created_at`` before the first heartbeat)
and ``now`` is read from the scheduler's clock (the hub's clock: virtual time in
simulations). Under a service group driver that does not keep liveness in the rows
(``servicegroup_driver = mc``), up is what that driver says (``host_is_up``).
"""

from __future__ import annotations

import logging
from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter

LOG = logging.getLogger(__name__)

#: The topic of the compute services (the service group's key for a host).
COMPUTE_TOPIC = "compute"


class ComputeFilter(BaseHostFilter):
    """Passes hosts whose compute service is enabled and up."""

    run_filter_once_per_request = True

    def __init__(self, conf: Any = None, clock: Any = None, *, service_down_time: float,
                 servicegroup_api: Any = None):
        super().__init__(conf, clock)
        self.service_down_time = service_down_time
        #: the service group, when liveness is not in the rows (None: the rows' rule)
        self.servicegroup_api = (
            servicegroup_api
            if servicegroup_api is not None and not servicegroup_api.uses_service_rows
            else None
        )

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        return bool(self.filter_all([host_state], spec))

    def filter_all(self, host_states: list, spec: dict[str, Any]) -> list:
        if self.servicegroup_api is not None:
            host_is_up = self.servicegroup_api.host_is_up
            passed = [
                host for host in host_states
                if host.usable and host_is_up(COMPUTE_TOPIC, host.host)
            ]
        else:
            now = self.clock()
            # abs(now - last_heartbeat) <= service_down_time, as one chained comparison.
            earliest, latest = now - self.service_down_time, now + self.service_down_time
            passed = [
                host for host in host_states
                if host.usable and earliest <= host.last_heartbeat <= latest
            ]
        if len(passed) != len(host_states) and LOG.isEnabledFor(logging.DEBUG):
            for host in host_states:
                if host.service_disabled:
                    LOG.debug("%s ignored: disabled (%s)", host.host, host.disabled_reason)
                elif host not in passed:
                    LOG.debug("%s ignored: has not been heard from in a while", host.host)
        return passed
