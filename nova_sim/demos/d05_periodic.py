"""periodic tasks on spawn_after: heartbeats and a compute going down, on the virtual clock.

A Nova service is more than an RPC server: timers keep it alive. Every ``report_interval``
(10 s) each service bumps its ``report_count`` (its heartbeat; a compute, having no
database, does it with an RPC call to the conductor); every compute runs its periodic
tasks (``update_available_resource`` every 60 s, ``_sync_power_states`` every 600 s...)
from a loop that re-arms itself with ``spawn_after``. A service whose last heartbeat is
older than ``service_down_time`` (60 s) is *down*, and the scheduler skips it. This demo
runs a one-process cloud for a few virtual minutes (a blink of real time), stops one
compute and watches it go down. Run it with ``nova-sim demo 5``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.demos._narration import narrated_log
from nova_sim.deploy import Cloud, new_conf
from nova_sim.image import CIRROS_IMAGE_ID

SEED = 5
M1_SMALL = "2"
#: Heartbeats are printed up to this virtual time, then only counted.
SHOW_HEARTBEATS_UNTIL = 16.0


def stamp(text: str) -> None:
    print(f"  t={green.now():6.1f}s  {text}")


class HeartbeatWatcher:
    """Wraps the cloud database's ``service_heartbeat`` (every heartbeat ends there: the
    controllers write it directly, the conductor writes it for the computes)."""

    def __init__(self, db: Any):
        self.last: dict[str, float] = {}
        self.count = 0
        heartbeat = db.service_heartbeat

        def watched(service_id: int) -> Any:
            row = heartbeat(service_id)
            self.count += 1
            self.last[row["host"] + "/" + row["binary"]] = green.now()
            if green.now() <= SHOW_HEARTBEATS_UNTIL:
                how = ("an RPC call to the conductor" if row["binary"] == "nova-compute"
                       else "straight into the database")
                stamp(f"heartbeat of {row['binary']:<14} on {row['host']:<8} "
                      f"report_count={row['report_count']}  ({how})")
            return row

        db.service_heartbeat = watched


class PeriodicWatcher:
    """Wraps a compute manager's ``run_periodic_tasks`` to print which tasks each pass ran
    (the tasks whose last-run time moved)."""

    def __init__(self, host: str, manager: Any, until: float):
        self.passes = 0
        self.live = False
        self.pending: list[str] = []
        run = manager.run_periodic_tasks

        def watched(ctxt: Any, *args: Any, **kwargs: Any) -> float:
            before = dict(manager._periodic_last_run)
            idle = run(ctxt, *args, **kwargs)
            ran = [name for name, last in manager._periodic_last_run.items()
                   if last != before.get(name)]
            self.passes += 1
            if green.now() <= until:
                line = (f"  t={green.now():6.1f}s  {host} periodic pass: ran "
                        f"{', '.join(ran) or 'nothing (none due)'}; "
                        f"re-armed with spawn_after({idle:.1f})")
                if self.live:
                    print(line)
                else:
                    self.pending.append(line)
            return idle

        manager.run_periodic_tasks = watched

    def go_live(self) -> None:
        """Print the passes seen so far, then each pass as it happens."""
        for line in self.pending:
            print(line)
        self.pending = []
        self.live = True


def service_states(cloud: Cloud, ctxt: Any) -> dict[str, str]:
    """``{host: "up"|"down"}`` for the computes, as the API's os-services shows them."""
    return {row["host"]: row["state"]
            for row in cloud.api.service_list(ctxt, binary="nova-compute")}


def main() -> None:
    print(__doc__.split("\n")[0])
    real_start = time.perf_counter()
    conf = new_conf()
    for name in ("spawn_latency", "delete_latency"):
        conf.set_override(name, "fixed:2", group="fake_driver")
    quiet = logging.getLogger("nova_sim")  # the services' INFO lines carry real timestamps
    saved_level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        _main(conf, real_start)
    finally:
        quiet.setLevel(saved_level)
    print(SUMMARY)


def _main(conf: Any, real_start: float) -> None:
    with green.virtual_time(seed=SEED):
        cloud = Cloud(conf=conf, computes=3, virtual=True)
        cloud.start()
        ctxt = nova_context.RequestContext(user_id="alice", project_id="demo",
                                           overwrite=False)
        print(f"  A one-process cloud on the virtual clock (seed {SEED}): conductor and "
              "scheduler on host nova-sim,\n  computes compute1..3, RPC over green://, "
              f"report_interval={conf.report_interval:.0f}s, "
              f"service_down_time={conf.service_down_time:.0f}s.")
        heartbeats = HeartbeatWatcher(cloud.db)
        periodics = PeriodicWatcher("compute1", cloud.computes["compute1"].manager, until=200)
        try:
            _run(cloud, ctxt, heartbeats, periodics)
        finally:
            cloud.stop()
    print(f"\n  (Real time for these virtual minutes: "
          f"{time.perf_counter() - real_start:.2f} s)")


def _run(cloud: Cloud, ctxt: Any, heartbeats: HeartbeatWatcher,
         periodics: PeriodicWatcher) -> None:
    print("\n1. Heartbeats: FixedIntervalLoop on spawn_after, first after 5 s, then every 10 s")
    green.sleep(SHOW_HEARTBEATS_UNTIL)
    print("     ... and so on, every 10 s for every service.")

    print("\n2. Periodic tasks: each compute's PeriodicRunner starts after a random delay "
          "(up to\n   periodic_fuzzy_delay=60 s, so computes do not all run at once), "
          "runs the due tasks,\n   and re-arms itself with spawn_after(time until the next "
          "one is due).")
    periodics.go_live()
    green.sleep(200 - green.now())
    stamp(f"{heartbeats.count} heartbeats and {periodics.passes} periodic passes of compute1 "
          f"so far; all computes: {_states_text(service_states(cloud, ctxt))}")

    print("\n3. compute2 stops (its service is killed: no more heartbeats, no more RPC)")
    cloud.computes["compute2"].kill()
    stopped = green.now()
    last = heartbeats.last["compute2/nova-compute"]
    stamp(f"compute2 killed; its last heartbeat was at t={last:.1f}s")
    down_at = None
    next_report = stopped + 10
    while down_at is None:
        green.sleep(1)
        states = service_states(cloud, ctxt)
        if states["compute2"] == "down":
            down_at = green.now()
        elif green.now() >= next_report:
            next_report += 10
            stamp(f"compute2 silent for {green.now() - last:3.0f}s: still "
                  f"{states['compute2']} ({_states_text(states)})")
    service_down_time = float(cloud.conf.service_down_time)
    stamp(f"compute2 is DOWN at t={down_at:.1f}s: last heartbeat {down_at - last:.0f}s ago "
          f"> service_down_time={service_down_time:.0f}s")
    stamp(f"os-services now: {_states_text(service_states(cloud, ctxt))}")

    print("\n4. Booting 4 servers: the scheduler's ComputeFilter skips the down host")
    with narrated_log("nova_sim.scheduler.filters.compute_filter",
                      "             scheduler: ComputeFilter: ", logging.DEBUG):
        instances = cloud.api.create(ctxt, M1_SMALL, CIRROS_IMAGE_ID, "vm", min_count=4,
                                     max_count=4)
        rows = [cloud.wait_for_instance(i["uuid"], "active", None) for i in instances]
    hosts = sorted(row["host"] for row in rows)
    stamp(f"4 servers ACTIVE on {', '.join(hosts)}; on compute2: "
          f"{sum(host == 'compute2' for host in hosts)}")

    print("\n5. compute2 restarts: it finds its service row and heartbeats again")
    cloud.add_compute("compute2")
    restarted = green.now()
    while service_states(cloud, ctxt)["compute2"] != "up":
        green.sleep(1)
    stamp(f"compute2 is UP again {green.now() - restarted:.0f}s after its restart "
          f"(first heartbeat after 5 s)")


def _states_text(states: dict[str, str]) -> str:
    return ", ".join(f"{host} {state}" for host, state in sorted(states.items()))


SUMMARY = """
Nothing here slept for real: every wait is a timer on the hub (spawn_after), and the
virtual clock jumps to the next one whenever all greenthreads are blocked. In real Nova
the same loops ran on eventlet: oslo.service's FixedIntervalLoopingCall for the
heartbeat (nova/servicegroup/drivers/db.py) and a DynamicLoopingCall around
run_periodic_tasks (oslo_service/periodic_task.py). A periodic task that blocks the hub
(demo 4) delays every heartbeat behind it: enough of that and a healthy compute shows as
down."""


if __name__ == "__main__":
    main()
