"""``nova-sim run`` and the one-service commands: start, serve until a signal, stop.

Owns the process's life cycle: SIGTERM and SIGINT (Ctrl-C) ask for a graceful stop, which
runs on the hub (through ``call_threadsafe``, the one thing a signal handler may do); a
second signal while stopping exits at once with status 1. What runs is built by others and
imported lazily from ``nova_sim.deploy``: ``Cloud`` (a whole cloud in one process) and
``create_service`` (one service per process). Must not know how the services work.

Start-up is bounded by ``[DEFAULT] service_start_timeout`` (0: no bound): a broker or a
conductor that does not answer within it ends the command with one line naming the
transport URL (exit status 1); a port in use names the address and how to pick another.

Anything served here needs ``start()`` and ``stop()`` (graceful: stop taking work, let
in-flight work finish); ``wait()`` (block the calling greenthread until stopped) is
optional.
"""

from __future__ import annotations

import errno
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


class StartTimedOut(BaseException):
    """Raised in the greenthread running ``start()`` when start-up outlasts its timeout
    (``serve``'s ``start_timeout``). A BaseException, like StartInterrupted."""


def serve(server: Any, on_started: Callable[[], Any] | None = None,
          start_timeout: float | None = None,
          timed_out: Callable[[], str] | None = None) -> int:
    """Start ``server``, call ``on_started()``, and wait until it stops; returns 0.

    ``start_timeout`` (seconds, None or 0: no limit) bounds ``start()``: past it, start-up
    is interrupted with StartTimedOut, ``server.stop()`` cleans up what was started, and
    CommandError is raised with ``timed_out()``'s one-line message (exit status 1).

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
            with green.Timeout(start_timeout or None, StartTimedOut()):
                server.start()
        except StartInterrupted:
            LOG.info("Stop requested while starting")
            server.stop()
        except StartTimedOut:
            LOG.debug("start-up timed out after %ss", start_timeout, exc_info=True)
            phase["starting"] = False
            message = timed_out() if timed_out is not None else (
                f"start-up did not finish within {start_timeout}s")
            server.stop()
            from nova_sim.cmd import CommandError

            raise CommandError(message)
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
    nova_sim = command_as_typed("nova-sim") or "nova-sim"
    return (f"  tracing        on: spans to {shell_path(store.output_dir(conf))} ({kept}; "
            f"'{nova_sim} trace show --last'; [trace] enabled = false turns it off)")


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
        dashboard = start_dashboard(cloud, conf) if args.api else None
        sys.stdout.write(describe_cloud(cloud, conf, args, tracer, dashboard))
        sys.stdout.flush()
        if args.demo_boots and args.api:
            start_demo_boots(cloud, conf, args.demo_boots)

    return serve(_StartErrors(cloud, "the cloud", conf, "--port N (make run PORT=N)"),
                 on_started=started, start_timeout=conf.service_start_timeout,
                 timed_out=lambda: start_timeout_message("the cloud", cloud, conf))


class _StartErrors:
    """Turns an error while starting (a port in use, a broker, database or conductor that
    does not answer) into a one-line CommandError, after stopping what was started; the
    traceback goes to the log at DEBUG level (``--debug`` shows it). A
    ``nova_sim.conf.ConfigError`` (a component rejecting an option's value, e.g. an
    unknown filter name) passes through: the command ends with status 2."""

    def __init__(self, target: Any, what: str, conf: Any = None,
                 port_option: str = "--port N"):
        self.target = target
        self.what = what
        self.conf = conf
        self.port_option = port_option

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
            reason = address_problem(error, self.conf, self.port_option) or (
                str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}")
            raise CommandError(f"cannot start {self.what}: {reason}")

    def stop(self) -> Any:
        return self.target.stop()

    def wait(self) -> Any:
        return self.target.wait()


def address_problem(error: BaseException, conf: Any,
                    port_option: str = "--port N") -> str | None:
    """The one-line explanation of an API address that cannot be bound (in use, or not
    this machine's), naming the address and how to pick another (``port_option``: the
    command-line way); None for other errors."""
    if conf is None or not isinstance(error, OSError):
        return None
    address = f"{conf.osapi_compute_listen}:{conf.osapi_compute_listen_port}"
    how = (f"pick another port with {port_option} (0: any free port) or "
           "[DEFAULT] osapi_compute_listen_port")
    if error.errno == errno.EADDRINUSE:
        return f"the compute API address {address} is already in use (another nova-sim?): {how}"
    if error.errno == errno.EACCES:
        return f"the compute API address {address} needs privileges: {how}"
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"the compute API address {address} is not an address of this machine: "
                "set [DEFAULT] osapi_compute_listen")
    return None


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


def clouds_yaml_path(name: str = "clouds.yaml") -> str:
    """Where the shipped ``etc/nova-sim/<name>`` is (in a source checkout)."""
    import nova_sim

    root = os.path.dirname(os.path.dirname(os.path.abspath(nova_sim.__file__)))
    return os.path.join(root, "etc", "nova-sim", name)


def clouds_yaml(root: str = DEFAULT_ROOT) -> str:
    """clouds.yaml text (clouds ``nova-sim`` and ``nova-sim-demo``) for the API at
    ``root`` (``http://host:port``, no path)."""
    root = root.rstrip("/")
    entries = "".join(CLOUD_ENTRY.format(name=name, token=token, root=root)
                      for name, token in CLOUDS)
    return CLOUDS_YAML_HEADER.replace("{root}", root) + entries


# etc/nova-sim/clouds-keystone.yaml is keystone_clouds_yaml(DEFAULT_ROOT) (a test keeps
# them equal); `nova-sim run` with auth_strategy keystone on another address or with
# another password writes it for those under state_path.
KEYSTONE_CLOUDS_YAML_HEADER = """\
# clouds.yaml for the openstack CLI, openstacksdk, tempest-like clients that log in with a
# password, against `nova-sim run` with [api] auth_strategy = keystone (compute API and
# the built-in identity service on {root}).
#
#   export OS_CLIENT_CONFIG_FILE=$PWD/etc/nova-sim/clouds-keystone.yaml
#   openstack --os-cloud nova-sim-admin server list     # user admin, project admin
#   openstack --os-cloud nova-sim-demo server list      # user demo, project demo
#
# The clients post the password to /identity/v3/auth/tokens and find the compute, image
# and network endpoints in the token's catalog; no endpoint overrides are needed. Every
# user's password is [identity] default_password (nova-sim unless configured).
clouds:
"""

#: One cloud of clouds-keystone.yaml: a user and project that log in with a password.
KEYSTONE_CLOUD_ENTRY = """\
  {name}:
    auth_type: password
    auth:
      auth_url: {root}/identity
      username: {user}
      password: {password}
      project_name: {project}
      user_domain_name: Default
      project_domain_name: Default
    region_name: {region}
    identity_api_version: '3'
"""

#: The clouds of clouds-keystone.yaml: (cloud, user, project).
KEYSTONE_CLOUDS = (("nova-sim-admin", "admin", "admin"), ("nova-sim-demo", "demo", "demo"))


def keystone_clouds_yaml(root: str = DEFAULT_ROOT, password: str = "nova-sim",
                         region: str = "RegionOne") -> str:
    """clouds-keystone.yaml text (clouds ``nova-sim-admin`` and ``nova-sim-demo``, password
    auth) for the API and identity service at ``root`` (``http://host:port``)."""
    root = root.rstrip("/")
    entries = "".join(
        KEYSTONE_CLOUD_ENTRY.format(name=name, user=user, project=project, root=root,
                                    password=password, region=region)
        for name, user, project in KEYSTONE_CLOUDS)
    return KEYSTONE_CLOUDS_YAML_HEADER.replace("{root}", root) + entries


def clouds_yaml_for(endpoint: str, conf: Any) -> str | None:
    """A clouds.yaml path for the compute ``endpoint`` and ``[api] auth_strategy``: the
    shipped file (``clouds.yaml``, or ``clouds-keystone.yaml`` under keystone) when it
    fits, else one written under ``$state_path`` (None if it cannot be written)."""
    root = endpoint.rsplit("/v2.1", 1)[0]
    if conf.api.auth_strategy == "keystone":
        name = "clouds-keystone.yaml"
        text = keystone_clouds_yaml(root, conf.identity.default_password,
                                    conf.identity.region_name)
        default = keystone_clouds_yaml()
    else:
        name = "clouds.yaml"
        text = clouds_yaml(root)
        default = clouds_yaml()
    shipped = clouds_yaml_path(name)
    if text == default and os.path.exists(shipped):
        return shipped
    path = os.path.join(conf.state_path, name)
    try:
        os.makedirs(conf.state_path, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        return None
    return path


def shell_path(path: str) -> str:
    """``path`` as a shell word that works from the current directory and reads the same
    on every machine: ``$PWD/...`` under the current directory, ``~/...`` under the home
    directory, else absolute."""
    path = os.path.abspath(path)
    relative = os.path.relpath(path)
    if not relative.startswith(os.pardir):
        return f"$PWD/{relative}"
    home = os.path.expanduser("~")
    if home not in ("", "/") and path.startswith(home.rstrip(os.sep) + os.sep):
        return "~" + path[len(home.rstrip(os.sep)):]
    return path


def command_as_typed(name: str) -> str | None:
    """How to type the command ``name`` that sits beside this Python (a virtualenv's
    ``bin``): bare when that is the one on ``PATH``, else its path (relative to the
    current directory when under it, like ``.venv/bin/openstack``); None when this
    environment has no such command."""
    import shutil

    here = os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(here):
        return None
    found = shutil.which(name)
    if found is not None and os.path.realpath(found) == os.path.realpath(here):
        return name
    relative = os.path.relpath(here)
    return os.path.abspath(here) if relative.startswith(os.pardir) else relative


def start_dashboard(running: Any, conf: Any) -> str:
    """Start the dashboard beside a started cloud or API service (``[dashboard]
    enabled``); returns the banner's line about it."""
    from nova_sim.dashboard import start_for

    dashboard, why = start_for(running, conf)
    if dashboard is None:
        return f"  dashboard      {why}"
    return (f"  dashboard      {dashboard.url}  (read-only; [dashboard] enabled = false "
            "turns it off)")


def describe_cloud(cloud: Any, conf: Any, args: Any, tracer: Any = None,
                   dashboard: str | None = None) -> str:
    """What ``nova-sim run`` prints once the cloud is up (``tracer``: the process's,
    or None when tracing is off; ``dashboard``: the line of ``start_dashboard``)."""
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
        if dashboard:
            lines.append(dashboard)
        lines.append("")
        path = clouds_yaml_for(endpoint, conf)
        if path is not None:
            openstack = command_as_typed("openstack")
            lines.append("Point the openstack CLI at it (from this directory):")
            lines.append(f"  export OS_CLIENT_CONFIG_FILE={shell_path(path)}")
            if openstack is None:
                lines.append("  (the openstack CLI is not installed here: "
                             f"{command_as_typed('python') or 'python3'} -m pip install "
                             "python-openstackclient)")
                openstack = "openstack"
            admin = "nova-sim-admin" if conf.api.auth_strategy == "keystone" else "nova-sim"
            lines.append(f"  {openstack} --os-cloud {admin} server list".ljust(
                len(openstack) + 42) + "# admin")
            lines.append(f"  {openstack} --os-cloud nova-sim-demo server list   # project demo")
        lines.append(f"  {command_as_typed('nova-sim') or 'nova-sim'} status --url {endpoint}")
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

    def started() -> None:
        if binary == "nova-api":  # a multi-process cloud's dashboard runs in its API
            sys.stdout.write(f"nova-sim: {binary} is running\n"
                             f"{start_dashboard(server, conf)}\n")
            sys.stdout.flush()

    return serve(_StartErrors(server, binary, conf), on_started=started,
                 start_timeout=conf.service_start_timeout,
                 timed_out=lambda: start_timeout_message(binary, server, conf))


_IN_PROCESS = ("green", "memory", "kombu+memory")


def start_timeout_message(what: str, started: Any, conf: Any) -> str:
    """Why ``what`` did not start within ``[DEFAULT] service_start_timeout``, in one line
    naming the transport URL: no broker, or (connected) no conductor answering."""
    from nova_sim.rpc.transport.amqp import safe_url

    transport = getattr(started, "transport", None)
    url = safe_url(getattr(transport, "url", None) or conf.transport_url)
    waited = f"within {conf.service_start_timeout}s ([DEFAULT] service_start_timeout; " \
        "0 waits for ever)"
    if transport is not None and not transport.connected:
        return f"cannot start {what}: cannot reach the broker at {url} {waited}"
    if url.split("://", 1)[0].lower() in _IN_PROCESS and what != "the cloud":
        return (f"cannot start {what}: no nova-conductor answered over {url} {waited}; "
                f"{url} reaches only this process: run the services of a multi-process "
                "cloud over RabbitMQ (--transport-url rabbit://...), or all of them in one "
                "with 'nova-sim run'")
    return (f"cannot start {what}: no nova-conductor answered over {url} {waited}; is one "
            "running on this transport_url and control_exchange?")
