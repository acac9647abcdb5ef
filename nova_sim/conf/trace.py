"""[trace] options of request-flow tracing. Imports nothing of nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

trace_group = cfg.OptGroup(
    "trace",
    title="Tracing options",
    help="Request-flow tracing: spans of API requests, RPC, manager methods, driver "
    "operations and periodic tasks, written per process.",
)

trace_opts = [
    cfg.BoolOpt(
        "enabled",
        default=None,
        help="Record spans in this process and write them under output_dir. Unset (the "
        "default): the nova-sim commands that run services (run, api, conductor, "
        "scheduler, compute) trace, and a cloud built in Python code (tests, benchmarks, "
        "simulations) does not; true or false: always, or never.",
    ),
    cfg.StrOpt(
        "output_dir",
        default="$state_path/traces",
        help="Directory where each process writes its spans (``nova-sim trace merge`` "
        "joins the files of several processes).",
    ),
    cfg.IntOpt(
        "max_file_size",
        default=64,
        min=0,
        help="Cap on each process's span file, in MiB: past it the file is renamed "
        "<name>.1.spans (replacing the one before) and a new one begun, so a process "
        "keeps at most about twice this, its latest spans. 0: no cap.",
    ),
    cfg.BoolOpt(
        "record_switches",
        default=False,
        help="Also record every greenthread switch of the hub (for teaching; costly).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [trace] options on ``conf``."""
    register_group_opts(conf, trace_group, trace_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {trace_group: list(trace_opts)}
