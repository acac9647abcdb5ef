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

Two implementations of the hot path
-----------------------------------
What runs for every span (making its row, entering and leaving it, ending it) is written
twice: in C (``_speedups.SpanBase`` and ``TracerBase``, built by ``setup.py``) and here in
Python (``_PySpanBase``, ``_PyTracerBase``), the reference, used when the C module is
not built or ``NOVA_SIM_PURE_PYTHON=1`` is set (``IMPLEMENTATION`` says which). ``Span``
and ``Tracer`` subclass the chosen pair and add everything else; what the hot path reads
of a tracer are attributes of the base (C members), set here as usual. A change to one
implementation is a change to the other: tests/trace/test_speedups.py runs every trace
test on both.

Must not know the services or the exporters. Tracing off is ``nova_sim.trace``'s job: this
module is only imported once a tracer is made.
"""

from __future__ import annotations

import atexit
import contextvars
import itertools
import logging
import operator
import os
import re
import threading
import time
import zlib
from typing import Any, Callable, Iterator

import greenlet

from nova_sim import trace as trace_api
from nova_sim.green import get_hub
from nova_sim.green import hub as _hub_module
from nova_sim.trace import store

try:
    from nova_sim.trace import _speedups
except ImportError:  # not built: tracer.py's own Python does the same
    _speedups = None

LOG = logging.getLogger(__name__)

_current_span: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "nova_sim_trace_span", default=None
)
_current_service = trace_api.current_service
_getcurrent = greenlet.getcurrent

#: Spans whose name starts with one of these belong to this service when no scope is set.
ENTRY_SERVICES = (("wsgi.", "nova-api"), ("api.", "nova-api"))

KINDS = ("internal", "server", "client", "producer", "consumer", "event")


def current_span() -> Span | None:
    """The span the running greenthread is inside (None when none, or tracing is off)."""
    return _current_span.get()


# Indexes into a span's row (store.SPAN_ROW, after the tag): what a span knows when it
# starts; the rest is added when it ends.
_TRACE, _ID, _PARENT, _NAME, _KIND, _SERVICE, _HOST, _THREAD, _START, _SEQ, _REQUEST, \
    _GLOBAL_REQUEST, _ATTRIBUTES = range(1, 14)
assert store.SPAN_ROW[_ATTRIBUTES - 1] == "attributes"
_SPAN = store.SPAN
_HEX_BYTES = [f"{value:02x}" for value in range(256)]
_CHECK_EVERY = 64  # rows (spans) between two looks at whether to flush
_tags = operator.itemgetter(0)


def _ends(rows: list[tuple]) -> int:
    """How many spans ``rows`` hold, counted in C."""
    return list(map(_tags, rows)).count(_SPAN)


def _span_ids(prefix_hex: str) -> Iterator[str]:
    """Span ids: ``prefix_hex`` and a counter from 1, 16 hex digits in all. Taking one
    runs no Python code: ids come 256 at a time from a list made for their first 14
    digits (formatting a number in hex per span cost 2.7k instructions)."""
    def block(high: int) -> list[str]:
        return list(map(f"{prefix_hex}{high:06x}".__add__, _HEX_BYTES))

    return itertools.islice(itertools.chain.from_iterable(map(block, itertools.count())),
                            1, None)


_ID_TEXT = re.compile(r"[0-9A-Za-z-]+").fullmatch


def safe_id(value: Any) -> str | None:
    """``value`` when it can be a trace or span id (a non-empty str of ASCII letters,
    digits and dashes: our hex ids, OSProfiler's UUIDs), else None."""
    return value if type(value) is str and _ID_TEXT(value) else None


def _field(index: int) -> property:
    """A read-only span field: item ``index`` of its row."""
    return property(lambda span: span.row[index])


class _PySpanBase:
    """A span's fields and its context-manager protocol: the Python reference of
    ``_speedups.SpanBase`` (used when that is not built, or ``NOVA_SIM_PURE_PYTHON=1``;
    the two must behave the same: change both)."""

    __slots__ = ("tracer", "row", "error", "events", "_token")

    def __init__(self, tracer: Tracer, row: tuple):
        self.tracer = tracer
        self.row = row
        self.error: str | None = None
        self.events: list[tuple] | None = None  # (``_token`` is set on entering)

    def __enter__(self) -> Span:
        self._token = _current_span.set(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.set_error(exc)
        try:  # as _restore, without its call
            _current_span.reset(self._token)
        except ValueError:  # left in another context than it was entered in
            pass
        self.tracer.finish(self)
        return False

    def _restore(self) -> None:
        """Undo ``__enter__`` (the previous span is current again)."""
        try:
            _current_span.reset(self._token)
        except ValueError:  # left in another context than it was entered in
            pass


class _PyTracerBase:
    """The tracer's hot path (making, and ending, a span): the Python reference of
    ``_speedups.TracerBase`` (see ``_PySpanBase``)."""

    def span(self, name: str, attributes: dict) -> Span:
        """``nova_sim.trace.span``'s backend: a started span, made current by ``with``.

        The common case (inside a span, no request id given: a child in its parent's
        trace, service and request) is done here without ``start_span``'s choices: it is
        most of the spans a service makes. It repeats ``rpc_span``'s last steps rather
        than calling it: the call cost 1.1k instructions a span."""
        parent = _current_span.get()
        if parent is None or "request_id" in attributes:
            return self.start_span(name, attributes)
        g = _getcurrent()
        try:  # as in rpc_span
            hub = g.hub
            gt = g.gt
        except AttributeError:
            hub = get_hub()
            gt = None
        if hub is not self._hub:
            self._attach(hub)
        thread = self._names.get(g if gt is None else gt)
        if thread is None:
            thread = self._name(g, gt)
        parent = parent.row
        row = (_SPAN, parent[_TRACE], self._next_span_id(), parent[_ID], name, "internal",
               parent[_SERVICE], parent[_HOST], thread, self._offset_ns + self._clock_ns(),
               self._next_order(), parent[_REQUEST], parent[_GLOBAL_REQUEST], attributes)
        return Span(self, row)

    def rpc_span(self, name: str, attributes: dict, kind: str, parent: Span | None,
                 trace_id: str | None, parent_id: str | None, request_id: str | None,
                 global_request_id: str | None, scope: tuple[str, str] | None) -> Span:
        """A started span for the RPC instrument (and the end of ``start_span``): the
        parent is ``parent`` (the sender's current span) or, across the wire, ``trace_id``
        / ``parent_id``; in ``scope`` (the receiver's service), else the parent's service,
        else the current service (``service_scope``). No entry-span rules, no context
        lookup: the message carries the request ids; the caller passes only ``safe_id``
        ids."""
        g = _getcurrent()
        try:  # a runner greenlet: every greenthread and spawn_n job
            hub = g.hub
            gt = g.gt
        except AttributeError:  # the main greenlet, the hub's, one of the caller's own
            hub = get_hub()
            gt = None
        if hub is not self._hub:
            self._attach(hub)
        if parent is not None:
            parent_row = parent.row
            trace_id = parent_row[_TRACE]
            parent_id = parent_row[_ID]
            if request_id is None:
                request_id = parent_row[_REQUEST]
                global_request_id = global_request_id or parent_row[_GLOBAL_REQUEST]
            if scope is None:
                scope = parent_row[_SERVICE:_THREAD]
        elif trace_id is None:
            trace_id = self.new_trace_id()
        if scope is None:
            scope = _current_service.get() or (self.service, self.host)
        # the span itself: its greenthread's name, the next span id, the order
        thread = self._names.get(g if gt is None else gt)
        if thread is None:
            thread = self._name(g, gt)
        row = (_SPAN, trace_id, self._next_span_id(), parent_id, name, kind, scope[0],
               scope[1], thread, self._offset_ns + self._clock_ns(), self._next_order(),
               request_id, global_request_id, attributes)
        return Span(self, row)

    def finish(self, span: Span, end: int | None = None) -> None:
        """End ``span`` now (or at ``end``): its row, complete, goes into the span log,
        which is appended to the span file once ``flush_every`` rows wait (or
        ``flush_interval`` passed). Now is read on the clock of the hub the tracer
        follows: the hub where the latest span started, which is this span's own unless
        another hub started spans meanwhile (another OS thread, a ``virtual_time``)."""
        if end is None:
            end = self._offset_ns + self._clock_ns()
        log = self._log
        log.append(span.row + (end, self._next_order(), span.error, span.events))
        if len(log) >= self._check_at:
            self._check_flush()


if _speedups is not None and not os.environ.get("NOVA_SIM_PURE_PYTHON"):
    IMPLEMENTATION = "c"
    _SpanBase: Any = _speedups.SpanBase
    _TracerBase: Any = _speedups.TracerBase
else:
    IMPLEMENTATION = "python"
    _SpanBase = _PySpanBase
    _TracerBase = _PyTracerBase


class Span(_SpanBase):
    """One timed piece of work; a context manager (``with tracer.span(...) as span``).

    Entering makes it the current span; leaving ends it, records an escaping exception
    as ``error`` (and lets it propagate) and restores the previous span.

    A span is the start of its row in the span log (``row``, see ``store``), its error
    and events, and what only a live span needs; its fields are read from the row.
    """

    __slots__ = ()

    trace_id = _field(_TRACE)
    span_id = _field(_ID)
    parent_id = _field(_PARENT)
    name = _field(_NAME)
    kind = _field(_KIND)
    service = _field(_SERVICE)
    host = _field(_HOST)
    greenthread = _field(_THREAD)
    start = _field(_START)
    request_id = _field(_REQUEST)
    global_request_id = _field(_GLOBAL_REQUEST)
    attributes = _field(_ATTRIBUTES)

    @property
    def status(self) -> str:
        return "ok" if self.error is None else "error"

    def set_attribute(self, key: str, value: Any) -> None:
        """Set one attribute (shown by every exporter)."""
        self.row[_ATTRIBUTES][key] = value

    def set_error(self, error: BaseException | str) -> None:
        """Mark the span failed with ``error`` (an exception or a message)."""
        if isinstance(error, BaseException):
            text = str(error).splitlines()[0] if str(error) else ""
            self.error = f"{type(error).__name__}: {text}" if text else type(error).__name__
        else:
            self.error = str(error)

    def add_event(self, name: str, attributes: dict, when: int | None = None) -> None:
        """Record a point event inside this span (now, unless ``when`` is given)."""
        tracer = self.tracer
        if self.events is None:
            self.events = []
        self.events.append((tracer.now_ns() if when is None else when, tracer._next_order(),
                            name, attributes))

    def __repr__(self) -> str:
        return f"<Span {self.name} {self.span_id} parent={self.parent_id} {self.service}>"


if IMPLEMENTATION == "c":
    _speedups.setup(span_var=_current_span, service_var=_current_service,
                    getcurrent=_getcurrent, get_hub=get_hub, span_class=Span,
                    span_tag=_SPAN)


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
        tracer._log.append((store.SWITCH, tracer.now_ns(), leaving,
                            tracer.greenthread_name(target)))


class Tracer(_TracerBase):
    """Records spans for one process (one service, or a whole one-process cloud).

    ``service`` / ``host``: the process's own identity (spans outside any service scope).
    ``output_dir``: where ``flush()`` appends the span file (``None``: memory only).
    ``seed``: make ids repeatable (with the virtual clock: byte-identical exports).
    ``record_switches``: also record every greenthread switch of the hub (teaching; slow).
    ``context_getter()``: returns the current request context (``request_id``,
    ``global_request_id``) or None. ``flush_every`` / ``flush_interval``: the file is
    appended to once that many rows of the span log (spans, switches) wait, or that many
    real seconds passed; without a file the log stays in memory.
    ``one_service``: the process runs only ``service`` (default: unless ``service`` is
    ``nova-sim``, a whole cloud in one process), so every RPC dispatch belongs to it. Use
    ``install()`` to make it this process's tracer.
    """

    def __init__(self, service: str = "nova-sim", host: str | None = None,
                 output_dir: str | None = None, seed: int | None = None,
                 record_switches: bool = False,
                 context_getter: Callable[[], Any] | None = None,
                 flush_every: int = 500,
                 one_service: bool | None = None, flush_interval: float = 1.0):
        self.service = service
        # A process running one service (not a whole cloud): RPC dispatches are its own.
        self.one_service = (service != "nova-sim") if one_service is None else one_service
        self.host = host or "localhost"
        self.output_dir = output_dir
        self.record_switches = record_switches
        self.context_getter = context_getter
        self.flush_every = flush_every
        self.flush_interval = flush_interval
        self._last_flush = time.monotonic()
        if seed is not None:
            self.prefix = zlib.crc32(f"{seed}/{service}/{self.host}".encode())
        else:
            self.prefix = int.from_bytes(os.urandom(4), "big")
        self._prefix_hex = f"{self.prefix:08x}"
        self._next_span_id = _span_ids(self._prefix_hex).__next__
        self._trace_counter = 0
        self._next_thread_name = map("gt{}".format, itertools.count(1)).__next__
        self._flushed_spans = 0  # spans finished and written (``count``)
        # one sequence for span starts, ends and events (ties on time), taken in C
        self._next_order = itertools.count(1).__next__
        self._check_at = _CHECK_EVERY  # the log's length at which finish looks at flushing
        self._names: dict[Any, str] = {}
        self._log: list[tuple] = []  # the span log's rows not yet in the file (store)
        self._hub: Any = None
        self._offset_ns = 0
        self._clock_ns: Callable[[], int] = time.monotonic_ns  # the hub's, in ns
        self._instrument = (_SwitchInstrument if record_switches else _HubInstrument)(self)
        self._lock = threading.Lock()
        self._calls: dict[str, Span] = {}
        self._dispatches: dict[int, Span] = {}
        self.path: str | None = None
        if output_dir:
            self.path = os.path.join(
                output_dir,
                f"{service}-{self.host}-{os.getpid()}{store.SPANS_SUFFIX}".replace("/", "_"))
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
        self._attach(get_hub())
        if self.output_dir and not self._installed:
            atexit.register(self.flush)
        self._installed = True
        return self

    def uninstall(self) -> None:
        """Stop recording (tracing off again); what was recorded is flushed and kept.

        What only served recording is let go: the greenthreads it named (a tracer
        installed again names them anew), calls still waiting for a reply and the exit
        hook (the file is complete now), so that an uninstalled tracer holds no
        greenthread."""
        from nova_sim import rpc

        if trace_api.get_tracer() is self:
            trace_api.set_tracer(None)
        if self._rpc_instrument is not None:
            rpc.remove_instrument(self._rpc_instrument)
            self._rpc_instrument = None
        if self._hub is not None:
            self._hub.remove_instrument(self._instrument)
            self._hub = None
        if self.output_dir:
            self.flush()
            atexit.unregister(self.flush)
        self._installed = False
        self._names.clear()
        self._calls.clear()
        self._dispatches.clear()
        getattr(self._instrument, "_ended", {}).clear()

    def _attach(self, hub: Any) -> None:
        """Follow the current hub (``virtual_time`` makes new ones): its clock, its
        epoch, and our instrument on it."""
        old = self._hub
        if old is not None and not old.closed:
            old.remove_instrument(self._instrument)
        self._hub = hub
        clock = hub.clock
        if "clock" not in vars(hub) and type(hub).clock is _hub_module.Hub.clock:
            # what Hub.clock reads, in integer nanoseconds: no float to convert per span
            self._clock_ns = time.monotonic_ns
        elif clock == getattr(hub, "_virtual_clock", None):
            self._clock_ns = hub.clock_ns  # the virtual clock's, in one call
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
            g = greenlet.getcurrent()
        gt = getattr(g, "gt", None)
        name = self._names.get(g if gt is None else gt)
        if name is None:
            name = self._name(g, gt)
        return name

    def _name(self, g: Any, gt: Any) -> str:
        """Name greenlet ``g`` (running GreenThread ``gt``, or None), not yet named."""
        if gt is not None:
            name = self._next_thread_name()
            if gt.name is None:
                gt.name = name
            self._names[gt] = name
            return name
        if g.parent is None:
            name = "main"
        elif self._hub is not None and g is self._hub.greenlet:
            name = "hub"
        else:
            name = self._next_thread_name()
        self._names[g] = name
        return name

    def new_trace_id(self) -> str:
        self._trace_counter += 1
        return f"{self._prefix_hex}{self._trace_counter:024x}"

    # -- spans --------------------------------------------------------------------------
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

    def event(self, name: str, attributes: dict) -> None:
        """``nova_sim.trace.event``'s backend: a point event in the current span (outside
        any span: a zero-length span of kind ``event``)."""
        span = _current_span.get()
        if span is not None:
            if span.events is None:
                span.events = []
            span.events.append((self.now_ns(), self._next_order(), name, attributes))
            return
        span = self.start_span(name, attributes, kind="event", parent=None)
        self.finish(span, span.row[_START])

    def _check_flush(self) -> None:
        """Flush when ``flush_every`` rows wait or ``flush_interval`` passed. Looked at
        every ``_CHECK_EVERY`` rows only: a busy process flushes about every
        flush_interval, an idle one at its next spans or at exit."""
        self._check_at = len(self._log) + _CHECK_EVERY
        if self.path is not None and (
            len(self._log) >= self.flush_every
            or time.monotonic() - self._last_flush >= self.flush_interval
        ):
            self.flush()

    @property
    def count(self) -> int:
        """Spans finished so far."""
        with self._lock:
            return self._flushed_spans + _ends(self._log)

    # -- output -------------------------------------------------------------------------
    def process_record(self) -> dict[str, Any]:
        """The first record of a span file: who wrote it."""
        return {"type": "process", "service": self.service, "host": self.host,
                "pid": os.getpid(), "prefix": self._prefix_hex}

    def records(self) -> list[dict[str, Any]]:
        """Everything recorded (with a file: flushed first, then read back), as span-file
        records: the process record, then spans in the order they ended."""
        rows: list[Any] = []
        if self.path:
            self.flush()
            if os.path.exists(self.path):
                rows = store.read_span_file(self.path)[1]
        with self._lock:
            rows.extend(self._log)  # the unwritten (no file, or a flush that failed)
        return [store.plain(self.process_record())] + store.decode(rows)

    def flush(self) -> str | None:
        """Append the span log's rows waiting since the last flush to the span file;
        returns its path (None without ``output_dir``). Errors writing are logged, not
        raised (the rows are kept for the next flush). Thread-safe (the demo reads
        traces from another OS thread)."""
        if not self.path:
            return None
        with self._lock:
            self._last_flush = time.monotonic()
            log = self._log
            count = len(log)  # rows added meanwhile (another thread) wait
            if not count and os.path.exists(self.path):
                return self.path
            try:
                os.makedirs(self.output_dir, exist_ok=True)
                with open(self.path, "ab") as stream:
                    if not stream.tell():
                        stream.write(store.dump_header(self.process_record()))
                    for data in store.dump_rows(log[:count]):
                        stream.write(data)
            except OSError as error:
                LOG.error("Cannot write the trace file %s: %s", self.path, error)
                return None
            self._flushed_spans += _ends(log[:count])
            del log[:count]
            self._check_at = len(log) + _CHECK_EVERY
        return self.path
