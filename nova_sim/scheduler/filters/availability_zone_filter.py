"""AvailabilityZoneFilter: the host is in the requested availability zone.

nova-sim keeps a host's zone in its service row (``availability_zone``, default
``[DEFAULT] default_availability_zone``) where Nova uses host aggregates' metadata.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


class AvailabilityZoneFilter(BaseHostFilter):
    """Passes hosts of ``spec["availability_zone"]`` (every host when none asked)."""

    run_filter_once_per_request = True

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return bool(spec.get("availability_zone")) and super().run_filter_for_request(
            spec, index
        )

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        zone = spec.get("availability_zone")
        return not zone or host_state.availability_zone == zone

    def filter_all(self, host_states: list, spec: dict[str, Any]) -> list:
        zone = spec.get("availability_zone")
        if not zone:
            return list(host_states)
        return [host for host in host_states if host.availability_zone == zone]
