"""The scheduler's view of the compute hosts: a cache of ``HostState`` objects.

Owns ``HostState`` (what the filters and weighers look at, one per compute node) and
``HostManager``, which keeps them fresh cheaply so that ``select_destinations`` stays fast
at 10,000 hosts. Must not know about RPC, filters' rules or weighers' formulas.

How the cache is kept fresh (compared with Nova)
================================================

Nova's HostManager reads every compute node from the database on each request, and
placement answers the allocation-candidates query with SQL over all providers. nova-sim
keeps the same sources (services for heartbeats and enabled state, compute nodes for the
computes' reports, placement's inventories and usage) but reads only what changed since
the previous request: every write to those rows takes the next number of the database's
change sequence (``Database.changes_since``). So at the start of each request the cache
is exactly as fresh as Nova's, nothing is older than the database, and a request where
nothing changed costs one small read.

The allocation candidates are then computed from the cache in memory, in the providers'
order, with placement's rule (``used + amount <= capacity`` and ``amount <= max_unit``;
``min_unit`` / ``step_size`` are left to the claim, which is the authoritative check and
is made in the database). The usage figures the weighers read (vCPUs, RAM and disk used)
come from placement, so they include the claims that other schedulers made a moment ago;
the instance count and I/O load come from the compute node's report plus this
scheduler's own placements since that report (Nova's ``consume_from_request``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from nova_sim.db import parse_timestamp

LOG = logging.getLogger(__name__)

#: The fake driver's supported instances (architecture, hypervisor type, vm mode).
DEFAULT_SUPPORTED_INSTANCES = (("x86_64", "fake", "hvm"), ("i686", "fake", "hvm"))


class HostState:
    """Mutable state of one compute node, as the scheduler sees it.

    Resource figures: ``vcpus_total`` / ``vcpus_used``, ``total_usable_ram_mb`` /
    ``memory_mb_used``, ``total_usable_disk_gb`` / ``disk_gb_used``, allocation ratios;
    ``free_ram_mb`` and ``free_disk_mb`` as Nova computes them (physical, without the
    ratio). From placement, per resource class: ``free`` (``capacity - used``), ``max_unit``
    and ``room``, how much one more allocation may take (``min(free, max_unit)``).
    Service: ``service_id``, ``service_disabled``, ``forced_down``, ``last_heartbeat``
    (seconds since the epoch, ``-inf`` before any), ``usable`` (known, enabled and not
    forced down).
    """

    __slots__ = (
        "host", "nodename", "uuid", "availability_zone", "hypervisor_type",
        "hypervisor_version", "vcpus_total", "vcpus_used", "total_usable_ram_mb",
        "memory_mb_used", "total_usable_disk_gb", "disk_gb_used", "cpu_allocation_ratio",
        "ram_allocation_ratio", "disk_allocation_ratio", "num_instances", "num_io_ops",
        "failed_builds", "stats", "updated", "service_id", "service_disabled",
        "disabled_reason", "forced_down", "last_heartbeat", "usable", "room", "free",
        "max_unit", "usage",
        "instances", "limits", "supported_instances", "weight",
    )

    def __init__(self, host: str, nodename: str, uuid: str):
        self.host = host
        self.nodename = nodename
        self.uuid = uuid
        self.availability_zone: str | None = None
        self.hypervisor_type = "fake"
        self.hypervisor_version = 0
        self.vcpus_total = 0
        self.vcpus_used = 0
        self.total_usable_ram_mb = 0
        self.memory_mb_used = 0
        self.total_usable_disk_gb = 0
        self.disk_gb_used = 0
        self.cpu_allocation_ratio = 1.0
        self.ram_allocation_ratio = 1.0
        self.disk_allocation_ratio = 1.0
        self.num_instances = 0
        self.num_io_ops = 0
        self.failed_builds = 0
        self.stats: dict[str, Any] = {}
        self.updated: str | None = None
        self.service_id: int | None = None
        self.service_disabled = True
        self.disabled_reason: str | None = None
        self.forced_down = False
        self.last_heartbeat = float("-inf")
        self.usable = False  # service known, enabled, not forced down
        self.room: dict[str, int] = {}
        self.free: dict[str, int] = {}
        self.max_unit: dict[str, int] = {}
        self.usage: dict[str, int] = {}
        self.instances: set[str] = set()
        self.limits: dict[str, Any] = {}
        self.supported_instances: tuple = DEFAULT_SUPPORTED_INSTANCES
        self.weight = 0.0

    @property
    def free_ram_mb(self) -> int:
        return self.total_usable_ram_mb - self.memory_mb_used

    @property
    def free_disk_mb(self) -> int:
        return (self.total_usable_disk_gb - self.disk_gb_used) * 1024

    @property
    def vcpus_free(self) -> float:
        return self.vcpus_total * self.cpu_allocation_ratio - self.vcpus_used

    def update_from_compute_node(self, node: dict[str, Any]) -> None:
        """Take the figures of a compute node row (the compute's report)."""
        self.hypervisor_type = node.get("hypervisor_type") or "fake"
        self.hypervisor_version = node.get("hypervisor_version") or 0
        self.vcpus_total = node.get("vcpus") or 0
        self.total_usable_ram_mb = node.get("memory_mb") or 0
        self.total_usable_disk_gb = node.get("local_gb") or 0
        self.cpu_allocation_ratio = node.get("cpu_allocation_ratio") or 1.0
        self.ram_allocation_ratio = node.get("ram_allocation_ratio") or 1.0
        self.disk_allocation_ratio = node.get("disk_allocation_ratio") or 1.0
        if not self.usage:
            self.vcpus_used = node.get("vcpus_used") or 0
            self.memory_mb_used = node.get("memory_mb_used") or 0
            self.disk_gb_used = node.get("local_gb_used") or 0
        stats = node.get("stats") or {}
        self.stats = stats
        self.num_instances = int(stats.get("num_instances", node.get("running_vms") or 0))
        self.num_io_ops = int(stats.get("io_workload", node.get("current_workload") or 0))
        self.failed_builds = int(stats.get("failed_builds", 0))
        supported = stats.get("supported_instances")
        if supported:
            self.supported_instances = tuple(tuple(item) for item in supported)
        self.updated = node.get("updated_at")

    def update_from_service(self, service: dict[str, Any], default_zone: str) -> None:
        """Take a service row's state (enabled, forced down, last heartbeat, zone)."""
        self.service_id = service.get("id")
        self.service_disabled = bool(service.get("disabled")) or bool(service.get("deleted"))
        self.disabled_reason = service.get("disabled_reason")
        self.forced_down = bool(service.get("forced_down"))
        heartbeat = parse_timestamp(
            service.get("last_seen_up") or service.get("updated_at") or service.get("created_at")
        )
        self.last_heartbeat = float("-inf") if heartbeat is None else heartbeat
        self.usable = not self.service_disabled and not self.forced_down
        self.availability_zone = service.get("availability_zone") or default_zone

    def update_from_placement(self, inventory: dict[str, dict[str, Any]]) -> None:
        """Take a provider's inventory and usage (from ``provider_changes``)."""
        self.free = {rc: item["capacity"] - item["used"] for rc, item in inventory.items()}
        self.max_unit = {rc: item["max_unit"] for rc, item in inventory.items()}
        self.room = {rc: min(self.free[rc], self.max_unit[rc]) for rc in self.free}
        self.usage = {rc: item["used"] for rc, item in inventory.items()}
        self.vcpus_used = self.usage.get("VCPU", 0)
        self.memory_mb_used = self.usage.get("MEMORY_MB", 0)
        self.disk_gb_used = self.usage.get("DISK_GB", 0)

    def consume_from_request(self, resources: dict[str, int]) -> None:
        """Account for an instance just placed here (until the next refresh)."""
        for rc, amount in resources.items():
            if rc in self.free:
                self.free[rc] -= amount
                self.room[rc] = min(self.free[rc], self.max_unit[rc])
            self.usage[rc] = self.usage.get(rc, 0) + amount
        self.vcpus_used += resources.get("VCPU", 0)
        self.memory_mb_used += resources.get("MEMORY_MB", 0)
        self.disk_gb_used += resources.get("DISK_GB", 0)
        self.num_instances += 1
        self.num_io_ops += 1

    def unconsume_from_request(self, resources: dict[str, int]) -> None:
        """Undo ``consume_from_request`` (a choice that was not claimed)."""
        for rc, amount in resources.items():
            if rc in self.free:
                self.free[rc] += amount
                self.room[rc] = min(self.free[rc], self.max_unit[rc])
            if rc in self.usage:
                self.usage[rc] -= amount
        self.vcpus_used -= resources.get("VCPU", 0)
        self.memory_mb_used -= resources.get("MEMORY_MB", 0)
        self.disk_gb_used -= resources.get("DISK_GB", 0)
        self.num_instances -= 1
        self.num_io_ops -= 1

    def __repr__(self) -> str:
        return (
            f"({self.host}, {self.nodename}) ram: {self.free_ram_mb}MB "
            f"disk: {self.free_disk_mb}MB io_ops: {self.num_io_ops} "
            f"instances: {self.num_instances}"
        )


class HostManager:
    """Keeps one ``HostState`` per live compute node, refreshed incrementally.

    ``refresh()`` runs at the start of every request (one small read when little
    changed); ``get_candidates(resources, limit)`` gives the HostStates with room, in the
    providers' order. Not thread-safe: one scheduler greenthread at a time calls it (all
    of it is synchronous code, so greenthreads never interleave inside).
    """

    def __init__(
        self,
        db: Any,
        clock: Callable[[], float],
        *,
        default_availability_zone: str,
        compute_binary: str = "nova-compute",
    ):
        self.db = db
        self.clock = clock
        self.default_availability_zone = default_availability_zone
        self.compute_binary = compute_binary
        self.host_states: dict[str, HostState] = {}  # node uuid -> state, node id order
        self._by_host: dict[str, list[HostState]] = {}
        self._services: dict[str, dict[str, Any]] = {}  # host -> service row
        self._placement: dict[str, dict[str, dict[str, Any]]] = {}  # rp uuid -> inventory
        self._seq = 0  # the database's change number this cache has caught up to
        self.refreshes = 0

    # -- refresh --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the cache up to date with the database: one read transaction returning
        only the services, nodes and providers changed since the previous refresh."""
        self.refreshes += 1
        changes = self.db.changes_since(self._seq, self.compute_binary)
        self._seq = changes["seq"]
        for service in changes["services"]:
            self._apply_service(service)
        for node in changes["compute_nodes"]:
            self._apply_node(node)
        providers = changes["providers"]
        if changes["provider_count"] < len(self._placement):
            # Some providers were deleted: reload the placement view once.
            _seq, providers, _count = self.db.provider_changes(0)
            self._placement = {}
            for state in self.host_states.values():
                state.room, state.free, state.max_unit, state.usage = {}, {}, {}, {}
        for rp_uuid, inventory in providers.items():
            self._placement[rp_uuid] = inventory
            state = self.host_states.get(rp_uuid)
            if state is not None:
                state.update_from_placement(inventory)

    def _apply_service(self, service: dict[str, Any]) -> None:
        host = service["host"]
        if service.get("deleted"):
            current = self._services.get(host)
            if current is None or current["id"] != service["id"]:
                return
            del self._services[host]
        else:
            self._services[host] = service
        for state in self._by_host.get(host, ()):
            state.update_from_service(service, self.default_availability_zone)

    def _apply_node(self, node: dict[str, Any]) -> None:
        uuid = node["uuid"]
        state = self.host_states.get(uuid)
        if node.get("deleted"):
            if state is not None:
                del self.host_states[uuid]
                states = self._by_host.get(state.host, [])
                if state in states:
                    states.remove(state)
            return
        if state is None:
            state = HostState(node["host"], node["hypervisor_hostname"], uuid)
            self.host_states[uuid] = state
            self._by_host.setdefault(state.host, []).append(state)
            service = self._services.get(state.host)
            if service is not None:
                state.update_from_service(service, self.default_availability_zone)
            inventory = self._placement.get(uuid)
            if inventory is not None:
                state.update_from_placement(inventory)
        state.update_from_compute_node(node)

    # -- queries --------------------------------------------------------------------------

    def get_candidates(self, resources: dict[str, int], limit: int | None = None) -> list:
        """HostStates with room for ``resources`` (placement's allocation candidates), in
        the providers' order, at most ``limit`` of them (``max_placement_results``)."""
        wanted = [(rc, amount) for rc, amount in sorted(resources.items()) if amount > 0]
        states = self.host_states.values()
        if len(wanted) == 3 and (limit is None or limit >= len(self.host_states)):
            # Every host may be a candidate: a comprehension is cheaper than a generator.
            (rc1, a1), (rc2, a2), (rc3, a3) = wanted
            return [
                s for s in states
                if s.room.get(rc1, -1) >= a1 and s.room.get(rc2, -1) >= a2
                and s.room.get(rc3, -1) >= a3
            ]
        if len(wanted) == 3:
            (rc1, a1), (rc2, a2), (rc3, a3) = wanted
            fits = (
                s for s in states
                if s.room.get(rc1, -1) >= a1 and s.room.get(rc2, -1) >= a2
                and s.room.get(rc3, -1) >= a3
            )
        elif wanted:
            fits = (s for s in states if all(s.room.get(rc, -1) >= a for rc, a in wanted))
        else:
            fits = (s for s in states if s.room)
        # A generator cut at ``limit``: with 10,000 roomy hosts the scan stops at 1,000.
        return list(itertools.islice(fits, limit))

    def hosts(self, host: str) -> list[HostState]:
        """The HostStates of one host (one per node)."""
        return list(self._by_host.get(host, ()))

    # -- instance info from the computes (Nova's update_instance_info & co) ----------------

    def update_instance_info(self, host: str, instance_uuids: Iterable[str]) -> None:
        """A compute told us about new instances on ``host``."""
        for state in self._by_host.get(host, ()):
            state.instances.update(instance_uuids)

    def delete_instance_info(self, host: str, instance_uuid: str) -> None:
        """A compute told us an instance left ``host``."""
        for state in self._by_host.get(host, ()):
            state.instances.discard(instance_uuid)

    def sync_instance_info(self, host: str, instance_uuids: Iterable[str]) -> None:
        """A compute's full list of its instances (Nova's periodic sync)."""
        uuids = set(instance_uuids)
        for state in self._by_host.get(host, ()):
            state.instances = set(uuids)
