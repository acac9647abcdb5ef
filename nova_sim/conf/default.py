"""[DEFAULT] options: messaging, service identity, paths, service group, logging, seed.

Owns the option definitions of the ``[DEFAULT]`` group that are not about the compute
service (those live in ``compute.py``, as in ``nova/conf/compute.py``). Names, help and
defaults follow Nova and oslo.messaging / oslo.service / oslo.log where they have one.
Imports nothing of nova_sim.
"""

from __future__ import annotations

import os

from oslo_config import cfg


def default_state_path() -> str:
    """Where nova-sim keeps state by default: ``$XDG_STATE_HOME/nova-sim``.

    ``$XDG_STATE_HOME`` defaults to ``~/.local/state`` (the XDG base directory spec).
    """
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "nova-sim")


messaging_opts = [
    cfg.StrOpt(
        "transport_url",
        default="green://",
        secret=True,
        help="""
The RPC transport, as a URL. Possible values:

* ``green://``: nova-sim's in-process broker on green queues (one-process clouds; works
  on the virtual clock),
* ``memory://``: kombu's in-memory transport (one process),
* ``rabbit://user:password@host:port/vhost`` (also ``amqp://``): RabbitMQ through kombu,
  wire-compatible with oslo.messaging; needed when services run as separate processes.
""",
    ),
    cfg.StrOpt(
        "control_exchange",
        default="nova",
        help="The default exchange under which topics are scoped (oslo.messaging's option; "
        "Nova uses 'nova').",
    ),
    cfg.IntOpt(
        "rpc_response_timeout",
        default=60,
        min=0,
        help="Seconds to wait for a response from a call before raising MessagingTimeout.",
    ),
    cfg.IntOpt(
        "call_monitor_timeout",
        default=None,
        min=0,
        help="""
Time in seconds before a call's server sends heartbeats (``ending: false`` replies) back
to the caller, which then waits for the result as long as heartbeats keep arriving (the
overall ``rpc_response_timeout`` still applies between heartbeats). Unset disables the
call monitor, as in oslo.messaging.
""",
    ),
    cfg.IntOpt(
        "executor_thread_pool_size",
        default=64,
        min=1,
        help="Size of the GreenPool on which an RPC server dispatches incoming messages.",
    ),
    cfg.IntOpt(
        "long_rpc_timeout",
        default=1800,
        min=0,
        help="""
Seconds to wait for the result of RPC calls known to take long (the scheduler's
``select_destinations``). The caller still expects a heartbeat every
``rpc_response_timeout`` seconds while it waits, so a dead server is noticed early.
""",
    ),
    cfg.ListOpt(
        "allowed_remote_exmods",
        default=[],
        help="Modules of exceptions that are permitted to be recreated upon receiving "
        "exception data from an RPC call; others arrive as RemoteError.",
    ),
]

service_opts = [
    cfg.StrOpt(
        "host",
        default="nova-sim",
        sample_default="nova-sim",
        help="""
Name of this node: the ``host`` a service registers under and the ``topic.host`` queue it
listens on. Nova defaults to the machine's hostname; nova-sim defaults to ``nova-sim`` so
that one-process clouds and the sample file are the same on every machine. Compute
services of a one-process cloud get their own names (``compute1``...).
""",
    ),
    cfg.StrOpt(
        "state_path",
        default=default_state_path(),
        sample_default="<$XDG_STATE_HOME/nova-sim, or ~/.local/state/nova-sim>",
        help="""
Top-level directory for nova-sim's state: database files, traces, logs. Defaults to
``$XDG_STATE_HOME/nova-sim``, that is ``~/.local/state/nova-sim`` when XDG_STATE_HOME is
not set. Other path options may refer to it as ``$state_path``.
""",
    ),
    cfg.IntOpt(
        "report_interval",
        default=10,
        min=1,
        help="Seconds between service heartbeats (the service group's report_count bump).",
    ),
    cfg.IntOpt(
        "service_down_time",
        default=60,
        min=1,
        help="""
Maximum seconds since a service's last heartbeat for it to count as up. Should be well
above ``report_interval``.
""",
    ),
    cfg.IntOpt(
        "service_start_timeout",
        default=60,
        min=0,
        help="""
Seconds a command that starts services (``nova-sim run``, ``nova-sim
api|conductor|scheduler|compute``) waits at start-up for its broker and, for a compute,
for a conductor to answer. Past it, the command stops with exit status 1 and one line
naming the transport URL. 0 waits for ever, as Nova's compute waits for its conductor.
""",
    ),
    cfg.StrOpt(
        "servicegroup_driver",
        default="db",
        choices=[
            ("db", "Heartbeats write the service's row in the database (computes through "
                   "the conductor); liveness is read from the row."),
            ("mc", "Heartbeats go to an in-memory store with expiry, like Nova's memcache "
                   "driver; one-process clouds only (the store lives in the process)."),
        ],
        help="""
The service group driver: how services report that they are alive and how others tell
whether a service is up.
""",
    ),
    cfg.BoolOpt(
        "periodic_enable",
        default=True,
        help="Run the managers' periodic tasks.",
    ),
    cfg.IntOpt(
        "periodic_fuzzy_delay",
        default=60,
        min=0,
        help="""
Upper bound, in seconds, of the random delay before a service runs its periodic tasks for
the first time, so that many services started together do not all run them at once.
0 disables the delay.
""",
    ),
    cfg.BoolOpt(
        "enable_new_services",
        default=True,
        help="Services register as enabled; when False, new services start disabled.",
    ),
    cfg.IntOpt(
        "default_green_pool_size",
        default=1000,
        min=1,
        help="Size of the GreenPool behind a compute service's spawn_n (builds, "
        "reboots, deletes... run on it; Nova's eventlet-era option for utils.spawn_n's "
        "pool). When it is full, spawn_n waits.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="""
Seconds a stopping service waits for in-flight work (RPC dispatches, builds, HTTP
requests) to finish before it gives up on them. 0 waits forever.
""",
    ),
    cfg.StrOpt(
        "default_availability_zone",
        default="nova",
        help="Availability zone of compute hosts that are in no aggregate with a zone.",
    ),
    cfg.StrOpt(
        "default_schedule_zone",
        default=None,
        help="Availability zone given to instances created without one (unset: any zone).",
    ),
    cfg.StrOpt(
        "internal_service_availability_zone",
        default="internal",
        help="Availability zone shown for non-compute services (conductor, scheduler).",
    ),
]

api_listen_opts = [
    cfg.HostAddressOpt(
        "osapi_compute_listen",
        default="127.0.0.1",
        help="""
IP address on which the compute API listens. Nova's default is 0.0.0.0; nova-sim listens
on the loopback interface unless told otherwise.
""",
    ),
    cfg.PortOpt(
        "osapi_compute_listen_port",
        default=8774,
        help="Port on which the compute API listens (0: any free port, printed at start).",
    ),
]

logging_cli_opts = [
    cfg.BoolOpt(
        "debug",
        short="d",
        default=False,
        help="Log at DEBUG level (default: INFO).",
    ),
    cfg.StrOpt(
        "log-file",
        metavar="PATH",
        help="Write the log to this file instead of standard error.",
    ),
]

logging_opts = [
    cfg.StrOpt(
        "log_date_format",
        default="%Y-%m-%d %H:%M:%S",
        help="strftime format of the date and time at the start of each log line.",
    ),
    cfg.ListOpt(
        "default_log_levels",
        default=[
            "amqp=WARN",
            "kombu=WARN",
            "oslo.messaging=INFO",
            "oslo_messaging=INFO",
            "urllib3=WARN",
            "keystoneauth=WARN",
        ],
        help="Log levels of other libraries' loggers, as logger=LEVEL pairs.",
    ),
    cfg.IntOpt(
        "rate_limit_interval",
        default=0,
        help="Interval, number of seconds, of log rate limiting (oslo.log's; 0 and "
        "rate_limit_burst 0: no limit).",
    ),
    cfg.IntOpt(
        "rate_limit_burst",
        default=0,
        help="Maximum number of logged messages per rate_limit_interval; past it, one "
        "ERROR line says so and the rest of the interval's lines are dropped.",
    ),
    cfg.StrOpt(
        "rate_limit_except_level",
        default="CRITICAL",
        choices=["CRITICAL", "ERROR", "INFO", "WARNING", "DEBUG"],
        help="Log level name used by rate limiting: lines at this level or above are "
        "never dropped.",
    ),
]

simulation_opts = [
    cfg.IntOpt(
        "seed",
        default=None,
        help="""
Seed of the fake drivers' random generator (latencies, failure injection) when
``[fake_driver] seed`` is unset. Unset: the hub's random generator, which
``virtual_time(seed=...)`` seeds.
""",
    ),
]

ALL_OPTS = (
    messaging_opts
    + service_opts
    + api_listen_opts
    + logging_cli_opts
    + logging_opts
    + simulation_opts
)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [DEFAULT] options of this module on ``conf``."""
    conf.register_opts(messaging_opts + service_opts + api_listen_opts)
    conf.register_cli_opts(logging_cli_opts)
    conf.register_opts(logging_opts + simulation_opts)


def list_opts() -> dict[str, list[cfg.Opt]]:
    """The options of this module by group name, for the sample generator."""
    return {"DEFAULT": list(ALL_OPTS)}
