"""The service framework: one Nova service = a manager + an RPC server + timers.

Owns ``Service``, the life cycle of one service (as ``nova/service.py``):

``start()``
    find or create the service's row (a compute asks the conductor; controller services
    use the database), ``manager.init_host``, ``manager.pre_start_hook``, start the RPC
    server on ``topic`` and ``topic.host`` with the manager and its
    ``additional_endpoints``, ``manager.post_start_hook``, arm the periodic tasks (after a
    random delay up to ``periodic_fuzzy_delay``, from the hub's seeded random) and join the
    service group (the heartbeat every ``report_interval``).
``stop()``
    graceful: stop consuming and the periodic tasks, then let in-flight work (RPC
    dispatches, the manager's own greenthreads such as builds) finish for up to
    ``graceful_shutdown_timeout`` seconds (0: no limit), heartbeating meanwhile; what is
    still running then is left behind and logged; then the heartbeat stops.

Who owns which greenthread: the RPC server owns its dispatch pool; the manager owns its
build / operation pool; ``PeriodicRunner`` and the heartbeat loop are timers on the hub
(no greenthread exists between two runs). Must not know what the managers do.
"""

from __future__ import annotations

import logging
from typing import Any

import nova_sim.conf
from nova_sim import context as nova_context
from nova_sim import green, periodic, rpc, servicegroup, trace
from nova_sim.context import RequestContextSerializer

LOG = logging.getLogger(__name__)

#: Exception modules that RPC clients of the services rebuild as themselves.
ALLOWED_REMOTE_EXMODS = ["nova_sim.exception", "nova_sim.db.api"]


def get_transport(conf: Any, url: str | None = None) -> Any:
    """The RPC transport for the services of ``conf`` (``url`` or ``transport_url``),
    rebuilding ``nova_sim.exception`` errors on the client side (Nova's exmods)."""
    conf = conf if conf is not None else nova_sim.conf.CONF
    return rpc.get_transport(
        url or conf.transport_url, conf,
        allowed_remote_exmods=list(ALLOWED_REMOTE_EXMODS),
    )


class Service:
    """One running Nova service: ``binary`` on ``host`` serving ``topic``.

    ``db``: the database for controller services (and for their heartbeat); a compute
    passes ``None`` and a ``conductor_api`` (``nova_sim.conductor.rpcapi.ConductorAPI``,
    given by whoever builds the service: this layer does not import the services), and
    finds its row and heartbeats through the conductor. ``ValueError`` when neither is
    given. Options come from ``conf``
    (``periodic_enable``, ``periodic_fuzzy_delay``, ``report_interval``,
    ``service_down_time``, ``graceful_shutdown_timeout``) unless given as arguments.
    """

    def __init__(
        self,
        binary: str,
        host: str,
        topic: str,
        manager: Any,
        conf: Any = None,
        transport: Any = None,
        db: Any = None,
        periodic_enable: bool | None = None,
        periodic_fuzzy_delay: float | None = None,
        graceful_shutdown_timeout: float | None = None,
        conductor_api: Any = None,
    ):
        self.binary = binary
        self.host = host
        self.topic = topic
        self.manager = manager
        self.conf = conf = conf if conf is not None else nova_sim.conf.CONF
        self.transport = transport if transport is not None else get_transport(conf)
        self.db = db
        self.periodic_enable = (
            conf.periodic_enable if periodic_enable is None
            else periodic_enable
        )
        self.periodic_fuzzy_delay = float(
            conf.periodic_fuzzy_delay if periodic_fuzzy_delay is None
            else periodic_fuzzy_delay
        )
        self.graceful_shutdown_timeout = float(
            conf.graceful_shutdown_timeout
            if graceful_shutdown_timeout is None else graceful_shutdown_timeout
        )
        self.service_ref: dict[str, Any] | None = None
        self.model_disconnected = False
        self.rpcserver: rpc.RPCServer | None = None
        self.periodic_runner: periodic.PeriodicRunner | None = None
        if db is None and conductor_api is None:
            raise ValueError(f"{binary} on {host} needs a database or a conductor API")
        self._conductor_api = conductor_api
        self.servicegroup_api = servicegroup.API(conf, db=db, conductor_api=conductor_api)
        self.started = False
        self._stopped = green.Event()

    def __repr__(self) -> str:
        return f"<Service {self.binary} on {self.host} topic={self.topic}>"

    # -- life cycle ------------------------------------------------------------------------

    def _get_or_create_service_ref(self) -> dict[str, Any]:
        if self.db is not None:
            return servicegroup.service_get_or_create(self.db, self.conf, self.host,
                                                      self.binary, self.topic)
        ctxt = nova_context.get_admin_context()
        self._conductor_api.wait_until_ready(ctxt)
        return self._conductor_api.service_get_or_create(
            ctxt, self.host, self.binary, self.topic
        )

    def start(self) -> Service:
        """Start the service (see the module docstring); returns ``self``.

        Raises what the service row lookup raises (a compute whose conductor does not
        answer gets ``MessagingTimeout`` after ``rpc_response_timeout``).
        """
        # The greenthreads started here (RPC server, periodic tasks, heartbeat) copy the
        # context: their spans belong to this service (nova_sim.trace.service_scope).
        with trace.service_scope(self.binary, self.host):
            return self._start()

    def _start(self) -> Service:
        LOG.info("Starting %s on %s", self.binary, self.host)
        self.service_ref = self._get_or_create_service_ref()
        init_host = getattr(self.manager, "init_host", None)
        if init_host is not None:
            init_host(self.service_ref)
        pre_start = getattr(self.manager, "pre_start_hook", None)
        if pre_start is not None:
            pre_start()
        endpoints = [self.manager] + list(getattr(self.manager, "additional_endpoints", []))
        target = rpc.Target(topic=self.topic, server=self.host)
        self.rpcserver = rpc.RPCServer(
            self.transport, target, endpoints, serializer=RequestContextSerializer()
        )
        self.rpcserver.start()
        post_start = getattr(self.manager, "post_start_hook", None)
        if post_start is not None:
            post_start()
        if self.periodic_enable and hasattr(self.manager, "run_periodic_tasks"):
            self.periodic_runner = periodic.PeriodicRunner(
                self.manager, nova_context.get_admin_context,
                fuzzy_delay=self.periodic_fuzzy_delay,
            )
            self.periodic_runner.start()
        self.servicegroup_api.join(self)
        self.started = True
        return self

    def stop(self, graceful: bool = True) -> bool:
        """Stop consuming and the timers; with ``graceful``, wait for in-flight work up to
        ``graceful_shutdown_timeout`` (0: forever). Returns False if work was still
        running when the wait ended. Safe to call twice."""
        if not self.started:
            return True
        self.started = False
        LOG.info("Stopping %s on %s", self.binary, self.host)
        if self.rpcserver is not None:
            self.rpcserver.stop()
        if self.periodic_runner is not None:
            self.periodic_runner.stop()
        finished = True
        if graceful:
            timeout = self.graceful_shutdown_timeout or None
            deadline = None if timeout is None else green.now() + timeout
            timed_out = True
            with green.Timeout(timeout, False):
                if self.rpcserver is not None:
                    self.rpcserver.wait()
                if self.periodic_runner is not None:
                    self.periodic_runner.wait()
                timed_out = False
            finished = not timed_out
            shutdown = getattr(self.manager, "graceful_shutdown", None)
            if shutdown is not None:
                remaining = None if deadline is None else max(0.0, deadline - green.now())
                finished = shutdown(remaining) and finished
            if not finished:
                LOG.warning("%s on %s stopped with work still in flight", self.binary,
                            self.host)
        # The heartbeat goes on while in-flight work finishes (as in Nova, where the
        # service group timer stops with the thread group, after the RPC server's wait).
        self.servicegroup_api.leave(self)
        cleanup = getattr(self.manager, "cleanup_host", None)
        if cleanup is not None:
            cleanup()
        if not self._stopped.ready():
            self._stopped.send(None)
        return finished

    def wait(self) -> None:
        """Block the calling greenthread until the service has stopped."""
        self._stopped.wait()

    def kill(self) -> None:
        """Stop at once, nothing waited for (a crash, for failure scenarios): no more
        consuming, timers and heartbeat stop; greenthreads in flight are left alone."""
        self.stop(graceful=False)

