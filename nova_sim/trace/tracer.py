"""The tracer: spans with ids, parents, services, greenthreads and times.

Owns ``Span`` and ``Tracer``. A span is one timed piece of work: a name, a trace id
(shared by every span of one request flow), a span id, the parent span id, the service
instance (``binary``, ``host``) and the greenthread it ran on, a start and an end on the
hub's clock (integer nanoseconds since the epoch: ``wallclock()`` at the hub's clock
reading, so spans of several processes line up), attributes, point events, the request
ids, and ``ok`` or ``error``.

How a span finds its place
--------------------------
- *Parent*: the current span lives in a ``ContextVar``. ``nova_sim.green`` starts every
  greenthread in a copy of its spawner's context, so a greenthread spawned inside a span
  (the compute's build, a pool job) has that span as parent without anything passed by
  hand. Across RPC the parent travels in the message (see ``rpc.py``).
- *Service*: chosen by the span itself (an RPC server span: the receiver's; an entry span
  with nothing around it, ``wsgi.*`` / ``api.*``: the API's), else its parent's (so a
  whole request flow under a server span is that service's, greenthreads it spawned
  included, with no context variable set per span), else
  ``nova_sim.trace.current_service`` (set by ``service_scope`` around a service's
  start-up: its periodic tasks and heartbeats), else the tracer's own (the process's).
- *Greenthread*: a deterministic name (``gt1``, ``gt2``... in order of first span, ``main``
  for the main greenlet). A ``spawn``/``spawn_after`` GreenThread keeps its name in its
  ``name`` slot; a ``spawn_n`` job has no handle, so its runner greenlet is named until the
  hub's ``exited`` instrument says the job ended (runners are recycled).
- *Request id*: the span's ``request_id`` attribute, else the parent's, else the
  request context (``context_getter()``, injected by the service layer: this package does
  not import it).

Ids and determinism
-------------------
Span ids are 16 hex digits: a 32-bit prefix (from ``seed`` and the service identity when
seeded, else random) and a counter; trace ids are 32 hex digits made the same way. Nothing
draws from the hub's random generator, so tracing never changes what a seeded simulation
does, and two seeded runs give the same ids.

When spans reach the file
-------------------------
A finished span goes into the span log, a list. Every ``CHECK_EVERY`` entries the log
is encoded as one batch (``store`` owns the format), so that finished spans are
let go young; ``flush`` appends what is encoded to the span file. Flushes happen:

- every ``flush_interval`` real seconds while spans are being made (looked at every
  ``CHECK_EVERY`` finished spans) or once ``flush_every`` spans wait;
- on a real-clock hub, from a hub timer every ``flush_interval`` seconds, so an idle
  process writes what it finished too. A virtual-clock hub gets no timer: a timer there
  would be work that keeps a simulation going and moves its clock; a simulation makes
  spans as long as it runs, so the first rule covers it;
- when the tracer is uninstalled, and at exit.

So every span is in its file within about ``flush_interval`` of its end (the default,
1 s; see tests/trace/test_span_log.py for the bound).

Must not know the services or the exporters. Tracing off is ``nova_sim.trace``'s job: this
module is only imported once a tracer is made.
"""

from __future__ import annotations

import atexit
import contextvars
import itertools
import logging
import os
import re
import threading
import time
import zlib
from typing import Any, Callable

import greenlet

from nova_sim import trace as trace_api
from nova_sim.green import get_hub
from nova_sim.green import hub as _hub_module
from nova_sim.trace import store

LOG = logging.getLogger(__name__)

_current_span: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "nova_sim_trace_span", default=None
)
_current_service = trace_api.current_service
_getcurrent = greenlet.getcurrent

#: Spans whose name starts with one of these belong to this service when no scope is set.
ENTRY_SERVICES = (("wsgi.", "nova-api"), ("api.", "nova-api"))

KINDS = ("internal", "server", "client", "producer", "consumer", "event")

#: Finished spans between two looks at the clock to decide whether to flush.
CHECK_EVERY = 64


def current_span() -> Span | None:
    """The span the running greenthread is inside (None when none, or tracing is off)."""
    return _current_span.get()


_ID_TEXT = re.compile(r"[0-9A-Za-z-]+").fullmatch


def safe_id(value: Any) -> str | None:
    """``value`` when it can be a trace or span id (a non-empty str of ASCII letters,
    digits and dashes: our hex ids, OSProfiler's UUIDs), else None."""
    return value if type(value) is str and _ID_TEXT(value) else None


class Span:
    """One timed piece of work; a context manager (``with tracer.span(...) as span``).

    Entering makes it the current span; leaving ends it, records an escaping exception
    as ``error`` (and lets it propagate) and restores the previous span. The fields are
    those of a span record (``store.span_record``, documented in docs/tracing.md);
    ``end`` and ``end_seq`` are None until the span ends.
    """

    __slots__ = ("tracer", "trace_id", "span_id", "parent_id", "name", "kind", "service",
                 "host", "greenthread", "start", "seq", "request_id", "global_request_id",
                 "attributes", "end", "end_seq", "error", "events", "_token")

    def __init__(self, tracer: Tracer, trace_id: str, span_id: str, parent_id: str | None,
                 name: str, kind: str, service: str, host: str, greenthread: str,
                 start: int, seq: int, request_id: str | None,
                 global_request_id: str | None, attributes: dict):
        self.tracer = tracer
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.service = service
        self.host = host
        self.greenthread = greenthread
        self.start = start
        self.seq = seq
        self.request_id = request_id
        self.global_request_id = global_request_id
        self.attributes = attributes
        self.end: int | None = None
        self.end_seq: int | None = None
        self.error: str | None = None
        self.events: list[tuple] | None = None  # (time, seq, name, attributes)
        self._token: Any = None

    def __enter__(self) -> Span:
        self._token = _current_span.set(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.set_error(exc)
        self._restore()
        self.tracer.finish(self)
        return False

    def _restore(self) -> None:
        """Undo ``__enter__``: the previous span is current again (nothing when the span
        is left in another context than it was entered in)."""
        token, self._token = self._token, None
        if token is not None:
            try:
                _current_span.reset(token)
            except ValueError:  # another context: its current span is not ours
                pass

    @property
    def status(self) -> str:
        return "ok" if self.error is None else "error"

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (shown by every exporter)."""
        self.attributes[key] = value

    def set_error(self, error: BaseException | str) -> None:
        """Mark the span failed with ``error`` (an exception or a message); an
        exception is kept as ``Type: first line of its message``."""
        if isinstance(error, BaseException):
            text = str(error).splitlines()[0] if str(error) else ""
            self.error = f"{type(error).__name__}: {text}" if text else type(error).__name__
        else:
            self.error = str(error)

    def add_event(self, name: str, attributes: dict, when: int | None = None) -> None:
        """Record a point event inside this span (now, unless ``when`` is given, in ns
        since the epoch)."""
        tracer = self.tracer
        if self.events is None:
            self.events = []
        self.events.append((tracer.now_ns() if when is None else when, tracer._next_order(),
                            name, attributes))

    def __repr__(self) -> str:
        return f"<Span {self.name} {self.span_id} parent={self.parent_id} {self.service}>"


class _HubInstrument:
    """What the tracer installs on a hub: ``exited`` (names of recycled runners) and,
    when switches are recorded, ``switched``."""

    def __init__(self, tracer: Tracer):
        self.tracer = tracer

    def exited(self, gt: Any) -> None:
        self.tracer._names.pop(gt, None)


class _SwitchInstrument(_HubInstrument):
    """Records every switch as (time, who ran until now, who runs next).

    Who ran is named when it leaves, not when it starts: a runner greenlet is switched to
    before it picks up its GreenThread, and after the GreenThread ended it parks itself;
    a name remembered at ``exited`` (which runs on that runner) covers the last stretch.
    """

    def __init__(self, tracer: Tracer):
        super().__init__(tracer)
        self._ended: dict[Any, str] = {}

    def exited(self, gt: Any) -> None:
        name = self.tracer._names.pop(gt, None)
        if name is not None:
            self._ended[_getcurrent()] = name

    def switched(self, origin: Any, target: Any) -> None:
        tracer = self.tracer
        if getattr(origin, "gt", None) is None and origin in self._ended:
            leaving = self._ended.pop(origin)
        else:
            leaving = tracer.greenthread_name(origin)
        tracer._log.append(store.switch_record(tracer.now_ns(), leaving,
                                               tracer.greenthread_name(target)))


class Tracer:
    """Records spans for one process (one service, or a whole one-process cloud).

    ``service`` / ``host``: the process's own identity (spans outside any service scope).
    ``output_dir``: where ``flush()`` appends the span file (``None``: memory only).
    ``seed``: make ids repeatable (with the virtual clock: byte-identical exports).
    ``record_switches``: also record every greenthread switch of the hub (teaching; slow).
    ``context_getter()``: returns the current request context (``request_id``,
    ``global_request_id``) or None. ``flush_every`` / ``flush_interval``: the file is
    appended to once that many spans wait, or ``flush_interval`` real seconds after the
    last flush (see the module docstring); without a file the log stays in memory.
    ``max_file_bytes``: when the span file grows past it, it is renamed ``<name>.1.spans``
    (replacing the one before) and a new one begun: a process keeps at most about twice
    that (None: no cap).
    ``one_service``: the process runs only ``service`` (default: unless ``service`` is
    ``nova-sim``, a whole cloud in one process), so every RPC dispatch belongs to it. Use
    ``install()`` to make it this process's tracer.
    """

    def __init__(self, service: str = "nova-sim", host: str | None = None,
                 output_dir: str | None = None, seed: int | None = None,
                 record_switches: bool = False,
                 context_getter: Callable[[], Any] | None = None,
                 flush_every: int = 5000,
                 one_service: bool | None = None, flush_interval: float = 1.0,
                 max_file_bytes: int | None = None):
        self.service = service
        # A process running one service (not a whole cloud): RPC dispatches are its own.
        self.one_service = (service != "nova-sim") if one_service is None else one_service
        self.host = host or "localhost"
        self.output_dir = output_dir
        self.record_switches = record_switches
        self.context_getter = context_getter
        self.flush_every = flush_every
        self.flush_interval = flush_interval
        self.max_file_bytes = max_file_bytes
        if seed is not None:
            prefix = zlib.crc32(f"{seed}/{service}/{self.host}".encode())
        else:
            prefix = int.from_bytes(os.urandom(4), "big")
        self._prefix = f"{prefix:08x}"
        self._span_counter = itertools.count(1)
        self._trace_counter = itertools.count(1)
        self._thread_counter = itertools.count(1)
        # one sequence for span starts, ends and events: it orders them on equal times
        self._next_order = itertools.count(1).__next__
        self._names: dict[Any, str] = {}  # greenthread (or runner greenlet) -> name
        self._log: list[Any] = []  # finished spans and switch records, not yet encoded
        self._encoded: list[bytes] = []  # the log's entries encoded, not yet written
        self._waiting = 0  # entries in ``_encoded``
        self._encoded_spans = 0  # spans encoded so far, written or not (``count``)
        self._rotated: str | None = None  # the full span file set aside, if any
        self._check_at = CHECK_EVERY  # the log's length at which finish looks at the time
        self._last_flush = time.monotonic()
        self._lock = threading.Lock()
        self._hub: Any = None
        self._flush_timer: Any = None
        self._offset_ns = 0
        self._clock_ns: Callable[[], int] = time.monotonic_ns  # the hub's, in ns
        self._instrument = (_SwitchInstrument if record_switches else _HubInstrument)(self)
        self._calls: dict[str, Span] = {}  # msg_id -> the caller's span, until the reply
        self._dispatches: dict[int, Span] = {}  # id(message) -> the server's span
        self.path: str | None = None
        if output_dir:
            name = f"{service}-{self.host}-{os.getpid()}".replace("/", "_")
            self.path = os.path.join(output_dir, name + store.SPANS_SUFFIX)
        self._rpc_instrument: Any = None
        self._installed = False

    # -- installation -------------------------------------------------------------------
    def install(self) -> Tracer:
        """Make this the process's tracer: ``nova_sim.trace.span`` records here, RPC
        messages carry the trace (see ``rpc.py``), and the span file is flushed at exit."""
        from nova_sim import rpc
        from nova_sim.trace.rpc import RPCInstrument

        self._rpc_instrument = RPCInstrument(self)
        rpc.add_instrument(self._rpc_instrument)
        trace_api.set_tracer(self)
        self._installed = True
        self._attach(get_hub())
        if self.output_dir:
            atexit.register(self.flush)
        return self

    def uninstall(self) -> None:
        """Stop recording (tracing off again); what was recorded is flushed and kept.

        What only served recording is let go: the greenthreads it named (a tracer
        installed again names them anew), calls still waiting for a reply, the flush
        timer and the exit hook (the file is complete now), so that an uninstalled
        tracer holds no greenthread."""
        from nova_sim import rpc

        if trace_api.get_tracer() is self:
            trace_api.set_tracer(None)
        if self._rpc_instrument is not None:
            rpc.remove_instrument(self._rpc_instrument)
            self._rpc_instrument = None
        self._installed = False
        self._detach()
        if self.output_dir:
            self.flush()
            atexit.unregister(self.flush)
        self._names.clear()
        self._calls.clear()
        self._dispatches.clear()
        getattr(self._instrument, "_ended", {}).clear()

    def _attach(self, hub: Any) -> None:
        """Follow ``hub`` (``virtual_time`` makes new ones): its clock, its epoch, our
        instrument on it and, on a real clock, the flush timer."""
        self._detach()
        self._hub = hub
        clock = hub.clock
        if "clock" not in vars(hub) and type(hub).clock is _hub_module.Hub.clock:
            self._clock_ns = time.monotonic_ns  # what Hub.clock reads, in integer ns
        elif clock == getattr(hub, "_virtual_clock", None):
            self._clock_ns = hub.clock_ns
        else:  # a clock of the caller's own
            def clock_ns() -> int:
                return int(clock() * 1e9)

            self._clock_ns = clock_ns
        epoch = getattr(hub, "epoch", None)
        if epoch is not None:
            self._offset_ns = int(round(epoch * 1e9))
        else:
            self._offset_ns = time.time_ns() - self._clock_ns()
        hub.add_instrument(self._instrument)
        if self.path and self._installed and not getattr(hub, "virtual", False):
            self._flush_timer = hub.call_later(self.flush_interval, self._timer_flush)

    def _detach(self) -> None:
        """Stop following the current hub: our instrument and flush timer leave it."""
        hub, self._hub = self._hub, None
        if hub is None:
            return
        if self._flush_timer is not None:
            hub.cancel_timer(self._flush_timer)
            self._flush_timer = None
        if not hub.closed:
            hub.remove_instrument(self._instrument)

    def _timer_flush(self, _: Any = None) -> None:
        """The real-clock hub's flush timer: flush, then arm the timer again. Runs in
        the hub greenlet; writing a file does not block the hub for long."""
        self._flush_timer = None
        hub = self._hub
        if hub is None or not self._installed:
            return
        if self._log:
            self.flush()
        self._flush_timer = hub.call_later(self.flush_interval, self._timer_flush)

    def _follow(self) -> tuple[Any, Any]:
        """The running greenlet and its GreenThread (None for a spawn_n job, the main
        greenlet...); follows the running hub when it changed."""
        g = _getcurrent()
        try:  # a runner greenlet: every greenthread and spawn_n job
            hub = g.hub
            gt = g.gt
        except AttributeError:  # the main greenlet, the hub's, one of the caller's own
            hub = get_hub()
            gt = None
        if hub is not self._hub:
            self._attach(hub)
        return g, gt

    def now_ns(self) -> int:
        """Now, in nanoseconds since the epoch, on the current hub's clock."""
        hub = get_hub()
        if hub is not self._hub:
            self._attach(hub)
        return self._offset_ns + self._clock_ns()

    # -- names and ids ------------------------------------------------------------------
    def greenthread_name(self, g: Any = None) -> str:
        """The tracer's name for greenlet ``g`` (default: the running one)."""
        if g is None:
            g = _getcurrent()
        gt = getattr(g, "gt", None)
        return self._names.get(g if gt is None else gt) or self._name(g, gt)

    def _name(self, g: Any, gt: Any) -> str:
        """Name greenlet ``g`` (running GreenThread ``gt``, or None), not yet named."""
        if gt is not None:
            name = f"gt{next(self._thread_counter)}"
            if gt.name is None:
                gt.name = name
            self._names[gt] = name
            return name
        if g.parent is None:
            name = "main"
        elif self._hub is not None and g is self._hub.greenlet:
            name = "hub"
        else:
            name = f"gt{next(self._thread_counter)}"
        self._names[g] = name
        return name

    def new_trace_id(self) -> str:
        """A new trace id: the tracer's prefix and a counter, 32 hex digits."""
        return f"{self._prefix}{next(self._trace_counter):024x}"

    # -- spans --------------------------------------------------------------------------
    def span(self, name: str, attributes: dict) -> Span:
        """``nova_sim.trace.span``'s backend: a started span, made current by ``with``.

        Most spans a service makes are children of the current span with no request id
        of their own: they take their parent's trace, service and request ids here.
        Anything else goes through ``start_span``."""
        parent = _current_span.get()
        if parent is None or "request_id" in attributes:
            return self.start_span(name, attributes)
        g, gt = self._follow()
        return Span(self, parent.trace_id, f"{self._prefix}{next(self._span_counter):08x}",
                    parent.span_id, name, "internal", parent.service, parent.host,
                    self._names.get(g if gt is None else gt) or self._name(g, gt),
                    self._offset_ns + self._clock_ns(), self._next_order(),
                    parent.request_id, parent.global_request_id, attributes)

    def rpc_span(self, name: str, attributes: dict, kind: str, parent: Span | None,
                 trace_id: str | None, parent_id: str | None, request_id: str | None,
                 global_request_id: str | None, scope: tuple[str, str] | None) -> Span:
        """A started span for the RPC instrument (and the end of ``start_span``): the
        parent is ``parent`` (the sender's current span) or, across the wire, ``trace_id``
        / ``parent_id``; in ``scope`` (the receiver's service), else the parent's service,
        else the current service (``service_scope``), else the tracer's. No entry-span
        rules, no context lookup: the message carries the request ids; the caller passes
        only ``safe_id`` ids."""
        g, gt = self._follow()
        if parent is not None:
            trace_id = parent.trace_id
            parent_id = parent.span_id
            if request_id is None:
                request_id = parent.request_id
                global_request_id = global_request_id or parent.global_request_id
            if scope is None:
                scope = (parent.service, parent.host)
        elif trace_id is None:
            trace_id = self.new_trace_id()
        if scope is None:
            scope = _current_service.get() or (self.service, self.host)
        return Span(self, trace_id, f"{self._prefix}{next(self._span_counter):08x}",
                    parent_id, name, kind, scope[0], scope[1],
                    self._names.get(g if gt is None else gt) or self._name(g, gt),
                    self._offset_ns + self._clock_ns(), self._next_order(),
                    request_id, global_request_id, attributes)

    def start_span(self, name: str, attributes: dict | None = None, kind: str = "internal",
                   parent: Span | None | bool = True, trace_id: str | None = None,
                   parent_id: str | None = None, request_id: str | None = None,
                   global_request_id: str | None = None,
                   scope: tuple[str, str] | None = None) -> Span:
        """A new, started span (not yet current: use it in ``with``, or ``finish`` it).

        ``parent=True`` takes the current span; a Span or None sets it. ``trace_id`` /
        ``parent_id`` link to a span of another process (RPC); ids that are not
        ``safe_id`` are dropped (a new trace, no parent). ``scope`` puts the span
        (and so its children) in that service instance.
        """
        attributes = {} if attributes is None else attributes
        if parent is True:
            parent = _current_span.get()
        if parent is not None:
            trace_id = parent.trace_id
            parent_id = parent.span_id
        else:
            trace_id = safe_id(trace_id) or self.new_trace_id()
            parent_id = safe_id(parent_id)
        if scope is None:
            if parent is not None:
                scope = (parent.service, parent.host)
            elif _current_service.get() is None:
                for prefix, service in ENTRY_SERVICES:
                    if name.startswith(prefix):
                        scope = (service, self.host)
                        if name == "wsgi.request":
                            kind = "server"  # the HTTP server side of the request
                        break
        if request_id is None:
            request_id = attributes.get("request_id")
        if request_id is None:
            if parent is not None:
                request_id = parent.request_id
                global_request_id = global_request_id or parent.global_request_id
            elif self.context_getter is not None:
                context = self.context_getter()
                if context is not None:
                    request_id = getattr(context, "request_id", None)
                    global_request_id = getattr(context, "global_request_id", None)
        # the links are resolved: the span itself is made as an RPC span is
        return self.rpc_span(name, attributes, kind, None, trace_id, parent_id, request_id,
                             global_request_id, scope)

    def finish(self, span: Span, end: int | None = None) -> None:
        """End ``span`` now (or at ``end``, ns since the epoch): it goes into the span
        log, written to the file at the next flush (see the module docstring). Now is
        read on the clock of the hub the tracer follows."""
        span.end = self._offset_ns + self._clock_ns() if end is None else end
        span.end_seq = self._next_order()
        log = self._log
        log.append(span)
        if len(log) >= self._check_at:
            self._check_flush()

    def event(self, name: str, attributes: dict) -> None:
        """``nova_sim.trace.event``'s backend: a point event in the current span (outside
        any span: a zero-length span of kind ``event``)."""
        span = _current_span.get()
        if span is not None:
            span.add_event(name, attributes)
            return
        span = self.start_span(name, attributes, kind="event", parent=None)
        self.finish(span, span.start)

    def _check_flush(self) -> None:
        """Every ``CHECK_EVERY`` entries of the span log: with a file, encode them (a
        finished span is then let go at once, not kept until the flush), and flush when
        ``flush_every`` entries wait or ``flush_interval`` real seconds passed since the
        last flush."""
        if self.path is None:  # memory only: the log is what ``records`` gives
            self._check_at = len(self._log) + CHECK_EVERY
            return
        with self._lock:
            self._encode_log()
        if (self._waiting >= self.flush_every
                or time.monotonic() - self._last_flush >= self.flush_interval):
            self.flush()

    def _encode_log(self) -> None:
        """Move the span log's entries into ``_encoded`` (bytes, ready to append).
        Called with ``_lock`` held."""
        log = self._log
        count = len(log)  # entries added meanwhile (another thread) stay
        if count:
            batch = log[:count]
            del log[:count]
            self._encoded.append(store.encode_records(batch))
            self._waiting += count
            self._encoded_spans += sum(1 for entry in batch if type(entry) is Span)
        self._check_at = len(log) + CHECK_EVERY

    @property
    def count(self) -> int:
        """Spans finished so far (written, encoded, and waiting in the log)."""
        with self._lock:
            return self._encoded_spans + sum(1 for entry in self._log if type(entry) is Span)

    # -- output -------------------------------------------------------------------------
    def process_record(self) -> dict[str, Any]:
        """The record of a span file that says who wrote it."""
        return store.process_record(self.service, self.host, os.getpid(), self._prefix)

    def records(self) -> list[dict[str, Any]]:
        """Everything recorded, as span-file records: the process record, then spans in
        the order they ended (with a file: flushed, then read back)."""
        records: list[dict[str, Any]] = []
        if self.path:
            self.flush()
            records = [r for r in store.read_files([self.path], missing_ok=True)
                       if r.get("type") != "process"]
            if self._rotated:
                old = store.read_files([self._rotated], missing_ok=True)
                records = [r for r in old if r.get("type") != "process"] + records
        with self._lock:
            waiting = list(self._log)  # no file, or a flush that failed
        records.extend(store.plain(store.record_of(entry)) for entry in waiting)
        return [store.plain(self.process_record())] + records

    def flush(self) -> str | None:
        """Append what the span log holds since the last flush to the span file;
        returns its path (None without ``output_dir``). Errors writing are logged, not
        raised (what was not written waits for the next flush). Thread-safe (a demo
        reads traces from another OS thread)."""
        if not self.path:
            return None
        with self._lock:
            self._last_flush = time.monotonic()
            self._encode_log()
            if not self._encoded and os.path.exists(self.path):
                return self.path
            try:
                os.makedirs(self.output_dir, exist_ok=True)
                with open(self.path, "ab") as stream:
                    if not stream.tell():
                        stream.write(store.encode_header(self.process_record()))
                    stream.write(b"".join(self._encoded))
                    size = stream.tell()
            except OSError as error:
                LOG.error("Cannot write the trace file %s: %s", self.path, error)
                return None
            self._encoded.clear()
            self._waiting = 0
            if self.max_file_bytes is not None and size > self.max_file_bytes:
                self._rotate()
        return self.path

    def _rotate(self) -> None:
        """The span file is full: it becomes ``<name>.1.spans`` (replacing the one
        before) and the next flush begins a new one."""
        old = self.path[:-len(store.SPANS_SUFFIX)] + ".1" + store.SPANS_SUFFIX
        try:
            os.replace(self.path, old)
        except OSError as error:
            LOG.error("Cannot rotate the trace file %s: %s", self.path, error)
        else:
            self._rotated = old
