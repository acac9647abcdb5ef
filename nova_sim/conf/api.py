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
            (
                "keystone",
                "Tokens are issued by the identity service at /identity/v3 (POST "
                "/v3/auth/tokens); roles decide the policy (admin, manager, member, reader).",
            ),
        ],
        help="""
How the API authenticates requests: ``noauth2`` (Nova's no-Keystone mode), ``open`` or
``keystone`` (the built-in identity v3 subset at ``/identity``; see [identity]).
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
