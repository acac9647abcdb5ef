"""The RPC layer's view of nova-sim's configuration.

Owns ``RPCOptions``, the snapshot of the options this layer uses (``[DEFAULT]`` messaging
options and ``[oslo_messaging_rabbit]``) that a transport takes when it is made, and
``load``, which reads them from a nova-sim ``ConfigOpts``. The options, with their
defaults, are defined in ``nova_sim.conf`` and only there; this module must not define
options nor know anything above ``rpc``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nova_sim.conf


@dataclass
class RPCOptions:
    """The options one transport runs with (a snapshot taken at ``get_transport``)."""

    transport_url: str
    control_exchange: str
    rpc_response_timeout: float
    call_monitor_timeout: float | None
    executor_thread_pool_size: int
    allowed_remote_exmods: list[str]
    heartbeat_timeout_threshold: int
    heartbeat_rate: int
    rabbit_retry_interval: float
    rabbit_retry_backoff: float
    rabbit_interval_max: float
    kombu_reconnect_delay: float
    rabbit_transient_queues_ttl: int
    socket_write_timeout: float
    amqp_durable_queues: bool = False
    rabbit_quorum_queue: bool = False


def load(conf: Any = None) -> RPCOptions:
    """Read the RPC options from ``conf``, a ``ConfigOpts`` with nova-sim's options
    registered (default ``nova_sim.conf.CONF``).

    Raises oslo.config's ``NoSuchOptError`` / ``NoSuchGroupError`` for a ``conf`` that
    lacks one of them (build it with ``nova_sim.conf.new_conf()``).
    """
    conf = conf if conf is not None else nova_sim.conf.CONF
    rabbit = conf.oslo_messaging_rabbit
    return RPCOptions(
        transport_url=conf.transport_url,
        control_exchange=conf.control_exchange,
        rpc_response_timeout=conf.rpc_response_timeout,
        call_monitor_timeout=conf.call_monitor_timeout,
        executor_thread_pool_size=conf.executor_thread_pool_size,
        allowed_remote_exmods=list(conf.allowed_remote_exmods),
        heartbeat_timeout_threshold=rabbit.heartbeat_timeout_threshold,
        heartbeat_rate=rabbit.heartbeat_rate,
        rabbit_retry_interval=rabbit.rabbit_retry_interval,
        rabbit_retry_backoff=rabbit.rabbit_retry_backoff,
        rabbit_interval_max=rabbit.rabbit_interval_max,
        kombu_reconnect_delay=rabbit.kombu_reconnect_delay,
        rabbit_transient_queues_ttl=rabbit.rabbit_transient_queues_ttl,
        socket_write_timeout=rabbit.socket_write_timeout,
        amqp_durable_queues=rabbit.amqp_durable_queues,
        rabbit_quorum_queue=rabbit.rabbit_quorum_queue,
    )
