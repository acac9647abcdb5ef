"""[dashboard] options of the live read-only dashboard. Imports nothing of nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

dashboard_group = cfg.OptGroup(
    "dashboard",
    title="Dashboard options",
    help="The live read-only dashboard (services, greenthreads, RPC messages, request "
    "traces) that the process running the compute API serves on a listener of its own.",
)

dashboard_opts = [
    cfg.BoolOpt(
        "enabled",
        default=True,
        help="Serve the dashboard from the process that runs the compute API "
        "(nova-sim run, nova-sim api). It has no authentication: keep it on a trusted "
        "machine's loopback address.",
    ),
    cfg.HostAddressOpt(
        "host",
        default="127.0.0.1",
        help="Address the dashboard listens on.",
    ),
    cfg.PortOpt(
        "port",
        default=8780,
        help="Port the dashboard listens on (0: any free port).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [dashboard] options on ``conf``."""
    register_group_opts(conf, dashboard_group, dashboard_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {dashboard_group: list(dashboard_opts)}
