"""Building clouds: all services in one process, or one service per process.

Owns ``Cloud`` (conductor, scheduler and N computes, optionally the REST API, in one
process on one hub: ``green://`` and an in-memory SQLite database by default, usable on the
real clock or inside ``with nova_sim.green.virtual_time(seed=...)``) and
``create_service`` (the factory behind ``nova-sim conductor|scheduler|compute|api``: one
service per process over RabbitMQ, all processes reading one config file; the controller
services share the database file of ``[database] connection``).

A one-process cloud::

    with green.virtual_time(seed=1):
        cloud = Cloud(computes=10).start()
        [server] = cloud.api.create(ctxt, "2", image.CIRROS_IMAGE_ID, "vm")
        cloud.wait_for_instance(server["uuid"], "active")
        cloud.stop()

This is the composition root: the one place that knows every service (it imports the
managers and the API), above them and below what builds clouds (the simulator, the
dashboard, the commands, the demos). Must not know the services' internals: it wires
managers into ``Service`` objects.
"""

from __future__ import annotations

import gc
import logging
from typing import Any, Callable

from nova_sim import context as nova_context
from nova_sim import exception, green, trace
from nova_sim import service as service_module
from nova_sim.service import Service

LOG = logging.getLogger(__name__)

TOPICS = {
    "nova-conductor": "conductor",
    "nova-scheduler": "scheduler",
    "nova-compute": "compute",
}


def new_conf() -> Any:
    """A fresh nova-sim ConfigOpts with every option registered and no files read."""
    from nova_sim import conf as nova_conf

    return nova_conf.new_conf()


def zero_latency(conf: Any) -> Any:
    """Set every ``[fake_driver]`` latency of ``conf`` to ``fixed:0`` (tests, benchmarks);
    returns ``conf``."""
    from nova_sim.virt.fake import LATENCY_OPTIONS

    for option in LATENCY_OPTIONS.values():
        if option:
            conf.set_override(option, "fixed:0", group="fake_driver")
    return conf


def open_database(conf: Any, url: str | None = None, sync: bool | None = None) -> Any:
    """The controller services' ``Database`` (``url`` or ``[database] connection``) on the
    hub's clock, with devstack's default flavors. ``sync`` as ``Database``'s (None: an
    in-memory database or an empty SQLite file is synced, anything else checked)."""
    from nova_sim.db.api import Database

    db = Database.from_config(conf, url, clock=green.wallclock, sync=sync)
    db.ensure_default_flavors()
    return db


def build_service(binary: str, host: str, conf: Any, transport: Any, db: Any = None,
                  driver: Any = None, **service_kwargs: Any) -> Service:
    """A (not yet started) ``Service`` for ``binary`` on ``host``.

    Controllers (``nova-conductor``, ``nova-scheduler``) need ``db``; ``nova-compute``
    gets none (it reaches the database through the conductor) and takes an optional
    ``driver``. ``ValueError`` for another binary.
    """
    conductor_api = None
    if binary == "nova-conductor":
        from nova_sim.conductor.manager import ConductorManager

        manager: Any = ConductorManager(conf, db, transport)
    elif binary == "nova-scheduler":
        from nova_sim.scheduler.manager import SchedulerManager

        manager = SchedulerManager(db=db, conf=conf)
    elif binary == "nova-compute":
        from nova_sim.compute.manager import ComputeManager
        from nova_sim.conductor.rpcapi import ConductorAPI

        manager = ComputeManager(host, conf, transport, driver=driver)
        conductor_api = ConductorAPI(transport, conf)
        db = None
    else:
        raise ValueError(f"unknown service binary {binary!r}")
    return Service(binary, host, TOPICS[binary], manager, conf, transport, db=db,
                   conductor_api=conductor_api, **service_kwargs)


def cleanup_transport(transport: Any) -> None:
    """Delete what ``transport`` declared for this process alone (reply and fanout
    queues) and close it; None does nothing. A failure is logged at debug: the process
    is stopping anyway."""
    if transport is None:
        return
    try:
        transport.cleanup()
    except Exception:  # noqa: BLE001 - stopping anyway
        LOG.debug("Transport cleanup failed", exc_info=True)


def stop_companions(companions: list[Any]) -> None:
    """Stop (and forget) what was started beside a cloud or a service, before it."""
    while companions:
        companions.pop().stop()


class APIService:
    """The REST API as a service: the compute API application on the green WSGI server
    (``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port``)."""

    binary = "nova-api"

    def __init__(self, compute_api: Any, conf: Any, host: str | None = None,
                 port: int | None = None):
        from nova_sim.api.app import APIApplication

        self.conf = conf
        self.compute_api = compute_api
        self.app = APIApplication(compute_api, conf)
        self.host = host or conf.osapi_compute_listen
        self.port = conf.osapi_compute_listen_port if port is None else port
        self.server = None

    @property
    def url(self) -> str:
        """``http://host:port/v2.1`` (the real port once started)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/v2.1"

    def start(self) -> APIService:
        """Listen and serve (returns at once). ``OSError`` when the port is taken."""
        from nova_sim.api.service import make_server

        # [wsgi] options (pool size, limits, timeouts, keep-alive) and Nova fault bodies.
        self.server = make_server(self.app, self.conf, self.host, int(self.port)).start()
        self.port = self.server.port
        LOG.info("Compute API listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop accepting; requests in flight finish (up to graceful_shutdown_timeout)."""
        if self.server is not None:
            timeout = self.conf.graceful_shutdown_timeout or None
            self.server.stop(timeout)


class ProcessService:
    """One service of a multi-process cloud, as the CLI runs it: ``start``, ``stop``
    (graceful) and ``wait`` (until stopped).

    ``hosts`` (``nova-compute`` only): how many simulated compute hosts this process
    runs, ``HOST-1`` .. ``HOST-N`` (just ``HOST`` when 1), each its own service row,
    heartbeat and RPC server on one transport, so that a few processes can stand in for
    thousands of hosts.
    """

    def __init__(self, binary: str, host: str, conf: Any, hosts: int = 1):
        if hosts < 1 or (hosts > 1 and binary != "nova-compute"):
            raise ValueError(f"{binary} cannot run {hosts} hosts in one process")
        self.binary = binary
        self.host = host
        self.hosts = [host] if hosts == 1 else [f"{host}-{k}" for k in range(1, hosts + 1)]
        self.conf = conf
        self.service: Any = None
        self.services: list[Any] = []
        self.transport: Any = None
        self.db = None
        #: what was started beside it (the dashboard): each ``stop()``ped first
        self.companions: list[Any] = []
        self._stopped = green.Event()

    def start(self) -> ProcessService:
        """Open the database (controllers), connect the transport and start serving.

        Raises ``ConfigError`` for ``servicegroup_driver = mc``: its store lives in one
        process, so the other services would see this one as down."""
        if self.conf.servicegroup_driver != "db":
            from nova_sim.conf import ConfigError

            raise ConfigError("[DEFAULT] servicegroup_driver = mc keeps heartbeats in one "
                              "process's memory: a cloud of one process per service needs db")
        # [trace] enabled: this process writes its spans (nova_sim.trace.setup).
        trace.setup(self.conf, self.binary, self.host, nova_context.get_current)
        transport = self.transport = service_module.get_transport(self.conf)
        if self.binary in ("nova-conductor", "nova-scheduler", "nova-api"):
            url = self.conf.database.connection
            if url in ("sqlite://", "sqlite:///:memory:"):
                LOG.warning("%s uses a private in-memory database; other processes will "
                            "not see it (set [database] connection to a file)", self.binary)
                sync = None
            else:
                # The API never creates the schema (Nova's neither): an API restarted on
                # a deleted SQLite file refuses to start rather than serve an empty
                # cloud beside the services that still hold the old one.
                sync = False if self.binary == "nova-api" else None
            self.db = open_database(self.conf, sync=sync)
        if self.binary == "nova-api":
            from nova_sim.compute.api import API

            self.service = APIService(API(self.conf, self.db, transport), self.conf).start()
            self.services = [self.service]
        else:
            for host in self.hosts:
                self.services.append(
                    build_service(self.binary, host, self.conf, transport, db=self.db).start()
                )
            self.service = self.services[0]
        return self

    def stop(self) -> None:
        """Graceful stop; ``wait`` returns afterwards."""
        stop_companions(self.companions)
        for service in self.services:
            service.stop()
        # Also after a start-up that never finished: the reply queue goes with the process.
        cleanup_transport(self.transport)
        if self.db is not None:
            self.db.close()
            self.db = None
        if not self._stopped.ready():
            self._stopped.send(None)

    def wait(self) -> None:
        """Block the calling greenthread until ``stop`` has run."""
        self._stopped.wait()


def create_service(
    binary: str, host: str | None = None, conf: Any = None, hosts: int = 1
) -> ProcessService:
    """The service ``binary`` (``nova-conductor``, ``nova-scheduler``, ``nova-compute``,
    ``nova-api``) for its own process, configured by ``conf`` (``host`` defaults to
    ``[DEFAULT] host``; ``hosts``: compute hosts in this process, see ``ProcessService``).
    Not started: call ``start()``, then ``wait()``."""
    if binary not in TOPICS and binary != "nova-api":
        raise ValueError(f"unknown service binary {binary!r}")
    conf = conf if conf is not None else new_conf()
    return ProcessService(binary, host or conf.host, conf, hosts)


class Cloud:
    """A whole cloud in one process: conductor, scheduler, ``computes`` compute hosts
    (``compute1``...), optionally the REST API (``api=True``).

    ``conf``: a nova-sim ConfigOpts (default: a fresh one, whose defaults are ``green://``
    and an in-memory SQLite database). ``transport_url``, ``db_url`` (``[database]
    connection``), ``periodic_enable`` and ``periodic_fuzzy_delay``, when given, are set
    on ``conf`` with ``conf.set_override`` (so the caller's conf shows them).
    ``virtual``: when True, ``start`` checks that the current hub is a virtual-time hub
    (use ``with green.virtual_time(seed=...)`` around the cloud). ``driver_factory(host)``
    makes each compute's driver (default: ``FakeDriver`` from ``[fake_driver]``);
    """

    def __init__(
        self,
        conf: Any = None,
        computes: int = 1,
        transport_url: str | None = None,
        db_url: str | None = None,
        virtual: bool = False,
        api: bool = False,
        driver_factory: Callable[[str], Any] | None = None,
        periodic_enable: bool | None = None,
        periodic_fuzzy_delay: float | None = None,
        host_prefix: str = "compute",
    ):
        self.conf = conf if conf is not None else new_conf()
        for name, group, value in (("transport_url", None, transport_url),
                                   ("connection", "database", db_url),
                                   ("periodic_enable", None, periodic_enable),
                                   ("periodic_fuzzy_delay", None, periodic_fuzzy_delay)):
            if value is not None:
                self.conf.set_override(name, value, group=group)
        self.virtual = virtual
        self.with_api = api
        self.driver_factory = driver_factory
        self.compute_hosts = [f"{host_prefix}{n}" for n in range(1, computes + 1)]
        self.transport: Any = None
        self.db: Any = None
        self.api: Any = None
        self.api_service: APIService | None = None
        self.conductor: Service | None = None
        self.scheduler: Service | None = None
        self.computes: dict[str, Service] = {}
        #: what was started beside it (the dashboard): each ``stop()``ped first
        self.companions: list[Any] = []
        self._stopped = green.Event()
        self.started = False

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> Cloud:
        """Start conductor, scheduler, the computes (and the API); returns ``self``."""
        if self.virtual and not isinstance(green.get_hub(), green.VirtualHub):
            raise RuntimeError("Cloud(virtual=True) must start inside green.virtual_time()")
        # [trace] enabled: this process writes its spans (nova_sim.trace.setup)
        trace.setup(self.conf, "nova-sim", self.conf.host, nova_context.get_current)
        self.transport = service_module.get_transport(self.conf)
        self.db = open_database(self.conf)
        host = self.conf.host
        self.conductor = build_service(
            "nova-conductor", host, self.conf, self.transport, db=self.db,
        ).start()
        self.scheduler = build_service(
            "nova-scheduler", host, self.conf, self.transport, db=self.db,
        ).start()
        for compute_host in self.compute_hosts:
            self.add_compute(compute_host)
        from nova_sim.compute.api import API

        self.api = API(self.conf, self.db, self.transport)
        if self.with_api:
            self.api_service = APIService(self.api, self.conf).start()
        # What start-up made (services, their tables, the API's routes: most of the heap,
        # alive as long as the cloud) leaves the garbage collector's sight until stop: a
        # full collection then scans only what requests make, so its pause, which holds
        # the whole process, stays short (CPython's advice for long-running servers).
        gc.freeze()
        self.started = True
        return self

    def add_compute(self, host: str, driver: Any = None) -> Service:
        """Start one more compute service on ``host`` (after ``start``)."""
        if driver is None and self.driver_factory is not None:
            driver = self.driver_factory(host)
        service = build_service(
            "nova-compute", host, self.conf, self.transport, driver=driver,
        ).start()
        self.computes[host] = service
        if host not in self.compute_hosts:
            self.compute_hosts.append(host)
        return service

    def stop(self) -> None:
        """Stop the API, the computes, the scheduler and the conductor (graceful);
        ``wait`` returns afterwards. Safe to call twice."""
        stop_companions(self.companions)
        if self.api_service is not None:
            self.api_service.stop()
        for service in list(self.computes.values()):
            service.stop()
        for service in (self.scheduler, self.conductor):
            if service is not None:
                service.stop()
        cleanup_transport(self.transport)
        gc.unfreeze()  # a stopped cloud is collected as usual
        if not self._stopped.ready():
            self._stopped.send(None)

    def wait(self) -> None:
        """Block the calling greenthread until ``stop`` has run."""
        self._stopped.wait()

    def __enter__(self) -> Cloud:
        return self if self.started else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- conveniences ----------------------------------------------------------------------

    @property
    def api_url(self) -> str | None:
        """The compute endpoint when the REST API runs."""
        return self.api_service.url if self.api_service is not None else None

    @property
    def api_port(self) -> int | None:
        """The REST API's port when it runs."""
        return self.api_service.port if self.api_service is not None else None

    def admin_context(self) -> Any:
        """An admin RequestContext (project ``admin``)."""
        return nova_context.RequestContext(user_id="admin", project_id="admin",
                                           is_admin=True, overwrite=False)

    def wait_for_instance(self, instance_uuid: str, vm_state: str | None = None,
                          task_state: Any = "any", timeout: float = 600.0,
                          poll: float = 0.05) -> dict[str, Any]:
        """Poll the database (every ``poll`` seconds of hub time) until the instance is
        in ``vm_state`` (and ``task_state``, unless "any"); returns its row. A deleted
        instance counts as ``vm_state="deleted"``. ``TimeoutError`` after ``timeout``."""
        deadline = green.now() + timeout
        while True:
            try:
                row = self.db.instance_get(instance_uuid, read_deleted="yes")
            except exception.InstanceNotFound:
                row = None
            if row is not None:
                state_ok = vm_state is None or row["vm_state"] == vm_state or (
                    vm_state == "deleted" and row["deleted"]
                )
                task_ok = task_state == "any" or row["task_state"] == task_state
                if state_ok and task_ok:
                    return row
            if green.now() >= deadline:
                raise TimeoutError(
                    f"instance {instance_uuid} not {vm_state}/{task_state} after "
                    f"{timeout} s: {row and (row['vm_state'], row['task_state'])}"
                )
            green.sleep(poll)
