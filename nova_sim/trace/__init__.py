"""Request-flow tracing: the entry points the services call.

The service layer marks its work with ``with trace.span("compute.build", instance_uuid=u):``
and ``trace.event("instance.state", vm_state="active")``. With no tracer installed (the
default), ``span`` returns one shared do-nothing context manager and ``event`` returns at
once, so tracing off costs one global lookup and a call. A tracer (installed with
``set_tracer``) records spans; see the tracer and exporters in this package.
"""

from __future__ import annotations

from typing import Any


class _NullSpan:
    """The span used when tracing is off: enters and exits doing nothing."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def set_attribute(self, key: str, value: Any) -> None:
        """Ignored: tracing is off."""


NULL_SPAN = _NullSpan()
_tracer = None


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
