"""[api] options of the compute REST API. Imports nothing of nova_sim."""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

api_group = cfg.OptGroup(
    "api",
    title="API options",
    help="Options of the compute API service (Nova's [api] group).",
)

api_opts = [
    cfg.StrOpt(
        "auth_strategy",
        default="noauth2",
        choices=[
            (
                "noauth2",
                "The token (X-Auth-Token) is 'user:project'; a token without a colon is "
                "both; the user 'admin' is an admin. Requests without a token get 401.",
            ),
            (
                "open",
                "No token needed: every request is admin in project 'admin' (for demos).",
            ),
        ],
        help="""
How the API authenticates requests. Nova's choices are ``keystone`` and ``noauth2``;
nova-sim has no Keystone and offers ``noauth2`` and ``open``.
""",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=0,
        help="The maximum number of items a collection resource returns in one response.",
    ),
    cfg.IntOpt(
        "max_servers_per_request",
        default=1000,
        min=1,
        help="The largest max_count (and min_count) one POST /servers may ask for, "
        "whatever the quota; a larger count is refused at once with 400. The servers of "
        "one request are written in steps that let other requests run in between.",
    ),
    cfg.StrOpt(
        "compute_link_prefix",
        default=None,
        help="Base URL in links of responses instead of the request's host URL "
        "(for a proxy in front of the API).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [api] options on ``conf``."""
    register_group_opts(conf, api_group, api_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {api_group: list(api_opts)}
