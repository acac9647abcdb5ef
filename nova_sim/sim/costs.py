"""The cost model: what each RPC hop, dispatch, transaction and API request costs.

Owns the cost profile (a versioned JSON document, see :func:`load_profile`), the
:class:`CostModel` that charges it on the hub's clock through the cost hooks of
``nova_sim.green.costs``, and the :class:`Calibrator` (with :class:`CpuMeter`, the same load
without its instruments) that measures a profile on the real clock of the machine it runs
on (``nova-sim simulate --calibrate``).

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
- an API request holds the API process's core for ``api.<HTTP method>`` (else
  ``api.request``).

With ``shared_core`` true, every CPU charge and every transaction uses one core: the
one-process cloud on one machine (``--clock real``), which is what calibration measures.

A profile may have a ``busy`` level: the same figures measured on a core busy
``busy.utilisation`` of the time (the profile's own being those of a core busy
``utilisation`` of the time). A charge then costs, by its core's offered load (the
seconds charged on it over the last ``utilisation_window``, decayed exponentially, per
second), the profile's figure, the busy level's, or the one interpolated linearly
between them: a process does the same work for less CPU when its core is busy.

A hook's error is the run's: the model keeps the first one and :meth:`CostModel.check`
(called by the engine after each workload) raises :class:`CostModelError` with it, so a
broken model aborts the run instead of measuring nothing. Must not know about tasks,
scenarios or reports.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from typing import Any

import greenlet

from nova_sim import green
from nova_sim.green.costs import hooks
from nova_sim.rpc import instruments as rpc_instruments

FORMAT = "nova-sim-costs"
VERSION = 1
#: The profile ``--costs none`` stands for: no model installed, everything free.
NONE = "none"
#: The ``owner`` of the simulated Rally client's work.
CLIENT = "client"
#: The figures a level of busyness has (the profile's own, and its ``busy`` level's).
LEVEL_FIGURES = ("latency", "cpu", "work", "database", "api")


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
        "api": {name: _seconds(value, f"{where}: api.{name}")
                for name, value in {"request": 0.0, **api}.items()},
        "executor_pool_size": document.get("executor_pool_size"),
        "measured": dict(document.get("measured", {})),
    }
    if profile["database"]["connections"] < 1:
        raise CostModelError(f"{where}: database.connections must be at least 1")
    pool = profile["executor_pool_size"]
    if pool is not None and (not isinstance(pool, int) or pool < 1):
        raise CostModelError(f"{where}: executor_pool_size must be null or >= 1")
    work = document.get("work", {})
    if not isinstance(work, dict):
        raise CostModelError(f"{where}: work must map KIND:NAME to seconds")
    profile["work"] = {name: _seconds(value, f"{where}: work.{name}")
                       for name, value in work.items()}
    for topic, methods in cpu.items():
        if topic == "default":
            continue
        if not isinstance(methods, dict):
            raise CostModelError(f"{where}: cpu.{topic} must map methods to seconds")
        profile["cpu"][topic] = {method: _seconds(value, f"{where}: cpu.{topic}.{method}")
                                 for method, value in methods.items()}
    profile["utilisation"] = _fraction(document.get("utilisation", 0.0),
                                       f"{where}: utilisation")
    profile["utilisation_window"] = _seconds(document.get("utilisation_window", 1.0),
                                             f"{where}: utilisation_window")
    if profile["utilisation_window"] <= 0:
        raise CostModelError(f"{where}: utilisation_window must be above 0")
    busy = document.get("busy")
    if busy is not None:
        if not isinstance(busy, dict):
            raise CostModelError(f"{where}: busy must be a level of figures")
        level = check_profile({**busy, "format": FORMAT, "version": VERSION},
                              f"{where}: busy")
        profile["busy"] = {key: level[key] for key in LEVEL_FIGURES}
        profile["busy"]["utilisation"] = level["utilisation"]
        profile["busy"]["measured"] = level["measured"]
        if profile["busy"]["utilisation"] <= profile["utilisation"]:
            raise CostModelError(f"{where}: busy.utilisation must be above utilisation")
    return profile


def _fraction(value: Any, where: str) -> float:
    seconds = _seconds(value, where)
    if seconds > 1:
        raise CostModelError(f"{where}: expected a fraction from 0 to 1, got {value!r}")
    return seconds


class CostModel:
    """Charges a checked ``profile`` (see the module docstring) through the cost hooks.

    ``install()`` makes it the process's cost model, ``uninstall()`` removes it; use it
    on the hub that runs the cloud. ``charged`` counts charges by hook.

    A core (or the database's connections) is a list of the times each of its slots is
    next free on the hub's clock: a charge takes the slot free first, from then or from
    now if later, so charges queue in the order they come, and a charge that must not
    block (an RPC hop on the shared core) can reserve its time and be postponed instead.
    """

    def __init__(self, profile: dict[str, Any]):
        self.profile = profile
        self.failure: BaseException | None = None
        self.charged: dict[str, int] = {"dispatch": 0, "transaction": 0, "placement": 0,
                                        "api_request": 0, "delivery_delay": 0, "work": 0}
        self._hop = profile["latency"]["rpc_hop"]
        self._placement = profile["latency"]["placement_hop"]
        self._cpu = profile["cpu"]
        self._work = profile["work"]
        self._transaction = profile["database"]["transaction"]
        self._shared = profile["shared_core"]
        #: the seconds charged on cores and the database (the client's apart excepted)
        self.busy_seconds = 0.0
        self._free_at: dict[Any, list[float]] = {
            "database": [0.0] * profile["database"]["connections"]}
        # the busy level: the figures of a core at busy["utilisation"], and the offered
        # load of each core (its charges' seconds, decayed over utilisation_window)
        busy = profile.get("busy")
        self._busy = busy
        self._window = profile["utilisation_window"]
        self._idle = profile["utilisation"]
        self._load: dict[Any, list[float]] = {}

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
    def cpu_cost(self, topic: str, method: str, busy: bool = False) -> float:
        """Seconds of CPU of ``method`` dispatched on ``topic`` (``busy``: on a core at
        the busy level's utilisation, when the profile has one)."""
        level = self._busy if busy and self._busy is not None else self.profile
        methods = level["cpu"].get(topic)
        if methods is not None:
            cost = methods.get(method)
            if cost is None:
                cost = methods.get("*")
            if cost is not None:
                return cost
        return level["cpu"]["default"]

    def work_cost(self, kind: str, name: str, busy: bool = False) -> float:
        """Seconds of CPU of a unit of work ``kind`` named ``name`` (``work.KIND:NAME``,
        else ``work.KIND:*``, else 0; ``busy`` as for cpu_cost)."""
        work = (self._busy if busy and self._busy is not None else self.profile)["work"]
        cost = work.get(f"{kind}:{name}")
        if cost is None:
            cost = work.get(f"{kind}:*", 0.0)
        return cost

    def utilisation(self, core: Any) -> float:
        """The offered load of ``core`` now: the seconds charged on it over the last
        ``utilisation_window`` (decayed exponentially) per second; above 1 when more
        work comes than it serves."""
        state = self._load.get(core)
        if state is None:
            return 0.0
        return state[0] * math.exp((state[1] - green.now()) / self._window) / self._window

    def _at_load(self, core: Any, idle: float, busy: float) -> float:
        """The cost of a charge on ``core`` whose figure is ``idle`` at the profile's
        utilisation and ``busy`` at the busy level's: linear in the core's offered load
        between the two, the nearer figure beyond them. Counts it in the core's load."""
        if self._busy is None:
            return idle
        state = self._load.get(core)
        now = green.now()
        if state is None:
            state = self._load[core] = [0.0, now]
        load = state[0] * math.exp((state[1] - now) / self._window)
        share = ((load / self._window - self._idle)
                 / (self._busy["utilisation"] - self._idle))
        cost = idle + (busy - idle) * min(max(share, 0.0), 1.0)
        state[0], state[1] = load + cost, now
        return cost

    def _reserve(self, core: Any, seconds: float, busy: float | None = None) -> float:
        """Take the cost (``seconds``, or at load between it and ``busy``) of the slot of
        ``core`` free first; the delay from now until that time is over (the wait for
        the slot and the work itself)."""
        if busy is not None:
            seconds = self._at_load(core, seconds, busy)
        slots = self._free_at.get(core)
        if slots is None:
            slots = self._free_at[core] = [0.0]
        now = green.now()
        self.busy_seconds += seconds
        index = min(range(len(slots)), key=slots.__getitem__) if len(slots) > 1 else 0
        slots[index] = max(now, slots[index]) + seconds
        return slots[index] - now

    def _busy_core(self, owner: Any, seconds: float, busy: float | None) -> None:
        """Hold the core of ``owner``'s process (the shared core) for ``seconds`` (at
        load: between it and ``busy``)."""
        if seconds > 0 or (busy is not None and busy > 0):
            green.sleep(self._reserve("shared" if self._shared else owner, seconds, busy))

    # -- the hooks ------------------------------------------------------------------------
    def delivery_delay(self, kind: str, target: Any) -> float:
        """``latency.rpc_hop`` for every request and reply; on the shared core the hop is
        its CPU there (it waits while the core is busy)."""
        self.charged["delivery_delay"] += 1
        if self._shared and self._hop > 0:
            return self._reserve("shared", self._hop, self._busy_figure("latency", "rpc_hop"))
        return self._hop

    def dispatch(self, server: Any, method: str) -> None:
        """Hold the core of ``server``'s process for the method's CPU (the process is
        the service whose manager is the server's first endpoint)."""
        try:
            self.charged["dispatch"] += 1
            topic = server.target.topic
            self._busy_core(server.dispatcher.endpoints[0], self.cpu_cost(topic, method),
                            self.cpu_cost(topic, method, busy=True))
        except Exception as error:
            self._failed(error)
            raise

    def _busy_figure(self, section: str, name: str) -> float | None:
        """The busy level's ``section.name`` (None without a busy level)."""
        return None if self._busy is None else self._busy[section][name]

    def executor_pool_size(self, server: Any) -> int | None:
        """The profile's pool size (None: the configured one)."""
        return self.profile["executor_pool_size"]

    def transaction(self) -> None:
        """Hold a database connection (the shared core) for a transaction."""
        try:
            self.charged["transaction"] += 1
            if self._transaction > 0:
                green.sleep(self._reserve("shared" if self._shared else "database",
                                          self._transaction,
                                          self._busy_figure("database", "transaction")))
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
            api = self.profile["api"]
            busy = None if self._busy is None else self._busy["api"]
            self._busy_core("api", api.get(method, api["request"]),
                            None if busy is None else busy.get(method, busy["request"]))
        except Exception as error:
            self._failed(error)
            raise

    def work(self, owner: Any, kind: str, name: str) -> None:
        """Hold the core of ``owner``'s process for a unit of work's CPU. The client's
        work (``owner`` ``"client"``) takes its time without a core to queue on, as
        Rally's workers on machines of their own, unless the core is shared."""
        try:
            self.charged["work"] += 1
            cost = self.work_cost(kind, name)
            if owner == CLIENT and not self._shared:
                if cost > 0:
                    green.sleep(cost)
                return
            self._busy_core(owner, cost, self.work_cost(kind, name, busy=True))
        except Exception as error:
            self._failed(error)
            raise


def scaled(profile: dict[str, Any], factor: float) -> dict[str, Any]:
    """``profile`` with every figure of seconds multiplied by ``factor``: the same work on
    a core ``factor`` times slower (a process that gets ``1 / factor`` of a core)."""
    def scale(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: scale(item) for key, item in value.items()}
        return value * factor

    def level(figures: dict[str, Any]) -> dict[str, Any]:
        return dict(figures, latency=scale(figures["latency"]), cpu=scale(figures["cpu"]),
                    work=scale(figures["work"]), api=scale(figures["api"]),
                    database=dict(figures["database"], transaction=(
                        figures["database"]["transaction"] * factor)))

    result = level(profile)
    if profile.get("busy") is not None:
        result["busy"] = level(profile["busy"])
    return result


def make_model(costs: str | None) -> CostModel | None:
    """The model of ``--costs``: None for ``none`` (or None), else the profile's model.
    Raises CostModelError when the profile cannot be read."""
    if costs is None or costs == NONE:
        return None
    return CostModel(load_profile(costs))


# -- calibration --------------------------------------------------------------------------

class Calibrator:
    """Measures a profile on the real clock while a cloud runs a task.

    CPU is attributed to greenlets: a hub instrument reads ``time.thread_time`` at each
    switch. A *unit* is a stretch of one greenlet's work the model charges as one: a
    dispatch (from the RPC instrument ``message_received`` until the server's greenlet
    takes the next message or its job ends: with what the server does around the
    method, such as the reply), an API request (the WSGI call), a unit of work (from
    the ``work`` cost hook, which the calibrator provides while it measures, until the
    next one on the same greenlet or the greenlet's job ends). A unit's own CPU is its
    greenlet's CPU meanwhile less what was measured inside it: database calls, RPC sends
    and units nested in it (the API request inside a client's request). A transaction's
    service time is the database calls' CPU over the transactions they made; an RPC hop
    is the CPU of a transport's ``send`` or ``send_reply``. ``attach(sim)`` before the
    load, ``wrap_app(app)`` for the API, ``detach()`` after, then ``profile()``.
    """

    def __init__(self) -> None:
        self._cpu: dict[Any, float] = {}
        self._inner: dict[Any, float] = {}
        self._last = time.thread_time()
        self._open: dict[Any, list[tuple[Any, float, float]]] = {}
        self._job_began: dict[Any, tuple[float, float]] = {}
        self._db_depth = 0
        #: own CPU of each unit by key: (topic, method) for dispatches, ("api", HTTP
        #: method) for API requests, "KIND:NAME" for units of work
        self.units: dict[Any, list[float]] = {}
        self.db_seconds = 0.0
        self.db_transactions = 0
        self.hops: list[float] = []
        self._hub: Any = None
        self._attached = 0.0
        #: the process's CPU between attach() and detach(), and the hub loop's part of it
        self.total_cpu = 0.0
        self.hub_cpu = 0.0
        #: how busy the process's core was between attach() and detach(): the share of
        #: the hub's time it ran or waited for a core (the kernel's schedstat; its CPU
        #: time where there is none)
        self.utilisation = 0.0
        self._began: tuple[float, tuple[float, float] | None] = (0.0, None)

    # -- CPU per greenlet ------------------------------------------------------------------
    def switched(self, origin: Any, target: Any) -> None:
        """Hub instrument: the CPU since the last switch was ``origin``'s."""
        now = time.thread_time()
        self._cpu[origin] = self._cpu.get(origin, 0.0) + now - self._last
        self._last = now

    def _cpu_of(self, current: Any) -> float:
        return self._cpu.get(current, 0.0) + time.thread_time() - self._last

    def _open_unit(self, key: Any) -> None:
        current = greenlet.getcurrent()
        self._open.setdefault(current, []).append(
            (key, self._cpu_of(current), self._inner.get(current, 0.0)))

    def _close_unit(self, current: Any) -> None:
        key, cpu, inner = self._open[current].pop()
        own = max((self._cpu_of(current) - cpu) - (self._inner.get(current, 0.0) - inner),
                  0.0)
        self._inner[current] = self._inner.get(current, 0.0) + own
        self.units.setdefault(key, []).append(own)

    def _measured_inside(self, spent: float) -> None:
        current = greenlet.getcurrent()
        self._inner[current] = self._inner.get(current, 0.0) + spent

    def message_received(self, target: Any, message: dict) -> None:
        """RPC instrument: an RPC server's greenlet took a message; its dispatch (with
        what the server does around it: the context, the reply) is a unit until the
        greenlet takes the next message or its job ends."""
        current = greenlet.getcurrent()
        if not self._open.get(current):
            # the job's first message: its decoding since the job began is the dispatch's
            cpu, inner = self._job_began.get(current, (0.0, 0.0))
            self._open[current] = [((target.topic, message.get("method", "?")), cpu, inner)]
            return
        self._next_unit((target.topic, message.get("method", "?")))

    def _next_unit(self, key: Any) -> None:
        current = greenlet.getcurrent()
        stack = self._open.get(current)
        if stack and type(stack[-1][0]) is type(key):
            self._close_unit(current)
        self._open_unit(key)

    def work(self, owner: Any, kind: str, name: str) -> None:
        """The ``work`` cost hook while measuring: a unit of work begins (ending the one
        this greenlet was in)."""
        self._next_unit(f"{kind}:{name}")

    def exited(self, gt: Any) -> None:
        """Hub instrument: a job ends on its greenlet (its runner is reused next): its
        units of work end."""
        current = greenlet.getcurrent()
        stack = self._open.get(current)
        while stack:
            self._close_unit(current)
        self._job_began[current] = (self._cpu_of(current), self._inner.get(current, 0.0))

    # -- wrapping the cloud -----------------------------------------------------------------
    def attach(self, sim: Any) -> None:
        """Measure the database calls and the transport's sends of ``sim``'s cloud, and
        install the hub and RPC instruments and the ``work`` cost hook."""
        db = sim.cloud.db
        for name in sim.interposer.wrapped_database_methods:
            setattr(db, name, self._timed_db_call(db, getattr(db, name)))
        transport = sim.cloud.transport
        for name in ("send", "send_reply"):
            setattr(transport, name, self._timed_hop(getattr(transport, name)))
        self._hub = green.get_hub()
        self._began = (green.now(), run_queue())
        self._last = self._attached = time.thread_time()
        self._hub.add_instrument(self)
        rpc_instruments.add_instrument(self)
        hooks.install(self)

    def detach(self) -> None:
        """Uninstall the instruments (the wrapped cloud is about to stop)."""
        self.total_cpu = time.thread_time() - self._attached
        wall, ended = green.now() - self._began[0], run_queue()
        began = self._began[1]
        if began is not None and ended is not None:
            running = ended[0] - began[0] + ended[1] - began[1]
        else:
            running = self.total_cpu
        self.utilisation = round(min(max(running / wall, 0.0), 1.0), 3) if wall > 0 else 0.0
        if hooks.model is self:
            hooks.clear()
        rpc_instruments.remove_instrument(self)
        if self._hub is not None:
            self._hub.remove_instrument(self)
            self.hub_cpu = self._cpu.get(self._hub.greenlet, 0.0)

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
                self._measured_inside(spent)
                self.db_seconds += spent
                self.db_transactions += db.transactions - count
        return timed

    def _timed_hop(self, send: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            before = time.thread_time()
            try:
                return send(*args, **kwargs)
            finally:
                spent = time.thread_time() - before
                self._measured_inside(spent)
                self.hops.append(spent)
        return timed

    def wrap_app(self, app: Any) -> Any:
        """``app`` with each request's own CPU (less its database calls) measured."""
        def measured(environ: dict, start_response: Any) -> Any:
            self._open_unit(("api", environ.get("REQUEST_METHOD", "GET")))
            try:
                return app(environ, start_response)
            finally:
                self._close_unit(greenlet.getcurrent())
        return measured

    # -- the result -------------------------------------------------------------------------
    def profile(self, source: str, meter: CpuMeter | None = None) -> dict[str, Any]:
        """The measured profile (a checked version-1 document): the mean of each unit's
        own CPU by name (a queue's capacity is one over its mean service time).

        ``meter`` measured the same load again without the calibrator's instruments
        (which cost CPU of their own at every switch): every figure is then scaled so
        that, charged for the units, transactions and sends that load made, they add
        up to the CPU it took. So the instruments' work is not charged, and what no
        figure accounts for (the hub's loop, the code between units) is, in
        proportion."""
        attributed = (sum(sum(samples) for samples in self.units.values())
                      + self.db_seconds + sum(self.hops))
        factor = 1.0
        if meter is not None:
            means = {key: statistics.fmean(samples)
                     for key, samples in self.units.items() if samples}
            charged = (sum(count * means.get(key, 0.0)
                           for key, count in meter.counts.items())
                       + meter.transactions * (self.db_seconds / self.db_transactions
                                               if self.db_transactions else 0.0)
                       + meter.hops * (statistics.fmean(self.hops) if self.hops else 0.0))
            if charged > 0:
                factor = meter.total_cpu / charged

        def mean(samples: list[float]) -> float:
            return round(statistics.fmean(samples) * factor, 8) if samples else 0.0

        cpu: dict[str, Any] = {}
        work: dict[str, float] = {}
        api: dict[str, float] = {}
        groups: dict[str, list[float]] = {}  # "cpu.<topic>", "work.<kind>", "api", "cpu"
        for key, samples in sorted(self.units.items(), key=lambda item: str(item[0])):
            if isinstance(key, tuple) and key[0] == "api":
                api[key[1]] = mean(samples)
                groups.setdefault("api", []).extend(samples)
            elif isinstance(key, tuple):
                topic, method = key
                cpu.setdefault(topic, {})[method] = mean(samples)
                groups.setdefault(f"cpu.{topic}", []).extend(samples)
                groups.setdefault("cpu", []).extend(samples)
            else:
                work[key] = mean(samples)
                groups.setdefault(f"work.{key.split(':', 1)[0]}", []).extend(samples)
        for group, samples in groups.items():
            if group.startswith("cpu."):
                cpu[group[4:]]["*"] = mean(samples)
            elif group.startswith("work."):
                work[f"{group[5:]}:*"] = mean(samples)
        cpu["default"] = mean(groups.get("cpu", []))
        api["request"] = mean(groups.get("api", []))
        hop = mean(self.hops)
        share = (lambda part: round(part / self.total_cpu, 3) if self.total_cpu else 0.0)
        document = {
            "format": FORMAT, "version": VERSION, "source": source,
            "shared_core": False,
            "latency": {"rpc_hop": hop, "placement_hop": hop},
            "cpu": cpu,
            "work": work,
            "database": {"transaction": round(self.db_seconds * factor
                                              / self.db_transactions, 8)
                         if self.db_transactions else 0.0, "connections": 1},
            "api": api,
            "executor_pool_size": None,
            "utilisation": self.utilisation,
            "measured": {"dispatches": len(groups.get("cpu", [])),
                         "transactions": self.db_transactions, "hops": len(self.hops),
                         "api_requests": len(groups.get("api", [])),
                         "work_units": sum(len(samples) for group, samples
                                           in groups.items() if group.startswith("work.")),
                         "cpu_seconds": round(self.total_cpu, 3),
                         # the share of the process's CPU the figures account for, and
                         # the hub loop's (switching, timers)
                         "coverage": share(attributed),
                         "hub_loop": share(self.hub_cpu),
                         # the same load without the instruments, and the figures'
                         # scale from it
                         "uninstrumented_cpu_seconds": None if meter is None
                         else round(meter.total_cpu, 3),
                         "scale": round(factor, 3)},
        }
        check_profile(document, source)
        return document


class CpuMeter:
    """The process's CPU between ``attach`` and ``detach`` and how many of each unit the
    load made, without the Calibrator's costly instruments (no hook on every greenlet
    switch): the same load run again, to scale its figures to (engine.run_task's
    ``costs``)."""

    def __init__(self) -> None:
        self.total_cpu = 0.0
        self._attached = 0.0
        #: units by the Calibrator's keys, the transactions and the RPC sends
        self.counts: dict[Any, int] = {}
        self.transactions = 0
        self.hops = 0
        self._db: Any = None
        self._transactions_before = 0

    def attach(self, sim: Any) -> None:
        """Count the cloud's units, transactions and sends from now, and its CPU."""
        self._db = sim.cloud.db
        self._transactions_before = getattr(self._db, "transactions", 0)
        transport = sim.cloud.transport
        for name in ("send", "send_reply"):
            setattr(transport, name, self._counted_hop(getattr(transport, name)))
        rpc_instruments.add_instrument(self)
        hooks.install(self)
        self._attached = time.thread_time()

    def _counted_hop(self, send: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.hops += 1
            return send(*args, **kwargs)
        return counted

    def _count(self, key: Any) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def message_received(self, target: Any, message: dict) -> None:
        """RPC instrument: one dispatch."""
        self._count((target.topic, message.get("method", "?")))

    def work(self, owner: Any, kind: str, name: str) -> None:
        """The ``work`` cost hook: one unit of work."""
        self._count(f"{kind}:{name}")

    def wrap_app(self, app: Any) -> Any:
        """``app`` counting its requests by HTTP method."""
        def counted(environ: dict, start_response: Any) -> Any:
            self._count(("api", environ.get("REQUEST_METHOD", "GET")))
            return app(environ, start_response)
        return counted

    def detach(self) -> None:
        """Stop counting."""
        self.total_cpu = time.thread_time() - self._attached
        self.transactions = getattr(self._db, "transactions", 0) - self._transactions_before
        if hooks.model is self:
            hooks.clear()
        rpc_instruments.remove_instrument(self)


def run_queue() -> tuple[float, float] | None:
    """This thread's CPU seconds and seconds spent runnable but waiting for a core (the
    kernel's schedstat; None where there is none)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as stream:
            on_cpu, waiting, _slices = stream.read().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9

