"""[oslo_messaging_rabbit] options of the kombu transport, with oslo.messaging's names.

Only the subset nova-sim's kombu transport uses; ``socket_write_timeout`` is nova-sim's own
(oslo.messaging derives its socket timeout from the heartbeat). Imports nothing of
nova_sim.
"""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

rabbit_group = cfg.OptGroup(
    "oslo_messaging_rabbit",
    title="RabbitMQ driver options",
    help="Options of the rabbit:// (kombu) transport, named as in oslo.messaging.",
)

rabbit_opts = [
    cfg.IntOpt(
        "heartbeat_timeout_threshold",
        default=60,
        min=0,
        help="Seconds after which the broker is considered down if AMQP heartbeats stop "
        "arriving. 0 disables heartbeats.",
    ),
    cfg.IntOpt(
        "heartbeat_rate",
        default=3,
        min=1,
        help="How many times per heartbeat_timeout_threshold the heartbeat is checked.",
    ),
    cfg.IntOpt(
        "rabbit_retry_interval",
        default=1,
        min=0,
        help="Seconds before the first retry when connecting to RabbitMQ fails.",
    ),
    cfg.IntOpt(
        "rabbit_retry_backoff",
        default=2,
        min=0,
        help="Seconds added to the wait between connection retries after each failure.",
    ),
    cfg.IntOpt(
        "rabbit_interval_max",
        default=30,
        min=1,
        help="Maximum seconds between connection retries.",
    ),
    cfg.FloatOpt(
        "kombu_reconnect_delay",
        default=1.0,
        min=0.0,
        help="Seconds to wait before reconnecting after an AMQP consumer was cancelled.",
    ),
    cfg.IntOpt(
        "rabbit_transient_queues_ttl",
        default=1800,
        min=1,
        help="Seconds (x-expires) after which an unused transient queue (reply and fanout "
        "queues) is deleted by the broker.",
    ),
    cfg.BoolOpt(
        "amqp_durable_queues",
        default=False,
        help="Use durable queues (and a durable topic exchange) for the RPC topics, so "
        "that they and the persistent messages in them survive a broker restart. Queues "
        "declared with the other setting must be deleted before switching.",
    ),
    cfg.BoolOpt(
        "rabbit_quorum_queue",
        default=False,
        help="Declare the RPC topic queues as quorum queues (x-queue-type: quorum; "
        "durable whatever amqp_durable_queues says). Reply and fanout queues stay "
        "transient.",
    ),
    cfg.FloatOpt(
        "socket_write_timeout",
        default=10.0,
        min=0.0,
        help="Seconds a write to the broker's socket may block before the connection is "
        "considered broken and re-established, so that a stuck broker cannot freeze the "
        "hub (nova-sim's own option). 0 disables the timeout.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [oslo_messaging_rabbit] options on ``conf``."""
    register_group_opts(conf, rabbit_group, rabbit_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {rabbit_group: list(rabbit_opts)}
