"""The RPC layer's view of nova-sim's configuration.

Owns reading the options this layer uses from a ``ConfigOpts`` (``[DEFAULT]`` messaging
options and ``[oslo_messaging_rabbit]``), falling back to oslo.messaging's defaults for
anything not registered, so the RPC layer also works with a bare ``ConfigOpts`` or none.
Must not define options (``nova_sim.conf`` does) nor know anything above ``rpc``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_URL = "green://"


@dataclass
class RPCOptions:
    """The options one transport runs with (a snapshot taken at ``get_transport``)."""

    transport_url: str = DEFAULT_URL
    control_exchange: str = "nova"
    rpc_response_timeout: float = 60
    call_monitor_timeout: float | None = None
    executor_thread_pool_size: int = 64
    allowed_remote_exmods: list[str] = field(default_factory=list)
    heartbeat_timeout_threshold: int = 60
    heartbeat_rate: int = 3
    rabbit_retry_interval: float = 1
    rabbit_retry_backoff: float = 2
    rabbit_interval_max: float = 30
    kombu_reconnect_delay: float = 1.0
    rabbit_transient_queues_ttl: int = 1800
    socket_write_timeout: float = 10.0


_DEFAULT_GROUP = (
    "transport_url",
    "control_exchange",
    "rpc_response_timeout",
    "call_monitor_timeout",
    "executor_thread_pool_size",
    "allowed_remote_exmods",
)
_RABBIT_GROUP = (
    "heartbeat_timeout_threshold",
    "heartbeat_rate",
    "rabbit_retry_interval",
    "rabbit_retry_backoff",
    "rabbit_interval_max",
    "kombu_reconnect_delay",
    "rabbit_transient_queues_ttl",
    "socket_write_timeout",
)


def _read(section: Any, name: str, default: Any) -> Any:
    try:
        value = getattr(section, name)
    except Exception:  # NoSuchOptError, not registered yet, no such group
        return default
    return default if value is None and default is not None else value


def load(conf: Any = None) -> RPCOptions:
    """Read the RPC options from ``conf`` (default ``nova_sim.conf.CONF`` when it exists)."""
    if conf is None:
        try:
            from nova_sim.conf import CONF as conf  # noqa: N811 (a leaf layer)
        except Exception:
            conf = None
    options = RPCOptions()
    if conf is None:
        return options
    for name in _DEFAULT_GROUP:
        setattr(options, name, _read(conf, name, getattr(options, name)))
    try:
        rabbit = conf.oslo_messaging_rabbit
    except Exception:
        rabbit = None
    if rabbit is not None:
        for name in _RABBIT_GROUP:
            setattr(options, name, _read(rabbit, name, getattr(options, name)))
    options.allowed_remote_exmods = list(options.allowed_remote_exmods or [])
    return options
