"""[identity] options of the built-in Keystone v3 subset (``[api] auth_strategy =
keystone``). Imports nothing of nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

identity_group = cfg.OptGroup(
    "identity",
    title="Identity options",
    help="Users, projects, roles and tokens of the identity service served at /identity "
    "when [api] auth_strategy is keystone.",
)

DEFAULT_USERS = [
    "admin:admin:admin",
    "demo:demo:member",
    "demo_reader:demo:reader",
    "alt_demo:alt_demo:member",
    "alt_demo_reader:alt_demo:reader",
    "demo_manager:demo:manager",
]

identity_opts = [
    cfg.StrOpt(
        "default_password",
        default="nova-sim",
        secret=True,
        help="The password of every user of [identity] users.",
    ),
    cfg.ListOpt(
        "users",
        default=DEFAULT_USERS,
        help="The users at start-up, each 'user:project:role' (a user may appear several "
        "times, one role assignment each). Projects and roles named here are created.",
    ),
    cfg.IntOpt(
        "token_expiration",
        default=3600,
        min=1,
        help="Seconds a token stays valid after it is issued.",
    ),
    cfg.StrOpt(
        "region_name",
        default="RegionOne",
        help="The region of every endpoint of the service catalog.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [identity] options on ``conf``."""
    register_group_opts(conf, identity_group, identity_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {identity_group: list(identity_opts)}
