"""The scheduler service's manager: ``select_destinations`` and the instance-info casts.

Owns the scheduling algorithm (Nova's ``SchedulerManager._schedule``): placement-like
allocation candidates, then filters, then weighers, then a random pick among the best
``host_subset_size``, then an atomic claim (on a failed claim, the next host), and
alternates for reschedules. Must not know about the compute driver or the REST API; it
reads the database (through ``HostManager``) and claims in it.

The request spec
================

``select_destinations`` takes the request spec as a plain dict (Nova's RequestSpec
fields that matter here; every key is optional except ``flavor``):

``flavor``            the flavor row (``vcpus``, ``memory_mb``, ``root_gb``,
                      ``ephemeral_gb``, ``swap``, ``extra_specs``)
``image``             ``{"id": ..., "properties": {...}}``
``num_instances``     used when ``instance_uuids`` is None
``project_id``, ``user_id``   recorded with the allocations
``availability_zone`` the zone asked for (AvailabilityZoneFilter)
``instance_group``    ``{"uuid", "policy", "hosts", "members", "rules"}``; or
``scheduler_hints``   ``{"group": <server group uuid>}``: the group is then read from the
                      database, with the hosts of its members
``ignore_hosts``      hosts never chosen (e.g. the source of a move)
``force_hosts`` / ``force_nodes``  only these; the filters are skipped (as Nova does)

The answer
==========

With ``return_objects=True`` (what nova-sim's rpcapi asks for): one list per instance,
``[chosen, alternate, ...]``, each a *selection* dict (Nova's Selection object)::

    {"service_host": "c1", "nodename": "c1", "compute_node_uuid": "<rp uuid>",
     "cell_uuid": CELL_UUID, "limits": {}, "availability_zone": "nova",
     "allocation_request": {"allocations": {"<rp uuid>": {"resources": {...}}}},
     "allocation_request_version": "1.29"}

The chosen host is claimed (its allocation is in the database when the call returns);
alternates (up to ``[scheduler] max_attempts - 1`` with ``return_alternates``, hosts not
chosen for any instance of the request, best first) are NOT claimed: the conductor claims
one when a build fails (``nova_sim.scheduler.utils.claim_resources``). With
``return_objects=False``: Nova's old format, a flat list of ``{"host", "nodename",
"limits"}``, one per instance. ``NoValidHost`` when an instance fits nowhere; the claims
already made for the request are then removed.

Steps
=====

A request for many instances is handled one instance at a time, yielding to the hub
after each claim (where Nova's greenthread yields on its HTTP call to placement), so a
``max_count`` of 1,000 does not hold the process. Requests may therefore interleave
between two instances; each one's host states (``consume_from_request``) are a local
estimate only, and the claim in the database, atomic, is what decides.
"""

from __future__ import annotations

import logging
import random as random_module
from typing import Any

import nova_sim.conf
from nova_sim import exception, green, rpc, trace
from nova_sim.conf import ConfigError
from nova_sim.scheduler import utils
from nova_sim.scheduler.filters import all_filters
from nova_sim.scheduler.host_manager import HostManager
from nova_sim.scheduler.weights import all_weighers, weigh_hosts
from nova_sim.servicegroup import API as ServiceGroupAPI

LOG = logging.getLogger(__name__)

#: The one cell of nova-sim (Nova's cell1), named by a fixed uuid.
CELL_UUID = "00000000-0000-0000-0000-0000000000c1"

RPC_API_VERSION = "4.5"


class SchedulerManager:
    """The nova-scheduler manager; its public methods are the RPC endpoint (``4.5``).

    ``db``: a ``nova_sim.db.Database`` (default: one opened from ``[database]
    connection`` on the hub's wall clock). ``conf``: options (``[scheduler]``,
    ``[filter_scheduler]``, ``service_down_time``, ``default_availability_zone``), read
    once here. ``clock``: seconds since the epoch for "is the service up" (default: the
    database's clock, so it matches how heartbeats were stamped). ``random``: a
    ``random.Random`` for the host-subset pick (default: the hub's seeded generator).
    """

    target = rpc.Target(version=RPC_API_VERSION)

    def __init__(
        self,
        db: Any = None,
        conf: Any = None,
        clock: Any = None,
        random: Any = None,
    ):
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        if db is None:
            from nova_sim.db import Database

            db = Database.from_config(conf, clock=green.wallclock)
        self.db = db
        self.clock = clock or db.clock
        self._random = random
        self.max_attempts = conf.scheduler.max_attempts
        self.max_placement_results = conf.scheduler.max_placement_results
        self.host_subset_size = conf.filter_scheduler.host_subset_size
        self.shuffle_best_same_weighed_hosts = (
            conf.filter_scheduler.shuffle_best_same_weighed_hosts
        )
        self.service_down_time = conf.service_down_time
        self.host_manager = HostManager(
            db, self.clock, default_availability_zone=conf.default_availability_zone,
        )
        self.filters = self._load_filters(conf.filter_scheduler.enabled_filters)
        self.weighers = self._load_weighers()

    # -- set-up ---------------------------------------------------------------------------

    def _load_filters(self, names: list[str]) -> list:
        classes = all_filters()
        unknown = [name for name in names if name not in classes]
        if unknown:
            raise ConfigError(
                f"[filter_scheduler] enabled_filters: unknown filter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(classes))}"
            )
        filters = []
        for name in list(names) + (["ResourceFilter"] if "ResourceFilter" not in names else []):
            cls = classes[name]
            if name == "ComputeFilter":
                filters.append(
                    cls(self.conf, self.clock, service_down_time=self.service_down_time,
                        servicegroup_api=ServiceGroupAPI(self.conf))
                )
            elif name == "IoOpsFilter":
                filters.append(cls(self.conf, self.clock, max_io_ops_per_host=(
                    self.conf.filter_scheduler.max_io_ops_per_host)))
            elif name == "NumInstancesFilter":
                filters.append(cls(self.conf, self.clock, max_instances_per_host=(
                    self.conf.filter_scheduler.max_instances_per_host)))
            else:
                filters.append(cls(self.conf, self.clock))
        self._resolve_hints = any(
            type(f).__name__ in ("SameHostFilter", "DifferentHostFilter") for f in filters
        )
        return filters

    def _load_weighers(self) -> list:
        weighers = []
        for cls in all_weighers().values():
            weighers.append(cls(self.conf.filter_scheduler[cls.option]))
        return weighers

    @property
    def random(self) -> Any:
        """The generator of the host-subset pick (the hub's seeded one by default)."""
        if self._random is not None:
            return self._random
        try:
            return green.get_hub().random
        except Exception:  # noqa: BLE001 - no hub: an unseeded generator
            self._random = random_module.Random()
            return self._random

    # -- RPC endpoint ---------------------------------------------------------------------

    @rpc.expected_exceptions(exception.NoValidHost)
    def select_destinations(
        self,
        ctxt: Any,
        request_spec: dict[str, Any] | None = None,
        instance_uuids: list[str] | None = None,
        return_objects: bool = False,
        return_alternates: bool = False,
        spec_obj: dict[str, Any] | None = None,
        filter_properties: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list:
        """Choose (and claim) a host for each instance; see the module docstring.

        ``spec_obj`` is the name Nova's RPC 4.4+ uses for the spec; ``request_spec`` is
        accepted too. ``instance_uuids`` None: no claims are made (nothing to claim for),
        ``num_instances`` of the spec says how many hosts to choose. Raises
        ``NoValidHost`` (no candidate, or fewer hosts than instances), an expected
        error: the caller gets it, the scheduler logs it at debug only.
        """
        spec = dict(spec_obj or request_spec or {})
        if filter_properties:
            spec.setdefault("scheduler_hints", filter_properties.get("scheduler_hints") or {})
        num_instances = (
            len(instance_uuids) if instance_uuids is not None
            else int(spec.get("num_instances") or 1)
        )
        with trace.span(
            "scheduler.select_destinations", instances=num_instances,
            flavor=(spec.get("flavor") or {}).get("name"),
        ):
            host_lists = self._schedule(
                ctxt, spec, instance_uuids, num_instances,
                self.max_attempts - 1 if return_alternates else 0,
            )
        if return_objects:
            return host_lists
        return [
            {"host": hosts[0]["service_host"], "nodename": hosts[0]["nodename"],
             "limits": hosts[0]["limits"]}
            for hosts in host_lists
        ]

    def update_instance_info(
        self, ctxt: Any, host_name: str, instance_info: Any, **kwargs: Any
    ) -> None:
        """Fanout cast from a compute: instances now on ``host_name`` (a list of instance
        dicts or uuids)."""
        self.host_manager.update_instance_info(host_name, _uuids(instance_info))

    def delete_instance_info(
        self, ctxt: Any, host_name: str, instance_uuid: str, **kwargs: Any
    ) -> None:
        """Fanout cast from a compute: ``instance_uuid`` left ``host_name``."""
        self.host_manager.delete_instance_info(host_name, instance_uuid)

    def sync_instance_info(
        self, ctxt: Any, host_name: str, instance_uuids: list[str], **kwargs: Any
    ) -> None:
        """Fanout cast from a compute: the full list of its instances."""
        self.host_manager.sync_instance_info(host_name, instance_uuids)

    # -- the algorithm --------------------------------------------------------------------

    def _schedule(
        self,
        ctxt: Any,
        spec: dict[str, Any],
        instance_uuids: list[str] | None,
        num_instances: int,
        num_alternates: int,
    ) -> list[list[dict[str, Any]]]:
        LOG.debug("Starting to schedule for instances: %s", instance_uuids)  # as Nova's
        resources = utils.resources_from_request_spec(spec)
        self.host_manager.refresh()
        self._setup_instance_group(spec)
        if self._resolve_hints:
            self._setup_hint_hosts(spec)
        hosts = self.host_manager.get_candidates(resources, self.max_placement_results)
        if not hosts:
            LOG.debug("Got no allocation candidates for %s", resources)
            raise exception.NoValidHost(reason="")
        hosts = self._restrict_hosts(hosts, spec)
        project_id = spec.get("project_id") or getattr(ctxt, "project_id", None)
        user_id = spec.get("user_id") or getattr(ctxt, "user_id", None)
        claimed: list = []
        claimed_uuids: list[str] = []
        sorted_hosts: list = []
        for index in range(num_instances):
            sorted_hosts = self._get_sorted_hosts(spec, hosts, index)
            chosen = None
            if instance_uuids is None:
                chosen = sorted_hosts[0] if sorted_hosts else None
            else:
                for host in sorted_hosts:
                    claimed_here = self.db.claim_resources(
                        instance_uuids[index], host.uuid, resources, project_id, user_id
                    )
                    if claimed_here:
                        chosen = host
                        claimed_uuids.append(instance_uuids[index])
                        break
                    LOG.debug("Claim on %s failed (raced); trying the next host", host.host)
            if chosen is None:
                for uuid in claimed_uuids:
                    self.db.remove_allocations(uuid)
                for host in claimed:
                    host.unconsume_from_request(resources)
                raise exception.NoValidHost(reason="There are not enough hosts available.")
            chosen.consume_from_request(resources)
            self._consume_group(spec, chosen)
            claimed.append(chosen)
            hosts = sorted_hosts
            # Nova's claim is an HTTP call to placement, where its greenthread yields;
            # nova-sim's is a database write on the hub, which does not. Yield here so
            # that a request for many instances is handled in steps of one instance,
            # and the process serves other work between them.
            green.sleep(0)
        host_lists = self._host_lists(claimed, sorted_hosts, resources, num_alternates)
        if instance_uuids is None:
            # Nothing was claimed: the choices must not linger in the cache.
            for host in claimed:
                host.unconsume_from_request(resources)
        return host_lists

    def _restrict_hosts(self, hosts: list, spec: dict[str, Any]) -> list:
        ignore = set(spec.get("ignore_hosts") or ())
        if ignore:
            hosts = [host for host in hosts if host.host not in ignore]
        force_hosts = set(spec.get("force_hosts") or ())
        force_nodes = set(spec.get("force_nodes") or ())
        if force_hosts or force_nodes:
            hosts = [
                host for host in hosts
                if (not force_hosts or host.host in force_hosts)
                and (not force_nodes or host.nodename in force_nodes)
            ]
        return hosts

    def _get_sorted_hosts(self, spec: dict[str, Any], hosts: list, index: int) -> list:
        """Filter, weigh, then move a random one of the best ``host_subset_size`` first."""
        forced = spec.get("force_hosts") or spec.get("force_nodes")
        for host_filter in self.filters:
            if not hosts:
                break
            if forced and type(host_filter).__name__ != "ResourceFilter":
                continue
            if not host_filter.run_filter_for_request(spec, index):
                continue
            before = len(hosts)
            hosts = host_filter.filter_all(hosts, spec)
            if len(hosts) != before:
                LOG.debug("Filter %s returned %d of %d hosts", host_filter.name, len(hosts),
                          before)
        if not hosts:
            return []
        weighed = weigh_hosts(self.weighers, hosts, spec)
        if self.shuffle_best_same_weighed_hosts:
            best = weighed[0].weight
            same = 1
            while same < len(weighed) and weighed[same].weight == best:
                same += 1
            if same > 1:
                head = weighed[:same]
                self.random.shuffle(head)
                weighed[:same] = head
        subset = weighed[: min(self.host_subset_size, len(weighed))]
        chosen = subset[self.random.randrange(len(subset))] if len(subset) > 1 else subset[0]
        if chosen is not weighed[0]:
            weighed.remove(chosen)
            weighed.insert(0, chosen)
        return weighed

    def _setup_instance_group(self, spec: dict[str, Any]) -> None:
        """Fill ``spec["instance_group"]`` (policy, hosts of the members) from the
        database when the request names a group."""
        group = spec.get("instance_group")
        group_uuid = (group or {}).get("uuid") or (spec.get("scheduler_hints") or {}).get(
            "group"
        )
        if isinstance(group_uuid, list):
            group_uuid = group_uuid[0] if group_uuid else None
        if not group_uuid:
            return
        if not group or not group.get("policy"):
            try:
                group = dict(self.db.server_group_get(group_uuid))
            except exception.NotFound:
                raise exception.NoValidHost(reason=f"Server group {group_uuid} not found.")
        else:
            group = dict(group)
        counts = self.db.server_group_member_host_counts(group_uuid)
        if group.get("hosts") is None:
            group["hosts"] = sorted(counts)
        group["hosts"] = list(group["hosts"])
        group["member_hosts_count"] = counts
        spec["instance_group"] = group

    def _setup_hint_hosts(self, spec: dict[str, Any]) -> None:
        """Resolve the ``same_host`` / ``different_host`` hints (instance uuids) to the
        hosts of those instances: ``spec["hint_hosts"]``."""
        hints = spec.get("scheduler_hints") or {}
        resolved = {}
        for hint in ("same_host", "different_host"):
            uuids = hints.get(hint)
            if not uuids:
                continue
            uuids = [uuids] if isinstance(uuids, str) else list(uuids)
            instances = self.db.instance_get_all_by_filters({"uuid": uuids})
            resolved[hint] = sorted({i["host"] for i in instances if i.get("host")})
        if resolved:
            spec["hint_hosts"] = resolved

    @staticmethod
    def _consume_group(spec: dict[str, Any], host: Any) -> None:
        group = spec.get("instance_group")
        if group is None:
            return
        if host.host not in group["hosts"]:
            group["hosts"].append(host.host)
        counts = group.setdefault("member_hosts_count", {})
        counts[host.host] = counts.get(host.host, 0) + 1

    def _host_lists(
        self, claimed: list, sorted_hosts: list, resources: dict[str, int], num_alternates: int
    ) -> list[list[dict[str, Any]]]:
        """[chosen] + up to ``num_alternates`` alternates (not chosen for any instance of
        the request, best first, still with room for the instance) per instance."""
        chosen_set = {id(host) for host in claimed}
        alternates = []
        if num_alternates:
            for host in sorted_hosts:
                if len(alternates) >= num_alternates:
                    break
                if id(host) in chosen_set:
                    continue
                if all(host.room.get(rc, -1) >= amount for rc, amount in resources.items()):
                    alternates.append(host)
        return [
            [self._selection(host, resources)] + [
                self._selection(alternate, resources) for alternate in alternates
            ]
            for host in claimed
        ]

    @staticmethod
    def _selection(host: Any, resources: dict[str, int]) -> dict[str, Any]:
        return {
            "service_host": host.host,
            "nodename": host.nodename,
            "compute_node_uuid": host.uuid,
            "cell_uuid": CELL_UUID,
            "limits": dict(host.limits),
            "availability_zone": host.availability_zone,
            "allocation_request": utils.allocation_request(host.uuid, resources),
            "allocation_request_version": utils.ALLOCATION_REQUEST_VERSION,
        }


def _uuids(instance_info: Any) -> list[str]:
    if isinstance(instance_info, dict):
        instance_info = instance_info.get("objects") or list(instance_info.values())
    uuids = []
    for item in instance_info or ():
        uuids.append(item.get("uuid") if isinstance(item, dict) else str(item))
    return [uuid for uuid in uuids if uuid]
