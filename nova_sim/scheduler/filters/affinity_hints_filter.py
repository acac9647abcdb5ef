"""SameHostFilter and DifferentHostFilter: the ``same_host`` / ``different_host`` hints.

``openstack server create --hint same_host=<uuid> ...`` asks for the host of the listed
instances, ``different_host`` for any other host. The scheduler resolves the instance
uuids to hosts before filtering (``spec["hint_hosts"]``, filled from the database), so
the filters only compare host names. Not enabled by default, as in Nova.
"""

from __future__ import annotations

from typing import Any

from nova_sim.scheduler.filters import BaseHostFilter


def _hint_hosts(spec: dict[str, Any], hint: str) -> set[str] | None:
    hosts = (spec.get("hint_hosts") or {}).get(hint)
    return None if hosts is None else set(hosts)


class SameHostFilter(BaseHostFilter):
    """With a ``same_host`` hint: only the hosts of those instances pass."""

    run_filter_once_per_request = True

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return _hint_hosts(spec, "same_host") is not None and super().run_filter_for_request(
            spec, index
        )

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        hosts = _hint_hosts(spec, "same_host")
        return hosts is None or host_state.host in hosts


class DifferentHostFilter(BaseHostFilter):
    """With a ``different_host`` hint: the hosts of those instances are refused."""

    run_filter_once_per_request = True

    def run_filter_for_request(self, spec: dict[str, Any], index: int = 0) -> bool:
        return _hint_hosts(spec, "different_host") is not None and (
            super().run_filter_for_request(spec, index)
        )

    def host_passes(self, host_state: Any, spec: dict[str, Any]) -> bool:
        hosts = _hint_hosts(spec, "different_host")
        return hosts is None or host_state.host not in hosts
