"""``nova-sim run`` and the one-service commands: start, serve until a signal, stop.

Owns the process's life cycle: SIGTERM and SIGINT (Ctrl-C) ask for a graceful stop, which
runs on the hub (through ``call_threadsafe``, the one thing a signal handler may do); a
second signal while stopping exits at once with status 1. What runs is built by others and
imported lazily from ``nova_sim.deploy``: ``Cloud`` (a whole cloud in one process) and
``create_service`` (one service per process). Must not know how the services work.

Anything served here needs ``start()`` and ``stop()`` (graceful: stop taking work, let
in-flight work finish); ``wait()`` (block the calling greenthread until stopped) is
optional.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOG = logging.getLogger(__name__)

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


class StartInterrupted(BaseException):
    """Raised in the greenthread running ``start()`` when a stop signal arrives before
    start-up finished (e.g. a compute still waiting for its conductor). A BaseException,
    like GreenletExit, so that start-up code catching Exception does not swallow it."""


def serve(server: Any, on_started: Callable[[], Any] | None = None) -> int:
    """Start ``server``, call ``on_started()``, and wait until it stops; returns 0.

    SIGTERM / SIGINT stop it gracefully (``server.stop()`` on the hub). A signal that
    arrives while ``start()`` is still running (blocked, say, waiting for a conductor)
    interrupts it with StartInterrupted, then ``server.stop()`` cleans up what was
    started. The server may also stop by itself; either way ``serve`` returns once
    ``server.wait()`` returns. A server without ``wait()`` is wrapped in ``Waitable``: it
    then only stops on a signal.
    """
    from nova_sim import green

    if not callable(getattr(server, "wait", None)):
        server = Waitable(server)
    starter = green.getcurrent()
    phase = {"starting": True}

    def stop() -> None:
        if phase["starting"]:
            green.kill(starter, StartInterrupted())
        else:
            server.stop()

    with stop_on_signals(stop) as state:
        try:
            server.start()
        except StartInterrupted:
            LOG.info("Stop requested while starting")
            server.stop()
        else:
            phase["starting"] = False
            if on_started is not None:
                on_started()
            server.wait()
    if state["signal"] is not None:
        name = signal.Signals(state["signal"]).name
        sys.stderr.write(f"nova-sim: stopped on {name}\n")
    return 0


def setup_tracing(conf: Any, service: str, host: str) -> Any:
    """Install this process's tracer unless ``[trace] enabled = false`` (the commands
    that run services trace by default; spans go to ``[trace] output_dir``, one file per
    process; ``nova-sim trace`` reads them). Returns the tracer, or None when tracing
    is off."""
    from nova_sim import context
    from nova_sim.trace import store

    tracer = store.setup(conf, service, host, context_getter=context.get_current,
                         default=True)
    if tracer is not None:
        LOG.info("Tracing to %s", store.output_dir(conf))
    return tracer


def describe_tracing(conf: Any, tracer: Any) -> str:
    """The banner's line about tracing: where spans go and how much is kept, or how
    to turn it on."""
    from nova_sim.trace import store

    if tracer is None:
        return "  tracing        off ([trace] enabled = true turns it on)"
    cap = conf.trace.max_file_size
    kept = f"the latest {2 * cap} MiB at most" if cap else "everything"
    return (f"  tracing        on: spans to {store.output_dir(conf)} ({kept}; "
            "'nova-sim trace show --last'; [trace] enabled = false turns it off)")


def run_cloud(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim run``: a whole cloud in one process until a signal.

    The cloud uses ``[DEFAULT] transport_url`` and ``[database] connection`` (in-process
    ``green://`` and in-memory SQLite by default) on the real clock.
    """
    from nova_sim.deploy import Cloud

    if args.demo_boots and args.api:
        # The demo ends by showing the trace of one boot: record them.
        conf.set_override("enabled", True, group="trace")
    tracer = setup_tracing(conf, "nova-sim", conf.host)
    cloud = Cloud(
        conf=conf,
        computes=args.computes,
        api=args.api,
    )

    def started() -> None:
        sys.stdout.write(describe_cloud(cloud, conf, args, tracer))
        sys.stdout.flush()
        if args.demo_boots and args.api:
            start_demo_boots(cloud, conf, args.demo_boots)

    return serve(_StartErrors(cloud, "the cloud"), on_started=started)


class _StartErrors:
    """Turns an error while starting (a port in use, a broker, database or conductor that
    does not answer) into a one-line CommandError, after stopping what was started; the
    traceback goes to the log at DEBUG level (``--debug`` shows it). A
    ``nova_sim.conf.ConfigError`` (a component rejecting an option's value, e.g. an
    unknown filter name) passes through: the command ends with status 2."""

    def __init__(self, target: Any, what: str):
        self.target = target
        self.what = what

    def start(self) -> Any:
        from nova_sim.conf import ConfigError

        try:
            return self.target.start()
        except Exception as error:
            from nova_sim.cmd import CommandError

            LOG.debug("starting %s failed", self.what, exc_info=True)
            try:
                self.target.stop()
            except Exception:  # noqa: BLE001 - half-started; report the first error
                LOG.debug("stopping the half-started %s failed", self.what, exc_info=True)
            if isinstance(error, ConfigError):  # a component refused an option: exit 2
                raise
            reason = str(error) if isinstance(error, OSError) else (
                f"{type(error).__name__}: {error}")
            raise CommandError(f"cannot start {self.what}: {reason}")

    def stop(self) -> Any:
        return self.target.stop()

    def wait(self) -> Any:
        return self.target.wait()


def api_endpoint(cloud: Any, conf: Any) -> str:
    """The compute endpoint of a started cloud (``cloud.api_url``: the real port when it
    asked for port 0), else the configured one."""
    from nova_sim.cmd.status import default_endpoint

    url = getattr(cloud, "api_url", None)
    return url.rstrip("/") if url else default_endpoint(conf)


DEFAULT_ROOT = "http://127.0.0.1:8774"

# etc/nova-sim/clouds.yaml is clouds_yaml(DEFAULT_ROOT) (a test keeps them equal);
# `nova-sim run` on another address writes it for that address under state_path.
CLOUDS_YAML_HEADER = """\
# clouds.yaml for the openstack CLI and openstacksdk against `nova-sim run`
# (compute API on {root}, [api] auth_strategy = noauth2).
#
#   export OS_CLIENT_CONFIG_FILE=$PWD/etc/nova-sim/clouds.yaml
#   openstack --os-cloud nova-sim server list          # as admin, project admin
#   openstack --os-cloud nova-sim-demo server list     # as demo, project demo
#
# There is no Keystone: with auth_type admin_token the clients send `token` as
# X-Auth-Token on every API call, and noauth2 reads it as user:project (the user
# `admin` is an admin). The endpoint overrides point the clients at the compute API
# and at nova-sim's minimal image and network services, so no catalog is needed.
# identity_endpoint_override points at a bare identity v3 version document (there is
# no Keystone): without it `openstack server list` discovers the identity version at
# the auth endpoint (/v2.1), finds "v2.1" and refuses to run ("requires API version 3").
clouds:
"""

#: One cloud of clouds.yaml: the same endpoints, another noauth2 token (user:project).
CLOUD_ENTRY = """\
  {name}:
    auth_type: admin_token
    auth:
      token: {token}
      endpoint: {root}/v2.1
    identity_api_version: '3'
    identity_endpoint_override: {root}/identity/v3
    compute_endpoint_override: {root}/v2.1
    image_endpoint_override: {root}/image
    network_endpoint_override: {root}/network
"""

#: The clouds of clouds.yaml and the token each sends.
CLOUDS = (("nova-sim", "admin:admin"), ("nova-sim-demo", "demo:demo"))


def clouds_yaml_path() -> str:
    """Where the shipped ``etc/nova-sim/clouds.yaml`` is (in a source checkout)."""
    import nova_sim

    root = os.path.dirname(os.path.dirname(os.path.abspath(nova_sim.__file__)))
    return os.path.join(root, "etc", "nova-sim", "clouds.yaml")


def clouds_yaml(root: str = DEFAULT_ROOT) -> str:
    """clouds.yaml text (clouds ``nova-sim`` and ``nova-sim-demo``) for the API at
    ``root`` (``http://host:port``, no path)."""
    root = root.rstrip("/")
    entries = "".join(CLOUD_ENTRY.format(name=name, token=token, root=root)
                      for name, token in CLOUDS)
    return CLOUDS_YAML_HEADER.replace("{root}", root) + entries


def clouds_yaml_for(endpoint: str, conf: Any) -> str | None:
    """A clouds.yaml path for the compute ``endpoint``: the shipped file on the default
    address, else one written to ``$state_path/clouds.yaml`` (None if it cannot be
    written)."""
    root = endpoint.rsplit("/v2.1", 1)[0]
    shipped = clouds_yaml_path()
    if root == DEFAULT_ROOT and os.path.exists(shipped):
        return shipped
    path = os.path.join(conf.state_path, "clouds.yaml")
    try:
        os.makedirs(conf.state_path, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(clouds_yaml(root))
    except OSError:
        return None
    return path


def describe_cloud(cloud: Any, conf: Any, args: Any, tracer: Any = None) -> str:
    """What ``nova-sim run`` prints once the cloud is up (``tracer``: the process's,
    or None when tracing is off)."""
    lines = ["nova-sim: a one-process cloud is running"]
    lines.append(f"  transport      {conf.transport_url}")
    lines.append(f"  database       {conf.database.connection}")
    hosts = getattr(cloud, "compute_hosts", None) or [
        f"compute{n}" for n in range(1, args.computes + 1)
    ]
    lines.append("  services       nova-conductor, nova-scheduler, "
                 f"{len(hosts)} x nova-compute ({', '.join(hosts)})")
    lines.append(describe_tracing(conf, tracer))
    if args.api:
        endpoint = api_endpoint(cloud, conf)
        lines.append(f"  compute API    {endpoint}  (auth: [api] {conf.api.auth_strategy})")
        lines.append("")
        path = clouds_yaml_for(endpoint, conf)
        if path is not None:
            lines.append("Point the openstack CLI at it:")
            lines.append(f"  export OS_CLIENT_CONFIG_FILE={path}")
            lines.append("  openstack --os-cloud nova-sim server list        # admin")
            lines.append("  openstack --os-cloud nova-sim-demo server list   # project demo")
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

    Built by ``nova_sim.deploy.create_service(binary, host, conf)``: services talk over
    ``[DEFAULT] transport_url`` (RabbitMQ for separate processes) and the controller
    services share the database file of ``[database] connection``.
    """
    from nova_sim.cmd.main import BINARIES
    from nova_sim.deploy import create_service

    binary = BINARIES[args.command]
    setup_tracing(conf, binary, conf.host)
    server = create_service(binary, host=conf.host, conf=conf,
                            hosts=getattr(args, "hosts", 1))
    return serve(_StartErrors(server, binary))
