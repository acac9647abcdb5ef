"""ImagePropertiesFilter: the host can run the image's architecture / hypervisor / mode.

As Nova's: the image properties ``hw_architecture`` (or ``architecture``),
``img_hv_type`` (or ``hypervisor_type``) and ``hw_vm_mode`` (or ``vm_mode``) must match
one of the host's supported instances (the fake driver supports x86_64 and i686, type
``fake``, mode ``hvm``; a node may report others in its stats). An image without these
properties fits every host (the cirros image of the catalogue says x86_64).
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


class ImagePropertiesFilter(BaseHostFilter):
    """Passes hosts supporting the image's architecture, hypervisor type and vm mode."""

    run_filter_once_per_request = True

    @staticmethod
    def _wanted(spec: dict[str, Any]) -> tuple[Any, Any, Any]:
        properties = (spec.get("image") or {}).get("properties") or {}
        return (
            properties.get("hw_architecture") or properties.get("architecture"),
            properties.get("img_hv_type") or properties.get("hypervisor_type"),
            properties.get("hw_vm_mode") or properties.get("vm_mode"),
        )

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return any(self._wanted(spec)) and super().run_filter_for_request(spec, index)

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        return self._supports(host_state.supported_instances, self._wanted(spec))

    @staticmethod
    def _supports(supported_instances: Any, wanted: tuple[Any, Any, Any]) -> bool:
        if not any(wanted):
            return True
        for supported in supported_instances:
            if all(w is None or str(w).lower() == str(s).lower()
                   for w, s in zip(wanted, supported, strict=False)):
                return True
        return False

    def filter_all(self, host_states: list, spec: dict[str, Any]) -> list:
        """One answer per distinct supported-instances list (hosts of one driver share
        theirs), so 10,000 hosts cost 10,000 lookups, not 10,000 comparisons."""
        wanted = self._wanted(spec)
        answers: dict[Any, bool] = {}
        passed = []
        for host in host_states:
            supported = host.supported_instances
            answer = answers.get(supported)
            if answer is None:
                answer = answers[supported] = self._supports(supported, wanted)
            if answer:
                passed.append(host)
        return passed
