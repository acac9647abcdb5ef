"""The resource tracker of one compute host (as ``nova/compute/resource_tracker.py``).

Owns what the compute knows of its own capacity and usage: the compute node record per
hypervisor node, the instances it tracks, claims (``instance_claim`` -> ``Claim``, aborted
when the build fails) and the periodic ``update_available_resource`` report (inventory for
placement and usage for the compute node record). Every write goes to the conductor (an RPC
call): the compute has no database. Claims and reports of one host are serialised by one
green lock, as Nova's ``COMPUTE_RESOURCE_SEMAPHORE``.

Simplification: the *placement* claim is made by the scheduler (and by the conductor for
an alternate); this tracker only keeps the compute node's usage figures and sets the
instance's ``host`` / ``node``. There is no NUMA or PCI accounting, and a resize's usage
is counted on one host at a time (the destination from ``prep_resize``, the source again
after a revert; Nova counts both until the resize is confirmed).
Must not know about the RPC server or the hypervisor's internals.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

import nova_sim.conf
from nova_sim import green, trace
from nova_sim.compute import vm_states

LOG = logging.getLogger(__name__)



def _usage_of(instance: dict[str, Any]) -> dict[str, int]:
    flavor = instance.get("flavor") or {}
    return {
        "vcpus": int(instance.get("vcpus") or flavor.get("vcpus") or 0),
        "memory_mb": int(instance.get("memory_mb") or flavor.get("memory_mb") or 0),
        "root_gb": int(instance.get("root_gb") or flavor.get("root_gb") or 0)
        + int(instance.get("ephemeral_gb") or flavor.get("ephemeral_gb") or 0),
    }


class Claim:
    """A claim of an instance's resources on this host; ``abort()`` gives them back.

    Used as a context manager around the build: an exception inside aborts the claim.
    """

    def __init__(self, tracker: ResourceTracker, ctxt: Any, instance: dict[str, Any],
                 nodename: str):
        self.tracker = tracker
        self.context = ctxt
        self.instance = instance
        self.nodename = nodename

    def abort(self) -> None:
        """Give the claimed resources back (no error if already given back)."""
        self.tracker.abort_instance_claim(self.context, self.instance, self.nodename)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.abort()
        return False


class ResourceTracker:
    """Capacity and usage of one compute host's hypervisor nodes."""

    def __init__(self, host: str, driver: Any, conductor_api: Any, conf: Any = None):
        self.host = host
        self.driver = driver
        self.conductor_api = conductor_api
        self.conf = conf if conf is not None else nova_sim.conf.CONF
        #: nodename -> compute node row (as the conductor stored it)
        self.compute_nodes: dict[str, dict[str, Any]] = {}
        #: nodename -> consecutive failed builds (Nova's ``stats['failed_builds']``,
        #: which the scheduler's BuildFailureWeigher reads)
        self.failed_builds: dict[str, int] = {}
        #: instance uuid -> (nodename, usage)
        self.tracked_instances: dict[str, tuple[str, dict[str, int]]] = {}
        self._resources: dict[str, dict[str, Any]] = {}
        #: nodename -> (compute node values, inventories) of the last successful report
        self._reported: dict[str, tuple[dict[str, Any], dict | None]] = {}
        self._lock = green.Semaphore(1)
        self.service_id: int | None = None
        # The ratios and reservations, read from conf once (every audit needs them twice).
        self._ratios: dict[str, float] = {}
        self._reserved_values: dict[str, int] | None = None

    # -- ratios and reservations -----------------------------------------------------------

    def _ratio(self, kind: str) -> float:
        ratio = self._ratios.get(kind)
        if ratio is None:
            conf = self.conf
            value, initial = {
                "cpu": (conf.cpu_allocation_ratio, conf.initial_cpu_allocation_ratio),
                "ram": (conf.ram_allocation_ratio, conf.initial_ram_allocation_ratio),
                "disk": (conf.disk_allocation_ratio, conf.initial_disk_allocation_ratio),
            }[kind]
            ratio = self._ratios[kind] = float(initial if value is None else value)
        return ratio

    def _reserved(self) -> dict[str, int]:
        if self._reserved_values is None:
            self._reserved_values = {
                "vcpus": self.conf.reserved_host_cpus,
                "memory_mb": self.conf.reserved_host_memory_mb,
                "disk_gb": -(-self.conf.reserved_host_disk_mb // 1024),
            }
        return self._reserved_values

    # -- claims ----------------------------------------------------------------------------

    def instance_claim(
        self, ctxt: Any, instance: dict[str, Any], nodename: str, limits: Any = None
    ) -> Claim:
        """Claim the instance's resources on ``nodename``: set its ``host`` / ``node`` (a
        save through the conductor) and add its usage to the node's record.

        Raises what the save raises (``InstanceNotFound``, ``UnexpectedTaskStateError``
        when a delete overtook the build); nothing is claimed then.
        """
        with self._lock, trace.span("compute.instance_claim", instance_uuid=instance["uuid"]):
            self.conductor_api.instance_save(
                ctxt, instance,
                {"host": self.host, "node": nodename, "launched_on": self.host},
            )
            self.tracked_instances[instance["uuid"]] = (nodename, _usage_of(instance))
            self._update(ctxt, nodename)
        return Claim(self, ctxt, instance, nodename)

    def track(self, ctxt: Any, instance: dict[str, Any], flavor: dict[str, Any],
              nodename: str) -> None:
        """Count ``instance`` with ``flavor`` on ``nodename`` (a resize's claim at the
        destination, or a reverted resize back at the source) and report the usage."""
        usage = _usage_of({"flavor": flavor})
        with self._lock:
            self.tracked_instances[instance["uuid"]] = (nodename, usage)
            self._update(ctxt, nodename)

    def abort_instance_claim(self, ctxt: Any, instance: dict[str, Any], nodename: str) -> None:
        """Drop the instance's usage from ``nodename`` (a failed build)."""
        self._drop(ctxt, instance["uuid"], nodename)

    def update_usage_for_deleted(self, ctxt: Any, instance: dict[str, Any]) -> None:
        """Drop a deleted instance's usage from its node."""
        self._drop(ctxt, instance["uuid"], instance.get("node") or self.host)

    def _drop(self, ctxt: Any, instance_uuid: str, nodename: str) -> None:
        with self._lock:
            tracked = self.tracked_instances.pop(instance_uuid, None)
            if tracked is not None:
                self._update(ctxt, tracked[0])

    # -- reports ---------------------------------------------------------------------------

    def _usage(self, nodename: str) -> dict[str, int]:
        reserved = self._reserved()
        used = {
            "vcpus_used": reserved["vcpus"],
            "memory_mb_used": reserved["memory_mb"],
            "local_gb_used": reserved["disk_gb"],
            "running_vms": 0,
        }
        for node, usage in self.tracked_instances.values():
            if node != nodename:
                continue
            used["vcpus_used"] += usage["vcpus"]
            used["memory_mb_used"] += usage["memory_mb"]
            used["local_gb_used"] += usage["root_gb"]
            used["running_vms"] += 1
        return used

    def _update(self, ctxt: Any, nodename: str, inventories: dict | None = None) -> None:
        """Send the node's usage (and inventory when given) to the conductor, unless
        neither changed since the last report (a failed report is sent again)."""
        resources = self._resources.get(nodename)
        if resources is None:
            return
        values = {
            "host": self.host,
            "hypervisor_hostname": nodename,
            "vcpus": resources["vcpus"],
            "memory_mb": resources["memory_mb"],
            "local_gb": resources["local_gb"],
            "hypervisor_type": resources.get("hypervisor_type", "fake"),
            "hypervisor_version": resources.get("hypervisor_version", 1000),
            "cpu_allocation_ratio": self._ratio("cpu"),
            "ram_allocation_ratio": self._ratio("ram"),
            "disk_allocation_ratio": self._ratio("disk"),
        }
        if self.service_id is not None:
            values["service_id"] = self.service_id
        values["stats"] = {"failed_builds": self.failed_builds.get(nodename, 0)}
        values.update(self._usage(nodename))
        # As Nova's _resource_change and its provider tree cache: the compute node is
        # saved, and the inventory reported, only when they differ from the last report.
        reported = (values, inventories)
        last = self._reported.get(nodename)
        if last is not None and last[0] == values and (
            inventories is None or last[1] == inventories
        ):
            return
        self.compute_nodes[nodename] = self.conductor_api.compute_node_update(
            ctxt, values, inventories
        )
        if inventories is None and last is not None:
            reported = (values, last[1])
        self._reported[nodename] = reported

    def _inventories(self, resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
        reserved = self._reserved()
        return {
            "VCPU": {
                "total": resources["vcpus"], "reserved": reserved["vcpus"],
                "max_unit": resources["vcpus"], "allocation_ratio": self._ratio("cpu"),
            },
            "MEMORY_MB": {
                "total": resources["memory_mb"], "reserved": reserved["memory_mb"],
                "max_unit": resources["memory_mb"], "allocation_ratio": self._ratio("ram"),
            },
            "DISK_GB": {
                "total": resources["local_gb"], "reserved": reserved["disk_gb"],
                "max_unit": resources["local_gb"], "allocation_ratio": self._ratio("disk"),
            },
        }

    def update_available_resource(self, ctxt: Any, nodename: str) -> dict[str, Any]:
        """The periodic audit: read the hypervisor's capacity, rebuild the usage from the
        instances the database places on this node, and report inventory and usage.

        Returns the compute node row. Raises what the conductor calls raise (the
        periodic-task runner logs it and carries on).
        """
        with trace.span("compute.update_available_resource", host=self.host, node=nodename):
            resources = self.driver.get_available_resource(nodename)
            instances = self.conductor_api.instance_get_all_by_host(ctxt, self.host, nodename)
            with self._lock:
                self._resources[nodename] = resources
                kept = {
                    uuid: tracked for uuid, tracked in self.tracked_instances.items()
                    if tracked[0] != nodename
                }
                for instance in instances:
                    if instance.get("vm_state") in (vm_states.DELETED,):
                        continue
                    kept[instance["uuid"]] = (nodename, _usage_of(instance))
                self.tracked_instances = kept
                self._update(ctxt, nodename, self._inventories(resources))
            return self.compute_nodes[nodename]

    def build_failed(self, ctxt: Any, nodename: str) -> None:
        """Count a failed (or rescheduled) build on ``nodename`` and report it at once,
        so the scheduler's BuildFailureWeigher pushes this host down."""
        with self._lock:
            self.failed_builds[nodename] = self.failed_builds.get(nodename, 0) + 1
            self._update(ctxt, nodename)

    def build_succeeded(self, nodename: str) -> None:
        """A build succeeded: the failure count starts again from zero (reported with
        the next update, as Nova does)."""
        self.failed_builds[nodename] = 0

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the host's resource lock (tests and audits)."""
        with self._lock:
            yield
