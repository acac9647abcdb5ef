"""Serving the compute API: the green WSGI server configured from nova-sim's options.

Owns ``make_server``, which builds a ``nova_sim.green.wsgi.Server`` for the API
application with ``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port`` and the
``[wsgi]`` options (pool size, header and body limits, client socket timeout, keep-alive),
and with Nova fault bodies for the errors the server answers itself. The API service of a
cloud (``nova_sim.deploy.APIService``) starts and stops it. Must not know about the other
services.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import faults
from nova_sim.api.app import _option
from nova_sim.green import wsgi


def make_server(app: Any, conf: Any, host: str | None = None,
                port: int | None = None) -> wsgi.Server:
    """A (not yet started) green WSGI server for ``app`` configured by ``conf``.

    ``host`` / ``port`` override the ``osapi_compute_listen*`` options; port 0 picks a
    free port (read ``server.port`` after ``start()``).
    """
    if host is None:
        host = _option(conf, None, "osapi_compute_listen", "127.0.0.1")
    if port is None:
        port = _option(conf, None, "osapi_compute_listen_port", 8774)
    body_limit = _option(conf, "wsgi", "max_request_body_size", wsgi.DEFAULT_MAX_BODY)
    timeout = _option(conf, "wsgi", "client_socket_timeout", 900)
    return wsgi.Server(
        app,
        host=host,
        port=int(port),
        pool_size=int(_option(conf, "wsgi", "default_pool_size", 1000)),
        max_header_line=int(_option(conf, "wsgi", "max_header_line",
                                    wsgi.DEFAULT_MAX_HEADER_LINE)),
        max_request_body_size=int(body_limit) if body_limit else None,
        client_socket_timeout=float(timeout) if timeout else None,
        keep_alive=bool(_option(conf, "wsgi", "keep_alive", True)),
        error_body=faults.server_error_body,
    )
