"""Logging in Nova's style, on the standard library's ``logging``.

Owns ``setup(conf, binary)``: one handler on the root logger (standard error, or
``[DEFAULT] log_file``), the level from ``[DEFAULT] debug``, other libraries' levels from
``[DEFAULT] default_log_levels``, oslo.log's rate limiting (``[DEFAULT]
rate_limit_interval``, ``rate_limit_burst``, ``rate_limit_except_level``: past the burst
in an interval, one ERROR line and the rest of the interval dropped), and Nova's line
format::

    2026-01-01 00:00:05.123 4242 INFO nova_sim.compute.manager [req-6f... admin admin] \
[instance: 7a...] Took 1.52 seconds to spawn the instance.

The bracket comes from the *current* request context (``nova_sim.context.get_current()``,
which follows a request across greenthreads and RPC by itself) and reads ``[-]`` when no
request is being handled, as oslo.log does. ``[instance: <uuid>] `` appears when the call
passes ``extra={"instance": obj_or_dict}`` or ``extra={"instance_uuid": uuid}``. Traceback
lines get the line's prefix too, so ``grep req-...`` finds them.

Must not know about services, RPC or the hub: timestamps come from ``time.time()`` unless
the caller passes a ``clock`` (a one-process cloud on the virtual clock passes
``nova_sim.green.wallclock`` so that its log shows simulated time).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from oslo_log import rate_limit

LINE_FORMAT = (
    "%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s %(context_info)s "
    "%(instance_info)s%(message)s"
)
_HANDLER_MARK = "_nova_sim_log_handler"


def _default_get_current() -> Any:
    from nova_sim import context  # lazily: the context layer sits above this module

    return context.get_current()


def _field(value: Any) -> str:
    return "-" if value in (None, "") else str(value)


def _instance_uuid(record: logging.LogRecord) -> str | None:
    uuid = getattr(record, "instance_uuid", None)
    if uuid:
        return str(uuid)
    instance = getattr(record, "instance", None)
    if instance is None:
        return None
    if isinstance(instance, dict):
        return instance.get("uuid")
    return getattr(instance, "uuid", None)


class ContextFilter(logging.Filter):
    """Adds ``context_info`` (``[req-id user project]`` or ``[-]``), ``instance_info``,
    ``request_id`` and ``binary`` to every record; never drops a record.

    ``get_current`` returns the current request context (default:
    ``nova_sim.context.get_current``); ``clock`` (optional) replaces the record's
    creation time, e.g. with the virtual clock's wall time. A failing ``get_current`` or
    ``clock`` never breaks logging: the record keeps ``[-]`` / its own time.
    """

    def __init__(
        self,
        binary: str = "nova-sim",
        get_current: Callable[[], Any] | None = None,
        clock: Callable[[], float] | None = None,
    ):
        super().__init__()
        self.binary = binary
        self._get_current = get_current or _default_get_current
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        record.binary = self.binary
        if self._clock is not None:
            try:
                created = float(self._clock())
            except Exception:
                pass
            else:
                record.created = created
                record.msecs = int((created - int(created)) * 1000)
        try:
            ctxt = self._get_current()
        except Exception:
            ctxt = None
        if ctxt is None:
            record.request_id = None
            record.context_info = "[-]"
        else:
            record.request_id = getattr(ctxt, "request_id", None)
            record.context_info = "[{} {} {}]".format(
                _field(record.request_id),
                _field(getattr(ctxt, "user_id", None)),
                _field(getattr(ctxt, "project_id", None)),
            )
        uuid = _instance_uuid(record)
        record.instance_info = f"[instance: {uuid}] " if uuid else ""
        return True


class NovaFormatter(logging.Formatter):
    """``LINE_FORMAT`` with dates in ``date_format`` (strftime; ``[DEFAULT]
    log_date_format``); the lines of a traceback (or stack) get the record's prefix too."""

    def __init__(self, date_format: str):
        super().__init__(LINE_FORMAT, datefmt=date_format)

    def format(self, record: logging.LogRecord) -> str:
        for name, default in (("context_info", "[-]"), ("instance_info", "")):
            if not hasattr(record, name):
                setattr(record, name, default)
        text = super().format(record)
        first, newline, rest = text.partition("\n")
        if not newline:
            return text
        prefix = (
            f"{self.formatTime(record, self.datefmt)}.{int(record.msecs):03d} {record.process} "
            f"{record.levelname} {record.name} {record.context_info} {record.instance_info}"
        )
        return first + "\n" + "\n".join(prefix + line for line in rest.split("\n"))


def _level(name: str) -> int:
    value = logging.getLevelName(name.strip().upper())
    if isinstance(value, int):
        return value
    if name.strip().upper() == "WARN":
        return logging.WARNING
    raise ValueError(f"unknown log level {name!r}")


def setup(
    conf: Any,
    binary: str = "nova-sim",
    *,
    clock: Callable[[], float] | None = None,
    get_current: Callable[[], Any] | None = None,
    stream: Any = None,
) -> logging.Handler:
    """Configure the root logger from ``conf`` for the process ``binary``; idempotent.

    Replaces the handler an earlier ``setup`` installed (other handlers, e.g. pytest's, are
    left alone). Level: DEBUG when ``conf.debug``, else INFO. Destination: the file
    ``conf.log_file`` (its directory is created; appended to) or ``stream`` (default:
    ``sys.stderr``). ``conf.default_log_levels`` (``logger=LEVEL`` pairs) set other
    libraries' levels; a malformed pair raises ValueError. With ``rate_limit_burst`` and
    ``rate_limit_interval`` both at least 1, oslo.log's rate limit filter is installed
    on every logger. Returns the handler installed.
    """
    root = logging.getLogger()
    reset()
    log_file = conf.log_file
    if log_file:
        directory = os.path.dirname(os.path.abspath(log_file))
        os.makedirs(directory, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(NovaFormatter(conf.log_date_format))
    handler.addFilter(ContextFilter(binary, get_current=get_current, clock=clock))
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if conf.debug else logging.INFO)
    for pair in conf.default_log_levels:
        name, sep, level = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"default_log_levels: expected logger=LEVEL, got {pair!r}")
        logging.getLogger(name.strip()).setLevel(_level(level))
    if conf.rate_limit_burst >= 1 and conf.rate_limit_interval >= 1:
        # oslo.log's own filter, installed as oslo.log's setup does.
        rate_limit.install_filter(conf.rate_limit_burst, conf.rate_limit_interval,
                                  conf.rate_limit_except_level)
    return handler


def reset() -> None:
    """Remove (and close) the handlers ``setup`` installed on the root logger."""
    rate_limit.uninstall_filter()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
