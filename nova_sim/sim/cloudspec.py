"""The cloud to simulate: the cloud file (YAML), its checks, and building the cloud.

Owns the cloud file's schema (Rally refuses unknown keys in a task file, so the cloud
lives in a file of its own)::

    host_groups:                 # one or more; hosts are named <name>-<n>
      - name: general
        count: 8
        vcpus: 16
        memory_mb: 65536
        disk_gb: 1024
        availability_zone: nova  # the zone of the hosts' compute services
        aggregate: general       # a label that groups hosts in the results
    controllers:
      conductors: 1              # conductor hosts
      conductor_workers: 1       # conductor services (workers) per conductor host
      schedulers: 1
      scheduler_workers: 1
    options:                     # any nova-sim option, by group (DEFAULT for none)
      filter_scheduler: {enabled_filters: [ComputeFilter]}
      fake_driver: {spawn_latency: "uniform:1.0,2.0"}
    faults: [...]                # see nova_sim.sim.faults

Every key is checked; an unknown one, a bad value or an unknown option raises
``CloudError`` with one line naming it. ``DEFAULT_CLOUD`` is used when no file is given.
``build`` starts the cloud (on the current hub) and returns a ``SimCloud``. Aggregates are
labels only: nova-sim keeps a host's zone on its service row and has no aggregate
filters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml

from nova_sim.sim.hooks import Interposer, SimDriver

DEFAULT_CLOUD: dict[str, Any] = {
    "host_groups": [{"name": "compute", "count": 4, "vcpus": 16, "memory_mb": 65536,
                     "disk_gb": 1024, "availability_zone": "nova", "aggregate": "compute"}],
    "controllers": {"conductors": 1, "conductor_workers": 1, "schedulers": 1,
                    "scheduler_workers": 1},
    "options": {},
    "faults": [],
}

_GROUP_KEYS = {"name", "count", "vcpus", "memory_mb", "disk_gb", "availability_zone",
               "aggregate"}
_CONTROLLER_KEYS = {"conductors", "conductor_workers", "schedulers", "scheduler_workers"}


class CloudError(Exception):
    """A cloud file that cannot be simulated: one line naming the problem."""


@dataclass
class HostGroup:
    """Hosts of one shape: ``count`` hosts named ``<name>-1``..."""

    name: str
    count: int
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str
    aggregate: str

    @property
    def hosts(self) -> list[str]:
        """The group's host names."""
        return [f"{self.name}-{n}" for n in range(1, self.count + 1)]


@dataclass
class CloudSpec:
    """A checked cloud file."""

    host_groups: list[HostGroup]
    controllers: dict[str, int]
    options: dict[str, dict[str, Any]]
    faults: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def hosts(self) -> list[str]:
        """Every compute host, group by group."""
        return [host for group in self.host_groups for host in group.hosts]


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CloudError(f"cloud file: {where} must be a positive integer, got {value!r}")
    return value


def load_cloud(path: str | None) -> CloudSpec:
    """Read and check the cloud file at ``path`` (None: ``DEFAULT_CLOUD``)."""
    if path is None:
        return parse_cloud(copy.deepcopy(DEFAULT_CLOUD))
    try:
        with open(path, encoding="utf-8") as stream:
            config = yaml.safe_load(stream)
    except OSError as error:
        raise CloudError(f"cannot read cloud file {path}: {error.strerror}")
    except yaml.YAMLError as error:
        raise CloudError(f"cloud file {path} is not YAML: {' '.join(str(error).split())}")
    return parse_cloud(config if config is not None else {})


def parse_cloud(config: Any) -> CloudSpec:
    """Check a parsed cloud mapping; defaults fill what it leaves out."""
    from nova_sim.sim import faults

    if not isinstance(config, dict):
        raise CloudError("cloud file must be a mapping")
    unknown = sorted(set(config) - {"host_groups", "controllers", "options", "faults"})
    if unknown:
        raise CloudError(f"cloud file: unsupported key {unknown[0]!r}")
    groups = []
    for entry in config.get("host_groups", DEFAULT_CLOUD["host_groups"]) or []:
        if not isinstance(entry, dict):
            raise CloudError("cloud file: each host group must be a mapping")
        bad = sorted(set(entry) - _GROUP_KEYS)
        if bad:
            raise CloudError(f"cloud file: host group: unsupported key {bad[0]!r}")
        name = str(entry.get("name", f"group{len(groups) + 1}"))
        if not name or any(c in name for c in " ./:@"):
            raise CloudError(f"cloud file: host group name {name!r} is not a plain name")
        groups.append(HostGroup(
            name=name,
            count=_positive_int(entry.get("count", 1), f"host group {name} count"),
            vcpus=_positive_int(entry.get("vcpus", 16), f"host group {name} vcpus"),
            memory_mb=_positive_int(entry.get("memory_mb", 65536),
                                    f"host group {name} memory_mb"),
            disk_gb=_positive_int(entry.get("disk_gb", 1024), f"host group {name} disk_gb"),
            availability_zone=str(entry.get("availability_zone", "nova")),
            aggregate=str(entry.get("aggregate", name))))
    if not groups:
        raise CloudError("cloud file: at least one host group is needed")
    if len({g.name for g in groups}) != len(groups):
        raise CloudError("cloud file: host group names must differ")
    controllers = dict(DEFAULT_CLOUD["controllers"])
    given = config.get("controllers") or {}
    if not isinstance(given, dict):
        raise CloudError("cloud file: controllers must be a mapping")
    for key, value in given.items():
        if key not in _CONTROLLER_KEYS:
            raise CloudError(f"cloud file: controllers: unsupported key {key!r}")
        controllers[key] = _positive_int(value, f"controllers {key}")
    options = config.get("options") or {}
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise CloudError("cloud file: options must map option groups to mappings")
    spec = CloudSpec(host_groups=groups, controllers=controllers,
                     options={str(k): dict(v) for k, v in options.items()},
                     faults=[], source=config)
    spec.faults = faults.parse_faults(config.get("faults") or [], spec)
    make_conf(spec)  # every option is checked now, before anything runs
    return spec


def make_conf(spec: CloudSpec) -> Any:
    """A fresh nova-sim ConfigOpts with the cloud file's options set.

    CloudError names an unknown group or option, or a value its type refuses.
    """
    from nova_sim.deploy.cloud import new_conf

    conf = new_conf()
    for group, values in spec.options.items():
        group_name = None if group == "DEFAULT" else group
        for name, value in values.items():
            where = f"[{group}] {name}"
            try:
                conf.set_override(name, value, group=group_name)
            except Exception as error:  # NoSuchOptError, NoSuchGroupError, ValueError...
                raise CloudError(f"cloud file: options {where}: "
                                 f"{' '.join(str(error).split())}")
    return conf


class SimCloud:
    """A started simulated cloud: the ``Cloud``, its drivers by host, the interposer."""

    def __init__(self, spec: CloudSpec, cloud: Any, drivers: dict[str, SimDriver],
                 interposer: Interposer, controllers: list[Any]):
        self.spec = spec
        self.cloud = cloud
        self.drivers = drivers
        self.interposer = interposer
        self.controllers = controllers

    def stop(self) -> None:
        """Stop the extra controllers and the cloud."""
        for service in self.controllers:
            service.stop()
        self.cloud.stop()

    def restart_compute(self, host: str) -> None:
        """Start ``host``'s compute service again (its driver kept its guests): Nova's
        ``init_host`` runs, instances caught mid-build go to ERROR."""
        driver = self.drivers[host]
        driver.revive()
        self.cloud.add_compute(host, driver=driver)


def build(spec: CloudSpec, virtual: bool = True, computes: bool = True,
          quotas: dict[str, int] | None = None) -> SimCloud:
    """Start the cloud of ``spec`` on the current hub (inside ``virtual_time`` when
    ``virtual``). ``computes`` False starts only the controllers (``--validate``);
    ``quotas`` sets ``[quota]`` options (the task's quotas context)."""
    from nova_sim.deploy.cloud import Cloud, build_service

    conf = make_conf(spec)
    for name, value in (quotas or {}).items():
        conf.set_override(name, value, group="quota")
    interposer = Interposer()
    cloud = Cloud(conf=conf, computes=0, virtual=virtual)
    cloud.start()
    interposer.wrap_transport(cloud.transport)
    interposer.wrap_database(cloud.db)
    base_host = cloud.conductor.host
    controllers = []
    for binary, hosts_key, workers_key in (("nova-conductor", "conductors", "conductor_workers"),
                                           ("nova-scheduler", "schedulers", "scheduler_workers")):
        for index in range(1, spec.controllers[hosts_key] + 1):
            host = base_host if index == 1 else f"{base_host}-{index}"
            for worker in range(1, spec.controllers[workers_key] + 1):
                if index == 1 and worker == 1:
                    continue  # the Cloud's own
                controllers.append(build_service(binary, host, conf, cloud.transport,
                                                 db=cloud.db).start())
    drivers: dict[str, SimDriver] = {}
    if computes:
        for group in spec.host_groups:
            for host in group.hosts:
                driver = SimDriver(conf, host, group.name, vcpus=group.vcpus,
                                   memory_mb=group.memory_mb, local_gb=group.disk_gb)
                drivers[host] = driver
                cloud.add_compute(host, driver=driver)
                if group.availability_zone != "nova":
                    row = cloud.db.service_get_by_host_and_binary(host, "nova-compute")
                    cloud.db.service_update(row["id"],
                                            {"availability_zone": group.availability_zone})
    _wait_until_up(cloud, list(drivers))
    interposer.db_calls.clear()  # count the run's transactions, not the start-up's
    return SimCloud(spec, cloud, drivers, interposer, controllers)


def _wait_until_up(cloud: Any, hosts: list[str]) -> None:
    """Wait, on the cloud's clock, until every compute of ``hosts`` counts as up: a task
    starts on a running cloud, as a Rally task does.

    The database service group counts a new service row as up at once. Under the
    in-memory one (``mc``) a compute is down until its first heartbeat, which comes
    ``INITIAL_REPORTING_DELAY`` seconds after it started; a task started before then would
    have its first boots refused (NoValidHost). Raises ``CloudError`` when some are still
    down after that delay and two report intervals.
    """
    from nova_sim import green
    from nova_sim.servicegroup.drivers.base import INITIAL_REPORTING_DELAY

    group = cloud.api.servicegroup_api
    if group.uses_service_rows or not hosts:
        return
    deadline = green.now() + INITIAL_REPORTING_DELAY + 2 * cloud.conf.report_interval
    down = hosts
    while True:
        down = [host for host in down if not group.host_is_up("compute", host)]
        if not down:
            return
        if green.now() >= deadline:
            raise CloudError(f"{len(down)} of {len(hosts)} computes are not up "
                             f"(the first: {down[0]}): they sent no heartbeat")
        green.sleep(1.0)
