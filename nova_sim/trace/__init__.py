"""Request-flow tracing: the entry points the services call.

The service layer marks its work with ``with trace.span("compute.build", instance_uuid=u):``
and ``trace.event("instance.state", vm_state="active")``. With no tracer installed (the
default), ``span`` returns one shared do-nothing context manager and ``event`` returns at
once, so tracing off costs one global lookup and a call. A tracer (installed with
``set_tracer``) records spans: see ``tracer.py`` (spans, ids, greenthreads), ``rpc.py``
(propagation over RPC), ``store.py`` (per-process span files, merge), the exporters
(``perfetto.py``, ``otlp.py``, ``osprofiler.py``, ``mermaid.py``, ``text.py``) and
``cli.py`` (``nova-sim trace``). This module stays tiny: importing it costs nothing and
knows nothing of the services.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator


class _NullSpan:
    """The span used when tracing is off: enters and exits doing nothing."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignored: tracing is off."""

    def set_error(self, error: Any) -> None:
        """Ignored: tracing is off."""

    def add_event(self, name: str, attributes: dict, when: Any = None) -> None:
        """Ignored: tracing is off."""


NULL_SPAN = _NullSpan()
_tracer = None

#: The service instance, ``(binary, host)``, the running code works for. Set by
#: ``service_scope`` (around a service's start-up, so its RPC server, periodic tasks and
#: heartbeat greenthreads inherit it) and by the tracer itself (RPC dispatch, WSGI).
current_service: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "nova_sim_trace_service", default=None
)


def set_tracer(tracer) -> None:
    """Install ``tracer`` (an object with ``span(name, attributes)`` and
    ``event(name, attributes)``) for this process; ``None`` switches tracing off."""
    global _tracer
    _tracer = tracer


def get_tracer():
    """The installed tracer, or ``None`` when tracing is off."""
    return _tracer


def span(name: str, **attributes: Any):
    """A context manager timing ``name`` as a span (a no-op when tracing is off)."""
    tracer = _tracer
    if tracer is None:
        return NULL_SPAN
    return tracer.span(name, attributes)


def event(name: str, **attributes: Any) -> None:
    """Record a point event ``name`` in the current span (nothing when tracing is off)."""
    tracer = _tracer
    if tracer is not None:
        tracer.event(name, attributes)


@contextlib.contextmanager
def service_scope(binary: str, host: str) -> Iterator[None]:
    """Inside the block, spans (and greenthreads spawned there, which copy the context)
    belong to the service ``binary`` on ``host``. Cheap (one ContextVar set and reset),
    so it is entered whether tracing is on or off; restored on exit, errors included."""
    token = current_service.set((binary, host))
    try:
        yield
    finally:
        current_service.reset(token)


def setup(conf: Any, service: str, host: str | None = None,
          context_getter: Any = None, default: bool = False) -> Any:
    """Install this process's tracer when ``[trace] enabled`` is true (or unset and
    ``default`` is true: see ``store.setup``); returns it, or None when tracing is off
    (then nothing of the tracer is imported)."""
    try:
        enabled = conf.trace.enabled
    except Exception:  # noqa: BLE001 - a conf without the [trace] group
        return None
    if not (default if enabled is None else enabled):
        return None
    from nova_sim.trace import store

    return store.setup(conf, service, host, context_getter=context_getter, default=default)
