"""Compute service options in [DEFAULT] (as ``nova/conf/compute.py``). Imports nothing of
nova_sim.

Periodic intervals follow Nova's convention: 0 runs the task at the default spacing
(60 s), a negative value disables it.
"""

from __future__ import annotations

from oslo_config import cfg

compute_opts = [
    cfg.IntOpt(
        "max_concurrent_builds",
        default=10,
        min=0,
        help="""
Maximum number of instance builds a compute service runs at once (its
``_build_semaphore``); further builds wait. 0 means unlimited.
""",
    ),
    cfg.IntOpt(
        "sync_power_state_pool_size",
        default=1000,
        min=1,
        help="Size of the GreenPool on which ``_sync_power_states`` checks instances "
        "(one spawn_n per instance).",
    ),
    cfg.IntOpt(
        "sync_power_state_interval",
        default=600,
        help="Seconds between runs of ``_sync_power_states``, which reconciles the "
        "database's power states with the driver's. Negative disables it.",
    ),
    cfg.IntOpt(
        "update_resources_interval",
        default=0,
        help="Seconds between runs of ``update_available_resource`` (the resource "
        "tracker's report of inventory and usage). 0 means the default 60 s; negative "
        "disables it.",
    ),
    cfg.IntOpt(
        "instance_build_timeout",
        default=0,
        min=0,
        help="Seconds an instance may stay in BUILD before the compute sets it to ERROR. "
        "0 disables the check.",
    ),
    cfg.IntOpt(
        "reboot_timeout",
        default=0,
        min=0,
        help="Seconds after which an instance stuck rebooting is hard rebooted. "
        "0 disables the check.",
    ),
    cfg.BoolOpt(
        "allow_resize_to_same_host",
        default=False,
        help="Allow the scheduler to pick the instance's own host for a resize or a "
        "cold migration (Nova's default: another host).",
    ),
    cfg.IntOpt(
        "shelved_offload_time",
        default=0,
        min=-1,
        help="Seconds a shelved instance stays on its host before it is offloaded "
        "(``shelved_offloaded``: no host, resources freed). 0 offloads at once when "
        "shelved; -1 never offloads by time.",
    ),
    cfg.IntOpt(
        "shelved_poll_interval",
        default=3600,
        help="Seconds between runs of ``_poll_shelved_instances``, which offloads the "
        "instances shelved for longer than ``shelved_offload_time``. Negative disables "
        "it.",
    ),
    cfg.IntOpt(
        "reserved_host_cpus",
        default=0,
        min=0,
        help="vCPUs of each compute host kept for the host itself.",
    ),
    cfg.IntOpt(
        "reserved_host_memory_mb",
        default=512,
        min=0,
        help="Memory (MiB) of each compute host kept for the host itself.",
    ),
    cfg.IntOpt(
        "reserved_host_disk_mb",
        default=0,
        min=0,
        help="Disk (MiB) of each compute host kept for the host itself.",
    ),
]

allocation_ratio_opts = [
    cfg.FloatOpt(
        "cpu_allocation_ratio",
        default=None,
        min=0.0,
        help="Virtual CPU to physical CPU allocation ratio reported to placement. "
        "Unset: ``initial_cpu_allocation_ratio`` for new compute nodes.",
    ),
    cfg.FloatOpt(
        "ram_allocation_ratio",
        default=None,
        min=0.0,
        help="Virtual RAM to physical RAM allocation ratio. Unset: "
        "``initial_ram_allocation_ratio``.",
    ),
    cfg.FloatOpt(
        "disk_allocation_ratio",
        default=None,
        min=0.0,
        help="Virtual disk to physical disk allocation ratio. Unset: "
        "``initial_disk_allocation_ratio``.",
    ),
    cfg.FloatOpt(
        "initial_cpu_allocation_ratio",
        default=4.0,
        min=0.0,
        help="CPU allocation ratio of a new compute node when cpu_allocation_ratio is unset.",
    ),
    cfg.FloatOpt(
        "initial_ram_allocation_ratio",
        default=1.0,
        min=0.0,
        help="RAM allocation ratio of a new compute node when ram_allocation_ratio is unset.",
    ),
    cfg.FloatOpt(
        "initial_disk_allocation_ratio",
        default=1.0,
        min=0.0,
        help="Disk allocation ratio of a new compute node when disk_allocation_ratio is unset.",
    ),
]

ALL_OPTS = compute_opts + allocation_ratio_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the compute options in [DEFAULT] on ``conf``."""
    conf.register_opts(ALL_OPTS)


def list_opts() -> dict[str, list[cfg.Opt]]:
    """The options of this module by group name, for the sample generator."""
    return {"DEFAULT": list(ALL_OPTS)}
