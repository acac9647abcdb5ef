"""Faults on the simulated timeline: what can go wrong, when, and for how long.

Owns the ``faults`` list of the cloud file and playing it during a run. Times (``at``,
``until``) are seconds after the load starts (each workload's: a task of several
workloads plays the list for each). Kinds:

- ``compute_crash``: the compute services of ``hosts`` (or the first ``count`` hosts of
  ``group``) die at ``at``: they stop consuming and heartbeating, and the work they had in
  flight never ends; with ``until`` they start again then, and Nova's ``init_host`` puts
  the instances caught mid-build in ERROR;
- ``compute_slow``: those hosts' hypervisor operations take ``factor`` times longer;
- ``bus_down``: from ``at`` to ``until`` (required) every message waits for the bus;
- ``bus_slow``: every message takes ``delay`` seconds more;
- ``db_slow``: every database transaction takes ``delay`` seconds more;
- ``build_failures``: builds on those hosts fail with ``probability`` (the compute then
  reschedules them, as Nova does).

Each start and end is recorded on the run's timeline (``Timeline.events``), which the
results show. Must not know about tasks or reports.
"""

from __future__ import annotations

from typing import Any

from nova_sim import green

KINDS = ("compute_crash", "compute_slow", "bus_down", "bus_slow", "db_slow",
         "build_failures")
_HOST_KINDS = ("compute_crash", "compute_slow", "build_failures")
_KEYS = {
    "compute_crash": {"kind", "at", "until", "hosts", "group", "count"},
    "compute_slow": {"kind", "at", "until", "hosts", "group", "count", "factor"},
    "bus_down": {"kind", "at", "until"},
    "bus_slow": {"kind", "at", "until", "delay"},
    "db_slow": {"kind", "at", "until", "delay"},
    "build_failures": {"kind", "at", "until", "hosts", "group", "count", "probability"},
}


def _number(value: Any, where: str, low: float = 0.0) -> float:
    from nova_sim.sim.cloudspec import CloudError

    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
        raise CloudError(f"cloud file: fault {where} must be a number >= {low:g}, "
                         f"got {value!r}")
    return float(value)


def parse_faults(entries: Any, spec: Any) -> list[dict[str, Any]]:
    """Check the cloud file's ``faults`` against the cloud ``spec``; each fault comes back
    with its ``hosts`` resolved. CloudError (one line) names the first problem."""
    from nova_sim.sim.cloudspec import CloudError

    if not isinstance(entries, list):
        raise CloudError("cloud file: faults must be a list")
    faults = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            kind = entry.get("kind") if isinstance(entry, dict) else entry
            raise CloudError(f"cloud file: unsupported fault kind {kind!r} (kinds: "
                             f"{', '.join(KINDS)})")
        kind = entry["kind"]
        bad = sorted(set(entry) - _KEYS[kind])
        if bad:
            raise CloudError(f"cloud file: fault {kind}: unsupported key {bad[0]!r}")
        fault = {"kind": kind, "at": _number(entry.get("at", 0), f"{kind} at")}
        if "until" in entry:
            fault["until"] = _number(entry["until"], f"{kind} until")
            if fault["until"] <= fault["at"]:
                raise CloudError(f"cloud file: fault {kind}: until must be after at")
        elif kind == "bus_down":
            raise CloudError("cloud file: fault bus_down needs 'until'")
        if kind in _HOST_KINDS:
            fault["hosts"] = _fault_hosts(entry, spec)
        if kind == "compute_slow":
            fault["factor"] = _number(entry.get("factor", 2.0), "compute_slow factor", 1.0)
        if kind in ("bus_slow", "db_slow"):
            fault["delay"] = _number(entry.get("delay", 0.1), f"{kind} delay")
        if kind == "build_failures":
            probability = _number(entry.get("probability", 1.0), "build_failures probability")
            if probability > 1:
                raise CloudError("cloud file: fault build_failures probability must be "
                                 "at most 1")
            fault["probability"] = probability
        faults.append(fault)
    return faults


def _fault_hosts(entry: dict[str, Any], spec: Any) -> list[str]:
    from nova_sim.sim.cloudspec import CloudError

    kind = entry["kind"]
    if "hosts" in entry:
        hosts = entry["hosts"]
        if not isinstance(hosts, list) or not hosts:
            raise CloudError(f"cloud file: fault {kind}: hosts must be a non-empty list")
        known = set(spec.hosts)
        for host in hosts:
            if host not in known:
                raise CloudError(f"cloud file: fault {kind}: unknown host {host!r}")
        return [str(h) for h in hosts]
    if "group" in entry:
        group = next((g for g in spec.host_groups if g.name == entry["group"]), None)
        if group is None:
            raise CloudError(f"cloud file: fault {kind}: unknown group {entry['group']!r}")
        count = entry.get("count", group.count)
        if isinstance(count, bool) or not isinstance(count, int) or not (
                1 <= count <= group.count):
            raise CloudError(f"cloud file: fault {kind}: count must be 1..{group.count}")
        return group.hosts[:count]
    raise CloudError(f"cloud file: fault {kind} needs 'hosts' or 'group'")


class Timeline:
    """Plays the faults of a started ``SimCloud`` from the load's start; ``events`` lists
    each fault's start and end as ``{"time", "kind", "event", "hosts"?}``."""

    def __init__(self, sim_cloud: Any, faults: list[dict[str, Any]]):
        self.sim_cloud = sim_cloud
        self.faults = faults
        self.events: list[dict[str, Any]] = []
        self.started = 0.0
        self._timers: list[Any] = []
        self._active: list[dict[str, Any]] = []

    def start(self) -> None:
        """Arm every fault, counting time from now."""
        self.started = green.now()
        for fault in self.faults:
            self._timers.append(green.spawn_after(fault["at"], self._apply, fault, True))
            if "until" in fault:
                self._timers.append(green.spawn_after(fault["until"], self._apply, fault,
                                                      False))

    def cancel(self) -> None:
        """Disarm what has not fired yet, and end now the faults that have started and
        have an ``until`` still to come, so that the next workload starts without them
        (a crash without ``until`` stays)."""
        for timer in self._timers:
            timer.cancel()
        for fault in list(self._active):
            if "until" in fault:
                self._apply(fault, False)

    def _apply(self, fault: dict[str, Any], begin: bool) -> None:
        kind = fault["kind"]
        event = {"time": round(green.now() - self.started, 6), "kind": kind,
                 "event": "start" if begin else "end"}
        if "hosts" in fault:
            event["hosts"] = list(fault["hosts"])
        self.events.append(event)
        if begin:
            self._active.append(fault)
        elif fault in self._active:
            self._active.remove(fault)
        sim = self.sim_cloud
        interposer = sim.interposer
        if kind == "compute_crash":
            for host in fault["hosts"]:
                if begin:
                    sim.drivers[host].crash()
                    service = sim.cloud.computes.get(host)
                    if service is not None:
                        service.kill()
                else:
                    sim.restart_compute(host)
        elif kind == "compute_slow":
            for host in fault["hosts"]:
                sim.drivers[host].slow_factor = fault["factor"] if begin else 1.0
        elif kind == "build_failures":
            for host in fault["hosts"]:
                driver = sim.drivers[host]
                driver.spawn_failure_rate = (fault["probability"] if begin
                                             else driver.base_failure_rate)
        elif kind == "bus_down":
            interposer.bus_down_until = (self.started + fault["until"]) if begin else None
        elif kind == "bus_slow":
            interposer.bus_delay = fault["delay"] if begin else 0.0
        else:  # db_slow
            interposer.db_delay = fault["delay"] if begin else 0.0
