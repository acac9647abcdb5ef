"""Serving the compute API: the green WSGI server configured from nova-sim's options.

Owns ``make_server``, which builds a ``nova_sim.green.wsgi.Server`` for the API
application with ``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port`` and the
``[wsgi]`` options (pool size, header and body limits, client socket timeout, keep-alive,
TCP keepalive idle time),
and with Nova fault bodies for the errors the server answers itself. The API service of a
cloud (``nova_sim.deploy.APIService``) starts and stops it. Must not know about the other
services.
"""

from __future__ import annotations

from typing import Any

from nova_sim.api import faults
from nova_sim.green import wsgi


def make_server(app: Any, conf: Any, host: str | None = None,
                port: int | None = None) -> wsgi.Server:
    """A (not yet started) green WSGI server for ``app`` configured by ``conf``.

    ``host`` / ``port`` override the ``osapi_compute_listen*`` options; port 0 picks a
    free port (read ``server.port`` after ``start()``).
    """
    if host is None:
        host = conf.osapi_compute_listen
    if port is None:
        port = conf.osapi_compute_listen_port
    options = conf.wsgi
    return wsgi.Server(
        app,
        host=host,
        port=int(port),
        pool_size=options.default_pool_size,
        max_header_line=options.max_header_line,
        max_request_body_size=options.max_request_body_size or None,
        client_socket_timeout=options.client_socket_timeout or None,
        client_header_timeout=options.client_header_timeout or None,
        keep_alive=options.keep_alive,
        tcp_keepidle=options.tcp_keepidle,
        error_body=faults.server_error_body,
    )
