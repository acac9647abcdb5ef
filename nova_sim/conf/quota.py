"""[quota] options (Nova's names and defaults; -1 means unlimited). Imports nothing of
nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

quota_group = cfg.OptGroup(
    "quota",
    title="Quota options",
    help="Per-project limits checked by the API when servers are created.",
)

quota_opts = [
    cfg.IntOpt("instances", default=10, min=-1, help="Servers per project (-1: unlimited)."),
    cfg.IntOpt("cores", default=20, min=-1, help="vCPUs per project (-1: unlimited)."),
    cfg.IntOpt("ram", default=51200, min=-1, help="RAM (MiB) per project (-1: unlimited)."),
    cfg.IntOpt("metadata_items", default=128, min=-1,
               help="Metadata items per server (-1: unlimited); GET /limits reports it as "
                    "maxServerMeta and a create with more is refused with 403."),
    cfg.IntOpt("key_pairs", default=100, min=-1,
               help="Key pairs per user (-1: unlimited); GET /limits reports it as "
                    "maxTotalKeypairs and a create past it is refused with 403."),
    cfg.IntOpt("server_groups", default=10, min=-1,
               help="Server groups per project (-1: unlimited); GET /limits reports it as "
                    "maxServerGroups and a create past it is refused with 403."),
    cfg.IntOpt("server_group_members", default=10, min=-1,
               help="Servers per server group (-1: unlimited); GET /limits reports it as "
                    "maxServerGroupMembers."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [quota] options on ``conf``."""
    register_group_opts(conf, quota_group, quota_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {quota_group: list(quota_opts)}
