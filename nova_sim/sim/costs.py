"""The cost model: what each RPC hop, dispatch, transaction and API request costs.

Owns the cost profile (a versioned JSON document, see :func:`load_profile`), the
:class:`CostModel` that charges it on the hub's clock through the cost hooks of
``nova_sim.green.costs``, and the :class:`Calibrator` that measures a profile on the
real clock of the machine it runs on (``nova-sim simulate --calibrate``).

The model (every figure in seconds):

- an RPC message (request or reply) spends ``latency.rpc_hop`` on the wire;
- a dispatch holds the core of its service process (one per RPC server, so one per
  conductor, scheduler or compute process) for ``cpu.<topic>.<method>`` (else
  ``cpu.<topic>.*``, else ``cpu.default``); a busy core makes the next dispatch wait,
  which is how a saturated conductor queues;
- each RPC server runs ``executor_pool_size`` greenthreads (null: the configured one);
- a database transaction holds one of ``database.connections`` for
  ``database.transaction``, waiting while they are all busy;
- a placement request (allocation candidates, a claim, an inventory report) waits
  ``latency.placement_hop`` before its transactions;
- an API request holds the API process's core for ``api.request``.

With ``shared_core`` true, every CPU charge and every transaction uses one core: the
one-process cloud on one machine (``--clock real``), which is what calibration measures.

A hook's error is the run's: the model keeps the first one and :meth:`CostModel.check`
(called by the engine after each workload) raises :class:`CostModelError` with it, so a
broken model aborts the run instead of measuring nothing. Must not know about tasks,
scenarios or reports.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from nova_sim import green
from nova_sim.green.costs import hooks
from nova_sim.rpc import instruments as rpc_instruments

FORMAT = "nova-sim-costs"
VERSION = 1
#: The profile ``--costs none`` stands for: no model installed, everything free.
NONE = "none"


class CostModelError(Exception):
    """A cost profile that cannot be read, or a cost hook that failed during a run."""


def _seconds(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise CostModelError(f"{where}: expected seconds >= 0, got {value!r}")
    return float(value)


def load_profile(path: str) -> dict[str, Any]:
    """Read and check the cost profile at ``path``; returns it with every default filled.

    Raises CostModelError for a file that is not JSON, not a profile of this format and
    version, or has a figure that is not a number of seconds >= 0.
    """
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except (OSError, ValueError) as error:
        raise CostModelError(f"cannot read the cost profile {path}: {error}") from error
    return check_profile(document, path)


def check_profile(document: Any, where: str = "profile") -> dict[str, Any]:
    """``document`` checked as a profile (see :func:`load_profile`), defaults filled."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CostModelError(f"{where}: not a cost profile (format must be {FORMAT!r})")
    if document.get("version") != VERSION:
        raise CostModelError(f"{where}: version {document.get('version')!r} is not "
                             f"supported (this nova-sim reads version {VERSION})")
    latency = document.get("latency", {})
    cpu = document.get("cpu", {})
    database = document.get("database", {})
    api = document.get("api", {})
    profile: dict[str, Any] = {
        "format": FORMAT, "version": VERSION,
        "source": str(document.get("source", "")),
        "shared_core": bool(document.get("shared_core", False)),
        "latency": {name: _seconds(latency.get(name, 0.0), f"{where}: latency.{name}")
                    for name in ("rpc_hop", "placement_hop")},
        "cpu": {"default": _seconds(cpu.get("default", 0.0), f"{where}: cpu.default")},
        "database": {
            "transaction": _seconds(database.get("transaction", 0.0),
                                    f"{where}: database.transaction"),
            "connections": int(database.get("connections", 1)),
        },
        "api": {"request": _seconds(api.get("request", 0.0), f"{where}: api.request")},
        "executor_pool_size": document.get("executor_pool_size"),
        "measured": dict(document.get("measured", {})),
    }
    if profile["database"]["connections"] < 1:
        raise CostModelError(f"{where}: database.connections must be at least 1")
    pool = profile["executor_pool_size"]
    if pool is not None and (not isinstance(pool, int) or pool < 1):
        raise CostModelError(f"{where}: executor_pool_size must be null or >= 1")
    for topic, methods in cpu.items():
        if topic == "default":
            continue
        if not isinstance(methods, dict):
            raise CostModelError(f"{where}: cpu.{topic} must map methods to seconds")
        profile["cpu"][topic] = {method: _seconds(value, f"{where}: cpu.{topic}.{method}")
                                 for method, value in methods.items()}
    return profile


class CostModel:
    """Charges a checked ``profile`` (see the module docstring) through the cost hooks.

    ``install()`` makes it the process's cost model, ``uninstall()`` removes it; use it
    on the hub that runs the cloud. ``charged`` counts charges by hook.
    """

    def __init__(self, profile: dict[str, Any]):
        self.profile = profile
        self.failure: BaseException | None = None
        self.charged: dict[str, int] = {"dispatch": 0, "transaction": 0, "placement": 0,
                                        "api_request": 0, "delivery_delay": 0}
        self._hop = profile["latency"]["rpc_hop"]
        self._placement = profile["latency"]["placement_hop"]
        self._cpu = profile["cpu"]
        self._transaction = profile["database"]["transaction"]
        self._shared = profile["shared_core"]
        self._cores: dict[Any, green.Semaphore] = {}
        self._database = green.Semaphore(profile["database"]["connections"])

    def install(self) -> None:
        """Make this the cost model (RuntimeError when another one is installed)."""
        hooks.install(self)

    def uninstall(self) -> None:
        """Remove this model if it is the installed one."""
        if hooks.model is self:
            hooks.clear()

    def check(self) -> None:
        """Raise CostModelError with the first error of a hook during the run, if any."""
        if self.failure is not None:
            raise CostModelError(f"the cost model failed during the run: "
                                 f"{type(self.failure).__name__}: {self.failure}"
                                 ) from self.failure

    def _failed(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error

    # -- what the profile says ----------------------------------------------------------
    def cpu_cost(self, topic: str, method: str) -> float:
        """Seconds of CPU of ``method`` dispatched on ``topic``."""
        methods = self._cpu.get(topic)
        if methods is not None:
            cost = methods.get(method)
            if cost is None:
                cost = methods.get("*")
            if cost is not None:
                return cost
        return self._cpu["default"]

    def _core(self, owner: Any) -> green.Semaphore:
        key = "shared" if self._shared else owner
        core = self._cores.get(key)
        if core is None:
            core = self._cores[key] = green.Semaphore(1)
        return core

    def _busy(self, semaphore: green.Semaphore, seconds: float) -> None:
        if seconds <= 0:
            return
        semaphore.acquire()
        try:
            green.sleep(seconds)
        finally:
            semaphore.release()

    # -- the hooks ------------------------------------------------------------------------
    def delivery_delay(self, kind: str, target: Any) -> float:
        """``latency.rpc_hop`` for every request and reply."""
        self.charged["delivery_delay"] += 1
        return self._hop

    def dispatch(self, server: Any, method: str) -> None:
        """Hold the core of ``server``'s process for the method's CPU."""
        try:
            self.charged["dispatch"] += 1
            self._busy(self._core(server), self.cpu_cost(server.target.topic, method))
        except Exception as error:
            self._failed(error)
            raise

    def executor_pool_size(self, server: Any) -> int | None:
        """The profile's pool size (None: the configured one)."""
        return self.profile["executor_pool_size"]

    def transaction(self) -> None:
        """Hold a database connection (the shared core) for a transaction."""
        try:
            self.charged["transaction"] += 1
            semaphore = self._core(None) if self._shared else self._database
            self._busy(semaphore, self._transaction)
        except Exception as error:
            self._failed(error)
            raise

    def placement(self, operation: str) -> None:
        """Wait one placement hop."""
        try:
            self.charged["placement"] += 1
            if self._placement > 0:
                green.sleep(self._placement)
        except Exception as error:
            self._failed(error)
            raise

    def api_request(self, method: str, path: str) -> None:
        """Hold the API process's core for one request's CPU."""
        try:
            self.charged["api_request"] += 1
            self._busy(self._core("api"), self.profile["api"]["request"])
        except Exception as error:
            self._failed(error)
            raise


def make_model(costs: str | None) -> CostModel | None:
    """The model of ``--costs``: None for ``none`` (or None), else the profile's model.
    Raises CostModelError when the profile cannot be read."""
    if costs is None or costs == NONE:
        return None
    return CostModel(load_profile(costs))


# -- calibration --------------------------------------------------------------------------

class Calibrator:
    """Measures a profile on the real clock while a cloud runs a task.

    CPU is attributed to greenthreads (a hub instrument reads ``time.thread_time`` at
    each switch), so a dispatch's CPU is its own greenthread's between the RPC
    instruments' ``dispatch_started`` and ``dispatch_finished``, less the time of its
    database calls; an API request's is the same around the WSGI call. A transaction's
    service time is the database calls' CPU divided by the transactions they made; an
    RPC hop is the CPU of a transport's ``send`` or ``send_reply``. ``attach(sim)``
    before the load, ``wrap_app(app)`` for the API, ``detach()`` after, then
    ``profile()``.
    """

    def __init__(self) -> None:
        self._cpu: dict[Any, float] = {}
        self._db_cpu: dict[Any, float] = {}
        self._last = time.thread_time()
        self._open: dict[Any, tuple[str, str, float, float]] = {}
        self._db_depth = 0
        self.dispatches: dict[tuple[str, str], list[float]] = {}
        self.db_seconds = 0.0
        self.db_transactions = 0
        self.hops: list[float] = []
        self.api: list[float] = []
        self._hub: Any = None
        self._attached = 0.0
        #: the process's CPU between attach() and detach()
        self.total_cpu = 0.0

    # -- CPU per greenthread -------------------------------------------------------------
    def switched(self, origin: Any, target: Any) -> None:
        """Hub instrument: the CPU since the last switch was ``origin``'s."""
        now = time.thread_time()
        self._cpu[origin] = self._cpu.get(origin, 0.0) + now - self._last
        self._last = now

    def _cpu_of(self, current: Any) -> float:
        return self._cpu.get(current, 0.0) + time.thread_time() - self._last

    def dispatch_started(self, target: Any, message: dict, ctxt: Any) -> None:
        """RPC instrument: a dispatch begins on the current greenthread."""
        current = green.getcurrent()
        self._open[current] = (target.topic, message.get("method", "?"),
                               self._cpu_of(current), self._db_cpu.get(current, 0.0))

    def dispatch_finished(self, target: Any, message: dict, ctxt: Any, result: Any,
                          error: Any) -> None:
        """RPC instrument: the dispatch's own CPU (less its database calls)."""
        current = green.getcurrent()
        opened = self._open.pop(current, None)
        if opened is None:
            return
        topic, method, cpu, db = opened
        own = (self._cpu_of(current) - cpu) - (self._db_cpu.get(current, 0.0) - db)
        self.dispatches.setdefault((topic, method), []).append(max(own, 0.0))

    # -- wrapping the cloud -----------------------------------------------------------------
    def attach(self, sim: Any) -> None:
        """Measure the database calls and the transport's sends of ``sim``'s cloud, and
        install the hub and RPC instruments."""
        db = sim.cloud.db
        for name in sim.interposer.wrapped_database_methods:
            setattr(db, name, self._timed_db_call(db, getattr(db, name)))
        transport = sim.cloud.transport
        for name in ("send", "send_reply"):
            setattr(transport, name, self._timed_hop(getattr(transport, name)))
        self._hub = green.get_hub()
        self._last = self._attached = time.thread_time()
        self._hub.add_instrument(self)
        rpc_instruments.add_instrument(self)

    def detach(self) -> None:
        """Uninstall the instruments (the wrapped cloud is about to stop)."""
        self.total_cpu = time.thread_time() - self._attached
        rpc_instruments.remove_instrument(self)
        if self._hub is not None:
            self._hub.remove_instrument(self)

    def _timed_db_call(self, db: Any, call: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._db_depth:
                return call(*args, **kwargs)
            self._db_depth += 1
            before, count = time.thread_time(), db.transactions
            try:
                return call(*args, **kwargs)
            finally:
                self._db_depth -= 1
                spent = time.thread_time() - before
                current = green.getcurrent()
                self._db_cpu[current] = self._db_cpu.get(current, 0.0) + spent
                self.db_seconds += spent
                self.db_transactions += db.transactions - count
        return timed

    def _timed_hop(self, send: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            before = time.thread_time()
            try:
                return send(*args, **kwargs)
            finally:
                self.hops.append(time.thread_time() - before)
        return timed

    def wrap_app(self, app: Any) -> Any:
        """``app`` with each request's own CPU (less its database calls) measured."""
        def measured(environ: dict, start_response: Any) -> Any:
            current = green.getcurrent()
            cpu, db = self._cpu_of(current), self._db_cpu.get(current, 0.0)
            try:
                return app(environ, start_response)
            finally:
                own = (self._cpu_of(current) - cpu) - (self._db_cpu.get(current, 0.0) - db)
                self.api.append(max(own, 0.0))
        return measured

    # -- the result -------------------------------------------------------------------------
    def profile(self, source: str) -> dict[str, Any]:
        """The measured profile (medians per method; a checked version-1 document)."""
        cpu: dict[str, Any] = {}
        everything: list[float] = []
        for (topic, method), samples in sorted(self.dispatches.items()):
            cpu.setdefault(topic, {})[method] = round(statistics.median(samples), 7)
            everything.extend(samples)
        for topic in cpu:
            cpu[topic]["*"] = round(statistics.median(
                [s for (t, _m), samples in self.dispatches.items() if t == topic
                 for s in samples]), 7)
        cpu["default"] = round(statistics.median(everything), 7) if everything else 0.0
        hop = round(statistics.median(self.hops), 7) if self.hops else 0.0
        attributed = (sum(everything) + self.db_seconds + sum(self.hops) + sum(self.api))
        document = {
            "format": FORMAT, "version": VERSION, "source": source,
            "shared_core": False,
            "latency": {"rpc_hop": hop, "placement_hop": hop},
            "cpu": cpu,
            "database": {"transaction": round(self.db_seconds / self.db_transactions, 7)
                         if self.db_transactions else 0.0, "connections": 1},
            "api": {"request": round(statistics.median(self.api), 7) if self.api else 0.0},
            "executor_pool_size": None,
            "measured": {"dispatches": sum(len(s) for s in self.dispatches.values()),
                         "transactions": self.db_transactions, "hops": len(self.hops),
                         "api_requests": len(self.api),
                         # the share of the process's CPU the figures account for
                         "coverage": round(attributed / self.total_cpu, 3)
                         if self.total_cpu else 0.0},
        }
        check_profile(document, source)
        return document
