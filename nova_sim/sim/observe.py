"""Nova's side of a run: RPC messages, services' load, hosts' use, boot phases.

Owns what the simulator measures inside the cloud while the load runs:

- ``RPCObserver`` (an RPC instrument): messages sent by method and kind; for each
  service group (``conductor``, ``scheduler``, ``compute``) the messages waiting (sent to
  its topic, not yet being dispatched: on the bus or in a server's backlog), the
  dispatches in progress, and the time with at least one dispatch in progress (*busy*;
  on the virtual clock without a cost model, that is time spent waiting inside a
  dispatch: on another service, the database or the hypervisor); ``select_destinations``
  durations (the scheduling phase), NoValidHost answers and reschedules (a compute
  asking the conductor to ``build_instances`` again);
- ``Sampler``: every ``interval`` seconds, each service group's queue depth and
  dispatches in progress, the hypervisor operations in progress, and the hosts' use of
  vCPUs and RAM (what the hypervisors run, in all and per aggregate of the cloud file)
  and their fragmentation: the share of free RAM on hosts that could not take one more
  instance of the reference flavor.

Must not know about tasks or reports.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from nova_sim import green
from nova_sim.rpc import instruments

GROUPS = ("conductor", "scheduler", "compute")


def _group(topic: str | None) -> str | None:
    if not topic:
        return None
    base = topic.split(".", 1)[0]
    return base if base in GROUPS else None


class RPCObserver:
    """Counts and times RPC traffic by service group (see the module docstring)."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()  # "kind method" -> count
        self.waiting: Counter[str] = Counter()
        self.running: Counter[str] = Counter()
        self.busy_time: dict[str, float] = {group: 0.0 for group in GROUPS}
        self._busy_since: dict[str, float] = {}
        self.dispatched: Counter[str] = Counter()
        self.scheduling: list[float] = []
        self.no_valid_host = 0
        self.reschedules = 0
        self._started: dict[int, float] = {}
        self.started_at = 0.0

    # -- installing -----------------------------------------------------------------
    def install(self) -> None:
        """Start observing every transport of this process."""
        self.started_at = green.now()
        instruments.add_instrument(self)

    def uninstall(self) -> None:
        """Stop observing; busy periods still open are closed now."""
        instruments.remove_instrument(self)
        for group in list(self._busy_since):
            self._close_busy(group)

    # -- RPC hooks ---------------------------------------------------------------------
    def message_sent(self, kind: str, target: Any, message: dict) -> None:
        method = message.get("method", "?")
        self.sent[f"{kind} {method}"] += 1
        group = _group(getattr(target, "topic", None))
        if group is not None and kind != "fanout":
            self.waiting[group] += 1
        if method == "build_instances" and group == "conductor":
            self.reschedules += 1

    def dispatch_started(self, target: Any, message: dict, ctxt: Any) -> None:
        group = _group(getattr(target, "topic", None))
        if group is None:
            return
        if self.waiting[group] > 0:
            self.waiting[group] -= 1
        if not self.running[group]:
            self._busy_since[group] = green.now()
        self.running[group] += 1
        if message.get("method") == "select_destinations":
            self._started[id(message)] = green.now()

    def dispatch_finished(self, target: Any, message: dict, ctxt: Any, result: Any,
                          error: Any) -> None:
        group = _group(getattr(target, "topic", None))
        if group is None:
            return
        self.dispatched[group] += 1
        self.running[group] -= 1
        if not self.running[group]:
            self._close_busy(group)
        if message.get("method") == "select_destinations":
            started = self._started.pop(id(message), None)
            if started is not None:
                self.scheduling.append(green.now() - started)
            if error is not None and type(error).__name__ == "NoValidHost":
                self.no_valid_host += 1

    def _close_busy(self, group: str) -> None:
        since = self._busy_since.pop(group, None)
        if since is not None:
            self.busy_time[group] += green.now() - since


class Sampler:
    """Samples load and use every ``interval`` seconds while running."""

    def __init__(self, sim_cloud: Any, observer: RPCObserver, interval: float,
                 flavor: dict[str, Any]):
        self.sim_cloud = sim_cloud
        self.observer = observer
        self.interval = interval
        self.flavor = flavor
        self.samples: list[dict[str, Any]] = []
        self._aggregate_of = {group.name: group.aggregate
                              for group in sim_cloud.spec.host_groups}
        self.started = 0.0
        self._thread: Any = None
        self._hosts_key: tuple | None = None
        self._hosts_cache: tuple[list, dict[str, list[int]]] = ([], {})

    def start(self) -> None:
        """Take a first sample now and one every interval until ``stop``."""
        self.started = green.now()
        self._thread = green.spawn(self._loop)

    def stop(self) -> None:
        """Take a last sample and stop."""
        if self._thread is not None:
            self._thread.kill()
            self._thread = None
        self.samples.append(self.sample())

    def _loop(self) -> None:
        while True:
            self.samples.append(self.sample())
            green.sleep(self.interval)

    def _hosts(self, cpu_ratio: float, ram_ratio: float, reserved_ram: int) -> list:
        """Per host, in the drivers' order: ``(driver, aggregate, free RAM and whether
        one more reference instance fits, both when it runs nothing)``, and the totals
        of each aggregate; made again only when the hosts or the options change (a
        sample of 10,000 idle hosts then costs a few attribute reads per host)."""
        drivers = self.sim_cloud.drivers
        key = (len(drivers), cpu_ratio, ram_ratio, reserved_ram, self.flavor["ram"],
               self.flavor["vcpus"])
        if self._hosts_key != key:
            hosts = []
            totals: dict[str, list[int]] = {}
            for driver in drivers.values():
                aggregate = self._aggregate_of[driver.group]
                total = totals.setdefault(aggregate, [0, 0])
                total[0] += driver.vcpus
                total[1] += driver.memory_mb
                free = max(0, driver.memory_mb * ram_ratio - reserved_ram)
                fits = (free >= self.flavor["ram"]
                        and driver.vcpus * cpu_ratio >= self.flavor["vcpus"])
                hosts.append((driver, aggregate, free, fits))
            self._hosts_cache = (hosts, totals)
            self._hosts_key = key
        return self._hosts_cache

    def sample(self) -> dict[str, Any]:
        """One sample: time, queues, dispatches in progress, host use."""
        used_vcpus = used_ram = 0
        free_ram = stranded_ram = 0
        operations = 0
        conf = self.sim_cloud.cloud.conf
        cpu_ratio = conf.cpu_allocation_ratio or conf.initial_cpu_allocation_ratio
        ram_ratio = conf.ram_allocation_ratio or conf.initial_ram_allocation_ratio
        reserved_ram = conf.reserved_host_memory_mb
        hosts, totals = self._hosts(cpu_ratio, ram_ratio, reserved_ram)
        used = {aggregate: [0, 0] for aggregate in totals}
        flavor_ram, flavor_vcpus = self.flavor["ram"], self.flavor["vcpus"]
        for driver, aggregate, free, fits in hosts:
            operations += driver.operations
            guests = driver.instances
            if guests:  # else it runs nothing: what _hosts says of an empty host
                vcpus = sum(guest["vcpus"] for guest in guests.values())
                ram = sum(guest["memory_mb"] for guest in guests.values())
                use = used[aggregate]
                use[0] += vcpus
                use[1] += ram
                used_vcpus += vcpus
                used_ram += ram
                free = max(0, driver.memory_mb * ram_ratio - reserved_ram - ram)
                fits = (free >= flavor_ram
                        and driver.vcpus * cpu_ratio - vcpus >= flavor_vcpus)
            free_ram += free
            if not fits:
                stranded_ram += free
        total_vcpus = sum(total[0] for total in totals.values())
        total_ram = sum(total[1] for total in totals.values())
        observer = self.observer
        return {
            "time": round(green.now() - self.started, 6),
            "queue": {group: observer.waiting[group] for group in GROUPS},
            "running": {group: observer.running[group] for group in GROUPS},
            "hypervisor_operations": operations,
            "vcpu_used": round(used_vcpus / total_vcpus, 6) if total_vcpus else 0.0,
            "ram_used": round(used_ram / total_ram, 6) if total_ram else 0.0,
            "fragmentation": round(stranded_ram / free_ram, 6) if free_ram else 0.0,
            "by_aggregate": {name: {"vcpu_used": round(used[name][0] / total[0], 6),
                                    "ram_used": round(used[name][1] / total[1], 6)}
                             for name, total in sorted(totals.items())},
        }


def boot_phases(sim_cloud: Any, since: float = 0.0) -> dict[str, list[float]]:
    """Per instance created from wall-clock time ``since`` on, from the database and the
    drivers: ``boot`` (the create action's start to ``launched_at``), ``build`` (the
    compute's build event) and ``spawn`` (the hypervisor's spawn), in seconds."""
    db = sim_cloud.cloud.db
    phases: dict[str, list[float]] = {"boot": [], "build": [], "spawn": []}
    spawns: dict[str, tuple[float, float]] = {}
    for driver in sim_cloud.drivers.values():
        spawns.update(driver.spawns)
    rows = db.instance_get_all_by_filters({"deleted": "any"}, sort_keys=["created_at"],
                                          sort_dirs=["asc"])
    for row in rows:
        actions = [a for a in db.actions_get(row["uuid"]) if a["action"] == "create"]
        if not actions:
            continue
        action = actions[0]
        started = _seconds(action["start_time"])
        if started is None or started < since - 1e-6:
            continue
        launched = _seconds(row.get("launched_at"))
        if started is not None and launched is not None:
            phases["boot"].append(launched - started)
        for event in db.action_events_get(action["id"]):
            if event["event"] == "compute__do_build_and_run_instance" and event.get(
                    "finish_time"):
                phases["build"].append(_seconds(event["finish_time"])
                                       - _seconds(event["start_time"]))
        if row["uuid"] in spawns:
            begin, end = spawns[row["uuid"]]
            phases["spawn"].append(end - begin)
    return phases


def _seconds(value: Any) -> float | None:
    """Seconds since the epoch of a database timestamp (ISO text or a naive UTC
    datetime); None stays None."""
    import datetime

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()
