"""[wsgi] options of the green WSGI server. Imports nothing of nova_sim.

Nova keeps ``max_request_body_size`` in ``[oslo_middleware]``; nova-sim's server enforces
it itself, so it lives here with the other limits.
"""

from __future__ import annotations

from oslo_config import cfg

from nova_sim.conf.base import register_group_opts

wsgi_group = cfg.OptGroup(
    "wsgi",
    title="WSGI server options",
    help="Options of the green WSGI server under the compute API.",
)

wsgi_opts = [
    cfg.IntOpt(
        "default_pool_size",
        default=1000,
        min=1,
        help="Size of the GreenPool of the WSGI server: at most this many connections are "
        "served at once, one greenthread each.",
    ),
    cfg.IntOpt(
        "max_header_line",
        default=16384,
        min=1,
        help="Maximum size, in bytes, of the request line and of one header line; "
        "larger ones get 400 (request line: 414).",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        min=0,
        help="Maximum size, in bytes, of a request body; larger ones get 413.",
    ),
    cfg.IntOpt(
        "client_socket_timeout",
        default=900,
        min=0,
        help="""
Seconds a client connection may stay idle or stall in the middle of a request before the
server closes it. 0 means wait forever.
""",
    ),
    cfg.IntOpt(
        "client_header_timeout",
        default=60,
        min=0,
        help="""
Seconds a client may take to send a request's head (request line and headers), counted
from the connection's accept or from the first byte of a later request on a keep-alive
connection. A client that trickles its headers (slowloris) is closed then. 0 means no
bound beyond client_socket_timeout. nova-sim's own (Nova's eventlet server has none).
""",
    ),
    cfg.BoolOpt(
        "keep_alive",
        default=True,
        help="Keep HTTP/1.1 connections open between requests. When False, the server "
        "closes each connection after one response.",
    ),
    cfg.IntOpt(
        "tcp_keepidle",
        default=600,
        min=1,
        help="Seconds of idleness before the kernel sends TCP keepalive probes "
        "(TCP_KEEPIDLE, where the platform supports it).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the [wsgi] options on ``conf``."""
    register_group_opts(conf, wsgi_group, wsgi_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """The options of this module by group, for the sample generator."""
    return {wsgi_group: list(wsgi_opts)}
