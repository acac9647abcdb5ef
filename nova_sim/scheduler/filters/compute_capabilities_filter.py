"""ComputeCapabilitiesFilter: the flavor's extra specs match the host's capabilities.

A simplified version of Nova's: extra specs scoped ``capabilities:<attribute>`` (or
unscoped keys without a colon) are compared with the HostState attribute of that name
(``hypervisor_type``, ``hypervisor_version``, ``vcpus_total``, ``free_ram_mb``...) or a
key of the node's ``stats``. Values support Nova's operators ``=`` (numeric >=),
``==`` / ``!=`` / ``>=`` / ``<=`` (numeric), ``s==`` / ``s!=`` (string), ``<in>`` and
``<or>``; a plain value is a string match. Keys the host does not know fail the host,
as in Nova. With no such extra specs (the default flavors) every host passes.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


def extra_specs_match(actual: Any, requirement: str) -> bool:
    """Whether ``actual`` satisfies one extra-spec ``requirement`` (see module doc)."""
    words = str(requirement).split()
    if not words:
        return True
    op, *values = words
    try:
        if op == "=":
            return float(actual) >= float(values[0])
        if op in ("==", "!=", ">=", "<="):
            left, right = float(actual), float(values[0])
            return {"==": left == right, "!=": left != right, ">=": left >= right,
                    "<=": left <= right}[op]
    except (TypeError, ValueError, IndexError):
        return False
    if op == "s==":
        return str(actual) == " ".join(values)
    if op == "s!=":
        return str(actual) != " ".join(values)
    if op == "<in>":
        return " ".join(values) in str(actual)
    if op == "<or>":
        return str(actual) in [v for v in values if v != "<or>"]
    return str(actual) == str(requirement)


class ComputeCapabilitiesFilter(BaseHostFilter):
    """Passes hosts whose capabilities satisfy the flavor's capability extra specs."""

    run_filter_once_per_request = True

    @staticmethod
    def _requirements(spec: dict[str, Any]) -> list[tuple[str, str]]:
        extra_specs = (spec.get("flavor") or {}).get("extra_specs") or {}
        found = []
        for key, value in sorted(extra_specs.items()):
            if key.startswith("capabilities:"):
                found.append((key[len("capabilities:"):], value))
            elif ":" not in key:
                found.append((key, value))
        return found

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return bool(self._requirements(spec)) and super().run_filter_for_request(spec, index)

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        for name, requirement in self._requirements(spec):
            if name in host_state.stats:
                actual = host_state.stats[name]
            elif hasattr(host_state, name):
                actual = getattr(host_state, name)
            else:
                return False
            if not extra_specs_match(actual, requirement):
                return False
        return True
