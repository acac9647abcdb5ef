"""The API service: the compute API application served by the green WSGI server.

Owns wiring ``APIApplication`` to ``nova_sim.green.wsgi.Server`` with the options of
``[DEFAULT] osapi_compute_listen`` / ``osapi_compute_listen_port`` and ``[wsgi]``
(pool size, limits, timeouts, keep-alive), and the start / stop of that server. Port 0
picks a free port: read ``APIService.port`` after ``start()``. Must not know about the
other services: it is handed a compute API object.
"""

from __future__ import annotations

import logging
from typing import Any

from nova_sim.api import faults
from nova_sim.api.app import APIApplication, _option
from nova_sim.green import wsgi

LOG = logging.getLogger(__name__)


class APIService:
    """The ``nova-api`` service of a simulated cloud (one green WSGI server).

    ``host`` / ``port`` override ``[DEFAULT] osapi_compute_listen`` /
    ``osapi_compute_listen_port``.
    """

    binary = "nova-api"

    def __init__(self, compute_api: Any, conf: Any = None, host: str | None = None,
                 port: int | None = None):
        if conf is None:
            from nova_sim import conf as nova_conf

            conf = nova_conf.CONF
        self.conf = conf
        self.app = APIApplication(compute_api, conf)
        if host is None:
            host = _option(conf, None, "osapi_compute_listen", "127.0.0.1")
        if port is None:
            port = _option(conf, None, "osapi_compute_listen_port", 8774)
        body_limit = _option(conf, "wsgi", "max_request_body_size", wsgi.DEFAULT_MAX_BODY)
        self.server = wsgi.Server(
            self.app,
            host=host,
            port=int(port),
            pool_size=int(_option(conf, "wsgi", "default_pool_size", 1000)),
            max_header_line=int(_option(conf, "wsgi", "max_header_line",
                                        wsgi.DEFAULT_MAX_HEADER_LINE)),
            max_request_body_size=int(body_limit) if body_limit else None,
            client_socket_timeout=float(_option(conf, "wsgi", "client_socket_timeout", 900))
            or None,
            keep_alive=bool(_option(conf, "wsgi", "keep_alive", True)),
            error_body=faults.server_error_body,
        )

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        """The port the API listens on (the real one once started)."""
        return self.server.port

    @property
    def endpoint(self) -> str:
        """``http://host:port/v2.1``, the compute endpoint clients use."""
        return f"http://{self.host}:{self.port}/v2.1"

    def start(self) -> APIService:
        """Listen and serve in greenthreads; returns at once. ``OSError`` if the address is
        taken."""
        self.server.start()
        LOG.info("nova-api listening on http://%s:%s (auth_strategy %s)", self.host,
                 self.port, self.app.auth_strategy)
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop gracefully: refuse new connections, finish requests in flight."""
        self.server.stop(timeout)

    def wait(self) -> None:
        """Block until the server stopped."""
        self.server.wait()
