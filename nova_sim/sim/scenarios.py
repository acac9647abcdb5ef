"""Rally's NovaServers scenarios, with Rally's atomic actions and polling.

Owns what one iteration does and how it is timed. Each scenario makes the calls Rally's
makes through novaclient (here ``ComputeClient``) and wraps them in the same atomic
actions, with Rally's default waits (seconds: pre-poll delay / poll interval / timeout):

- ``nova.boot_server``: POST /servers, sleep 1, then GET until ACTIVE every 2 (300);
- ``nova.boot_servers``: one POST with ``min_count=max_count=count``, list the servers to
  find them, sleep 1, then each until ACTIVE every 2 (300);
- ``nova.delete_server`` / ``nova.delete_servers``: DELETE, then GET until gone (or
  DELETED) every 2 (300), no pre-poll delay;
- ``nova.list_servers``: GET /servers[/detail] page by page until an empty page;
- ``nova.reboot_server`` (HARD) and ``nova.soft_reboot_server`` (SOFT): the action, sleep
  2, then until ACTIVE every 2 (300);
- ``nova.stop_server``: os-stop, then until SHUTOFF every 2 (300);
  ``nova.start_server``: os-start, then until ACTIVE every 1 (300).

Every pre-poll delay goes through ``sleep_between`` as in Rally, so it counts as the
iteration's idle time (Rally reports an iteration's duration without its idle time). A
server in ERROR ends the wait with Rally's ``GetResourceErrorStatus``; a wait past its
timeout with ``TimeoutException``; an API error with novaclient's name for it.

Supported: ``NovaServers.boot_server``, ``boot_and_delete_server``,
``boot_and_list_server``, ``boot_and_bounce_server`` (actions ``hard_reboot``,
``soft_reboot``, ``stop_start``), ``boot_and_delete_multiple_servers`` and
``list_servers``. Must not know how iterations are scheduled (``runners``) or recorded.
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable

from nova_sim import green
from nova_sim.sim.client import APIError, ComputeClient

# Rally's defaults, [openstack] nova_server_<action>_{prepoll_delay,poll_interval,timeout}
BOOT = (1.0, 2.0, 300.0)
DELETE = (0.0, 2.0, 300.0)
REBOOT = (2.0, 2.0, 300.0)
STOP = (0.0, 2.0, 300.0)
START = (0.0, 1.0, 300.0)

#: Server keyword arguments (passed on to the server create call) nova-sim accepts.
SERVER_KWARGS = frozenset(["availability_zone", "nics", "meta", "scheduler_hints",
                           "description", "auto_assign_nic"])
BOUNCE_ACTIONS = ("hard_reboot", "soft_reboot", "stop_start")

#: Scenario -> its own arguments (besides SERVER_KWARGS where it boots).
SCENARIOS: dict[str, tuple[frozenset[str], bool]] = {
    "NovaServers.boot_server": (frozenset(["image", "flavor"]), True),
    "NovaServers.boot_and_delete_server": (
        frozenset(["image", "flavor", "min_sleep", "max_sleep", "force_delete"]), True),
    "NovaServers.boot_and_list_server": (frozenset(["image", "flavor", "detailed"]), True),
    "NovaServers.boot_and_bounce_server": (
        frozenset(["image", "flavor", "force_delete", "actions"]), True),
    "NovaServers.boot_and_delete_multiple_servers": (
        frozenset(["image", "flavor", "count", "min_sleep", "max_sleep", "force_delete"]),
        True),
    "NovaServers.list_servers": (frozenset(["detailed"]), False),
}


class ScenarioError(Exception):
    """An iteration's failure, named as Rally names it (``kind``)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


def check_args(name: str, args: dict[str, Any]) -> None:
    """Raise ValueError naming the first unsupported scenario, argument or value."""
    if name not in SCENARIOS:
        raise ValueError(f"unsupported scenario {name!r} (nova-sim runs: "
                         f"{', '.join(SCENARIOS)})")
    own, boots = SCENARIOS[name]
    allowed = own | (SERVER_KWARGS if boots else frozenset())
    for key in sorted(args):
        if key not in allowed:
            raise ValueError(f"unsupported argument {key!r}")
    for key in ("image", "flavor"):
        if key in own and key not in args:
            raise ValueError(f"argument {key!r} is required")
        if key in args:
            value = args[key]
            if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in (
                    "name", "id", "regex"):
                raise ValueError(f"argument {key!r} must be {{name|id|regex: ...}}")
    if args.get("force_delete"):
        raise ValueError("force_delete is not supported (nova-sim has no force delete)")
    for key in ("min_sleep", "max_sleep"):
        if key in args and (not isinstance(args[key], (int, float)) or args[key] < 0):
            raise ValueError(f"argument {key!r} must be a number >= 0")
    if "count" in args and (not isinstance(args["count"], int) or args["count"] < 1):
        raise ValueError("argument 'count' must be an integer >= 1")
    _check_actions(args.get("actions") or [])


def _check_actions(actions: list[Any]) -> None:
    for action in actions:
        if not isinstance(action, dict) or len(action) != 1:
            raise ValueError("each bounce action must be {action_name: times}")
        [(action_name, times)] = action.items()
        if action_name not in BOUNCE_ACTIONS:
            raise ValueError(f"unsupported bounce action {action_name!r} (nova-sim "
                             f"supports: {', '.join(BOUNCE_ACTIONS)})")
        if not isinstance(times, int) or times < 1:
            raise ValueError(f"bounce action {action_name} needs a positive count")


def resolve(kind: str, spec: dict[str, Any], resources: list[dict[str, Any]]) -> str:
    """The id of the image or flavor ``spec`` names (``{id}``, ``{name}``: an exact
    name, else a regular expression as Rally's samples use, ``{regex}``). ValueError
    when none or several match."""
    [(how, value)] = spec.items()
    if how == "id":
        if any(str(r["id"]) == str(value) for r in resources):
            return str(value)
        raise ValueError(f"{kind} with id {value!r} not found")
    if how == "name":
        exact = [r for r in resources if r["name"] == value]
        if len(exact) == 1:
            return str(exact[0]["id"])
    matching = [r for r in resources if re.match(str(value), r["name"])]
    if len(matching) != 1:
        names = ", ".join(sorted(r["name"] for r in resources))
        raise ValueError(f"{len(matching)} {kind}s match {value!r} (there are: {names})")
    return str(matching[0]["id"])


class Iteration:
    """What one iteration records: atomic actions (Rally's form) and idle time."""

    def __init__(self) -> None:
        self.atomic_actions: list[dict[str, Any]] = []
        self.idle_duration = 0.0

    def atomic(self, name: str) -> _ActionTimer:
        """A context manager timing one atomic action called ``name``."""
        return _ActionTimer(self, name)


class _ActionTimer:
    def __init__(self, iteration: Iteration, name: str):
        self.iteration = iteration
        self.action = {"name": name, "started_at": 0.0, "finished_at": None,
                       "children": []}

    def __enter__(self) -> _ActionTimer:
        self.action["started_at"] = green.wallclock()
        self.iteration.atomic_actions.append(self.action)
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.action["finished_at"] = green.wallclock()
        if kind is not None:
            self.action["failed"] = True


class NovaServers:
    """One iteration's scenario: ``client`` as the iteration's user, ``rng`` the
    workload's seeded generator, ``iteration`` the record, ``names`` a name maker."""

    def __init__(self, client: ComputeClient, rng: random.Random, iteration: Iteration,
                 name: Callable[[], str], image: str | None, flavor: str | None):
        self.client = client
        self.rng = rng
        self.iteration = iteration
        self.name = name
        self.image = image
        self.flavor = flavor

    # -- Rally's utilities -----------------------------------------------------------
    def sleep_between(self, low: float, high: float | None = None) -> None:
        """Sleep a uniform random time in [low, high] and count it as idle time."""
        seconds = low if high is None else self.rng.uniform(low, high)
        if seconds > 0:
            green.sleep(seconds)
            self.iteration.idle_duration += seconds

    def wait_for_status(self, server: dict[str, Any], ready: tuple[str, ...],
                        waits: tuple[float, float, float],
                        check_deletion: bool = False) -> dict[str, Any] | None:
        """Poll the server until its status is one of ``ready``: at once, then every
        poll interval; ScenarioError on ERROR or past the timeout."""
        _prepoll, interval, timeout = waits
        started = green.now()
        status = server.get("status", "BUILD")
        while True:
            try:
                server = self.client.get_server(server["id"])
            except APIError as error:
                if error.code == 404 and check_deletion:
                    return None
                raise
            status = server["status"].upper()
            if status in ready:
                return server
            if status == "ERROR":
                fault = server.get("fault", {}).get("message", "n/a")
                raise ScenarioError("GetResourceErrorStatus",
                                    f"Resource <Server: {server['name']}> has ERROR "
                                    f"status.\nFault: {fault}")
            green.sleep(interval)
            if green.now() - started > timeout:
                raise ScenarioError("TimeoutException",
                                    f"Rally tired waiting {timeout:.2f} seconds for Server "
                                    f"{server['name']}:{server['id']} to become "
                                    f"('{', '.join(ready)}') current status {status}")

    # -- atomic actions ---------------------------------------------------------------
    def _boot_server(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.pop("auto_assign_nic", None)
        with self.iteration.atomic("nova.boot_server"):
            server = self.client.create_server(self.name(), self.image, self.flavor,
                                               **kwargs)
            server.setdefault("name", "")
            self.sleep_between(BOOT[0])
            return self.wait_for_status(server, ("ACTIVE",), BOOT)

    def _boot_servers(self, count: int, **kwargs: Any) -> list[dict[str, Any]]:
        kwargs.pop("auto_assign_nic", None)
        prefix = self.name()
        with self.iteration.atomic("nova.boot_servers"):
            self.client.create_server(f"{prefix}_0", self.image, self.flavor,
                                      min_count=count, max_count=count, **kwargs)
            servers = [s for s in self.client.list_servers()
                       if s["name"].startswith(prefix)]
            self.sleep_between(BOOT[0])
            return [self.wait_for_status(server, ("ACTIVE",), BOOT) for server in servers]

    def _delete_server(self, server: dict[str, Any]) -> None:
        with self.iteration.atomic("nova.delete_server"):
            self.client.delete_server(server["id"])
            self.wait_for_status(server, ("DELETED",), DELETE, check_deletion=True)

    def _delete_servers(self, servers: list[dict[str, Any]]) -> None:
        with self.iteration.atomic("nova.delete_servers"):
            for server in servers:
                self.client.delete_server(server["id"])
            for server in servers:
                self.wait_for_status(server, ("DELETED",), DELETE, check_deletion=True)

    def _list_servers(self, detailed: bool = True) -> list[dict[str, Any]]:
        with self.iteration.atomic("nova.list_servers"):
            return self.client.list_servers(detailed)

    def _reboot(self, server: dict[str, Any], kind: str) -> None:
        name = "nova.reboot_server" if kind == "HARD" else "nova.soft_reboot_server"
        with self.iteration.atomic(name):
            self.client.server_action(server["id"], "reboot", {"type": kind})
            self.sleep_between(REBOOT[0])
            self.wait_for_status(server, ("ACTIVE",), REBOOT)

    def _stop_server(self, server: dict[str, Any]) -> None:
        with self.iteration.atomic("nova.stop_server"):
            self.client.server_action(server["id"], "os-stop")
            self.wait_for_status(server, ("SHUTOFF",), STOP)

    def _start_server(self, server: dict[str, Any]) -> None:
        with self.iteration.atomic("nova.start_server"):
            self.client.server_action(server["id"], "os-start")
            self.wait_for_status(server, ("ACTIVE",), START)

    # -- the scenarios ----------------------------------------------------------------
    def boot_server(self, **kwargs: Any) -> None:
        """NovaServers.boot_server."""
        self._boot_server(**kwargs)

    def boot_and_delete_server(self, min_sleep: float = 0, max_sleep: float = 0,
                               force_delete: bool = False, **kwargs: Any) -> None:
        """NovaServers.boot_and_delete_server."""
        server = self._boot_server(**kwargs)
        self.sleep_between(min_sleep, max_sleep)
        self._delete_server(server)

    def boot_and_list_server(self, detailed: bool = True, **kwargs: Any) -> None:
        """NovaServers.boot_and_list_server: the booted server must be in the list."""
        server = self._boot_server(**kwargs)
        listed = self._list_servers(detailed)
        if not any(s["id"] == server["id"] for s in listed):
            raise ScenarioError("AssertionError",
                                "Server not included into list of available servers")

    def boot_and_bounce_server(self, force_delete: bool = False,
                               actions: list[dict[str, int]] | None = None,
                               **kwargs: Any) -> None:
        """NovaServers.boot_and_bounce_server (hard_reboot, soft_reboot, stop_start)."""
        server = self._boot_server(**kwargs)
        for action in actions or []:
            [(name, times)] = action.items()
            for _ in range(times):
                if name == "hard_reboot":
                    self._reboot(server, "HARD")
                elif name == "soft_reboot":
                    self._reboot(server, "SOFT")
                else:
                    self._stop_server(server)
                    self._start_server(server)
        self._delete_server(server)

    def boot_and_delete_multiple_servers(self, count: int = 2, min_sleep: float = 0,
                                         max_sleep: float = 0, force_delete: bool = False,
                                         **kwargs: Any) -> None:
        """NovaServers.boot_and_delete_multiple_servers: one request for ``count``."""
        servers = self._boot_servers(count, **kwargs)
        self.sleep_between(min_sleep, max_sleep)
        self._delete_servers(servers)

    def list_servers(self, detailed: bool = True) -> None:
        """NovaServers.list_servers."""
        self._list_servers(detailed)


def run_scenario(scenario: NovaServers, name: str, args: dict[str, Any]) -> None:
    """Run scenario ``name`` with its task ``args`` (image and flavor already resolved
    into ``scenario``)."""
    kwargs = {k: v for k, v in args.items() if k not in ("image", "flavor")}
    getattr(scenario, name.split(".", 1)[1])(**kwargs)
