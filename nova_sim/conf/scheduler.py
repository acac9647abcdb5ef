"""[scheduler] and [filter_scheduler] options. Imports nothing of nova_sim.

As in ``nova/conf/scheduler.py``, one module holds both groups. The option only lists
filter names; the scheduler checks them against the filters it has.
"""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

scheduler_group = cfg.OptGroup(
    "scheduler",
    title="Scheduler options",
    help="Options of the scheduler service.",
)

scheduler_opts = [
    cfg.IntOpt(
        "max_attempts",
        default=3,
        min=1,
        help="""
Maximum number of hosts tried for one instance: the scheduler returns the chosen host
plus up to ``max_attempts - 1`` alternates, and a failed build is rescheduled to the next
alternate (the conductor never asks the scheduler again). 1 disables rescheduling.
""",
    ),
    cfg.IntOpt(
        "max_placement_results",
        default=1000,
        min=1,
        help="Maximum number of allocation candidates taken from placement for one "
        "request, before filtering.",
    ),
]

filter_scheduler_group = cfg.OptGroup(
    "filter_scheduler",
    title="Filter scheduler options",
    help="Filters and weighers of the scheduler.",
)

DEFAULT_FILTERS = [
    "AvailabilityZoneFilter",
    "ComputeFilter",
    "ComputeCapabilitiesFilter",
    "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter",
    "ServerGroupAffinityFilter",
]

filter_scheduler_opts = [
    cfg.ListOpt(
        "enabled_filters",
        default=list(DEFAULT_FILTERS),
        help="""
Filters run, in this order, on the hosts that have room for the request (placement's
allocation candidates). Nova's defaults, plus AvailabilityZoneFilter (Nova now does the
zone check in placement). Unknown names stop the scheduler at start-up.
""",
    ),
    cfg.IntOpt(
        "host_subset_size",
        default=1,
        min=1,
        help="The scheduler picks at random among the best ``host_subset_size`` hosts "
        "after weighing; 1 always takes the best one.",
    ),
    cfg.BoolOpt(
        "shuffle_best_same_weighed_hosts",
        default=False,
        help="Shuffle the hosts that share the best weight, to spread instances among "
        "identical hosts.",
    ),
    cfg.IntOpt(
        "max_io_ops_per_host",
        default=8,
        min=0,
        help="IoOpsFilter (when enabled): hosts with this many I/O-heavy operations "
        "(builds, resizes, snapshots...) in progress, or more, are filtered out.",
    ),
    cfg.IntOpt(
        "max_instances_per_host",
        default=50,
        min=1,
        help="NumInstancesFilter (when enabled): hosts with this many instances or more "
        "are filtered out.",
    ),
    cfg.FloatOpt(
        "ram_weight_multiplier",
        default=1.0,
        help="Multiplier of the RAM weigher (free RAM). Negative values stack instances "
        "on the fullest hosts instead of spreading them.",
    ),
    cfg.FloatOpt(
        "cpu_weight_multiplier",
        default=1.0,
        help="Multiplier of the CPU weigher (free vCPUs). Negative values stack.",
    ),
    cfg.FloatOpt(
        "disk_weight_multiplier",
        default=1.0,
        help="Multiplier of the disk weigher (free disk). Negative values stack.",
    ),
    cfg.FloatOpt(
        "io_ops_weight_multiplier",
        default=-1.0,
        help="Multiplier of the I/O operations weigher (instances being built, resized "
        "...). Negative values prefer quiet hosts.",
    ),
    cfg.FloatOpt(
        "num_instances_weight_multiplier",
        default=0.0,
        help="Multiplier of the instance-count weigher. Positive values prefer hosts "
        "with more instances; 0 ignores the count.",
    ),
    cfg.FloatOpt(
        "soft_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        help="Multiplier of the soft-affinity weigher: prefers hosts with more instances "
        "of the server group of a ``soft-affinity`` policy.",
    ),
    cfg.FloatOpt(
        "soft_anti_affinity_weight_multiplier",
        default=1.0,
        min=0.0,
        help="Multiplier of the soft-anti-affinity weigher: prefers hosts with fewer "
        "instances of the server group of a ``soft-anti-affinity`` policy.",
    ),
    cfg.FloatOpt(
        "build_failure_weight_multiplier",
        default=1000000.0,
        help="Multiplier of the build-failure weigher, which penalises hosts whose "
        "recent builds failed. 0 disables it.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [scheduler] and [filter_scheduler] options on ``conf``."""
    register_group_opts(conf, scheduler_group, scheduler_opts)
    register_group_opts(conf, filter_scheduler_group, filter_scheduler_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {
        scheduler_group: list(scheduler_opts),
        filter_scheduler_group: list(filter_scheduler_opts),
    }
