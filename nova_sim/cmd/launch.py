"""``nova-sim run`` and the one-service commands: start, serve until a signal, stop.

Owns the process's life cycle: SIGTERM and SIGINT (Ctrl-C) ask for a graceful stop, which
runs on the hub (through ``call_threadsafe``, the one thing a signal handler may do); a
second signal while stopping exits at once with status 1. What runs is built by others and
imported lazily: ``nova_sim.cloud.Cloud`` (a whole cloud in one process) and
``nova_sim.service`` (one service per process). Must not know how the services work.

Anything served here needs ``start()``, ``stop()`` (graceful: stop taking work, let
in-flight work finish) and ``wait()`` (block the calling greenthread until stopped).
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(
    stop: Callable[[], Any], signals: tuple[int, ...] = STOP_SIGNALS
) -> Iterator[dict[str, Any]]:
    """While inside, the first of ``signals`` schedules ``stop()`` on the current hub.

    ``stop`` runs once, in its own greenthread. A second signal while it runs writes one
    line and ends the process with ``os._exit(1)``. Yields a dict whose ``"signal"`` key
    holds the number of the signal received (None until then). Restores the previous
    handlers on exit. Only usable in the main thread.
    """
    from nova_sim import green

    hub = green.get_hub()
    state: dict[str, Any] = {"signal": None}

    def handler(signum: int, frame: Any) -> None:
        if state["signal"] is not None:
            os.write(2, b"nova-sim: second signal while stopping; exiting now\n")
            os._exit(1)
        state["signal"] = signum
        hub.call_threadsafe(stop)

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield state
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Waitable:
    """Gives ``wait()`` to something that only has ``start()`` and ``stop()`` (like
    ``nova_sim.service.Service``): ``wait`` returns once ``stop`` has returned."""

    def __init__(self, target: Any):
        from nova_sim import green

        self.target = target
        self._stopped = green.Event()

    def start(self) -> Any:
        return self.target.start()

    def stop(self) -> Any:
        try:
            return self.target.stop()
        finally:
            if not self._stopped.ready():
                self._stopped.send(True)

    def wait(self) -> Any:
        return self._stopped.wait()


def serve(server: Any, on_started: Callable[[], Any] | None = None) -> int:
    """Start ``server``, call ``on_started()``, and wait until it stops; returns 0.

    SIGTERM / SIGINT stop it gracefully (``server.stop()`` on the hub). The server may
    also stop by itself; either way ``serve`` returns once ``server.wait()`` returns.
    A server without ``wait()`` is wrapped in ``Waitable``: it then only stops on a
    signal.
    """
    if not callable(getattr(server, "wait", None)):
        server = Waitable(server)
    with stop_on_signals(server.stop) as state:
        server.start()
        if on_started is not None:
            on_started()
        server.wait()
    if state["signal"] is not None:
        name = signal.Signals(state["signal"]).name
        sys.stderr.write(f"nova-sim: stopped on {name}\n")
    return 0


def _missing(what: str, error: ImportError) -> Exception:
    from nova_sim.cmd import CommandError

    return CommandError(f"{what} is not available in this tree yet ({error})")


def _call_with_supported(factory: Callable[..., Any], **candidates: Any) -> Any:
    """Call ``factory`` with the keyword arguments its signature accepts."""
    parameters = inspect.signature(factory).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return factory(**candidates)
    return factory(**{k: v for k, v in candidates.items() if k in parameters})


def run_cloud(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim run``: a whole cloud in one process until a signal."""
    try:
        from nova_sim.cloud import Cloud
    except ImportError as error:
        raise _missing("the one-process cloud (nova_sim.cloud.Cloud)", error)
    cloud = _call_with_supported(Cloud, conf=conf, computes=args.computes, api=args.api)

    def started() -> None:
        sys.stdout.write(describe_cloud(cloud, conf, args))
        sys.stdout.flush()
        if args.demo_boots and args.api:
            start_demo_boots(cloud, conf, args.demo_boots)

    return serve(cloud, on_started=started)


def api_endpoint(cloud: Any, conf: Any) -> str:
    """The compute endpoint of a started cloud (its real port when it asked for 0)."""
    for name in ("api_url", "endpoint", "compute_endpoint"):
        value = getattr(cloud, name, None)
        if isinstance(value, str) and value:
            return value.rstrip("/")
    port = getattr(cloud, "api_port", None) or conf.osapi_compute_listen_port
    host = conf.osapi_compute_listen
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://{host}:{port}/v2.1"


def clouds_yaml_path() -> str:
    """Where the shipped ``etc/nova-sim/clouds.yaml`` is (in a source checkout)."""
    import nova_sim

    root = os.path.dirname(os.path.dirname(os.path.abspath(nova_sim.__file__)))
    return os.path.join(root, "etc", "nova-sim", "clouds.yaml")


def describe_cloud(cloud: Any, conf: Any, args: Any) -> str:
    """What ``nova-sim run`` prints once the cloud is up."""
    lines = ["nova-sim: a one-process cloud is running"]
    lines.append(f"  transport      {conf.transport_url}")
    lines.append(f"  database       {conf.database.connection}")
    hosts = getattr(cloud, "compute_hosts", None) or [
        f"compute{n}" for n in range(1, args.computes + 1)
    ]
    lines.append("  services       nova-conductor, nova-scheduler, "
                 f"{len(hosts)} x nova-compute ({', '.join(hosts)})")
    if args.api:
        endpoint = api_endpoint(cloud, conf)
        lines.append(f"  compute API    {endpoint}  (auth: [api] {conf.api.auth_strategy})")
        lines.append("")
        lines.append("Point the openstack CLI at it:")
        path = clouds_yaml_path()
        if endpoint.startswith("http://127.0.0.1:8774/") and os.path.exists(path):
            lines.append(f"  export OS_CLIENT_CONFIG_FILE={path}")
            lines.append("  openstack --os-cloud nova-sim server list        # admin")
            lines.append("  openstack --os-cloud nova-sim-demo server list   # project demo")
        else:
            root = endpoint.rsplit("/v2.1", 1)[0]
            lines.append(
                "  openstack --os-auth-type admin_token --os-token admin:admin "
                f"--os-endpoint {endpoint} --os-compute-api-version 2.1 "
                f"--os-compute-endpoint-override {endpoint} "
                f"--os-image-endpoint-override {root}/image "
                f"--os-network-endpoint-override {root}/network server list"
            )
        lines.append(f"  nova-sim status --url {endpoint}")
    lines.append("")
    lines.append("Stop with Ctrl-C (or SIGTERM).")
    return "\n".join(lines) + "\n"


def start_demo_boots(cloud: Any, conf: Any, count: int) -> threading.Thread:
    """Boot ``count`` servers through the REST API from an OS thread (the hub keeps
    serving meanwhile), report progress, then print the trace of the first boot."""
    from nova_sim.cmd import demo_boots

    endpoint = api_endpoint(cloud, conf)
    thread = threading.Thread(
        target=demo_boots.boot_and_report, args=(endpoint, count, conf),
        name="nova-sim-demo-boots", daemon=True,
    )
    thread.start()
    return thread



def run_service(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim api|conductor|scheduler|compute``: one service until a signal.

    Builds it with ``nova_sim.service.Service.create(binary=..., host=..., conf=...)``,
    Nova's way (``nova/cmd/compute.py``).
    """
    try:
        from nova_sim import service
    except ImportError as error:
        raise _missing("the service framework (nova_sim.service)", error)
    from nova_sim.cmd.main import BINARIES

    binary = BINARIES[args.command]
    create = getattr(service, "create_service", None) or service.Service.create
    server = _call_with_supported(create, binary=binary, host=conf.host, conf=conf)
    return serve(server)
