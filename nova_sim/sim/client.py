"""A Compute API client that calls the WSGI application in-process.

Owns turning the calls a Rally scenario makes through novaclient (create, show, list,
delete a server, server actions, list flavors and images) into HTTP requests that go
through the API's whole WSGI pipeline (request id, authentication, microversion, routing,
controllers, fault bodies), as a request read from a socket would, but without a socket:
on the virtual clock nothing may wait on a file descriptor. A 4xx/5xx answer raises
``APIError`` named as novaclient names it (``BadRequest``, ``Forbidden``, ``NotFound``,
``Conflict``, ``OverLimit``, ``ClientException``...). Must not know about scenarios.
"""

from __future__ import annotations

import json
from typing import Any

import webob

from nova_sim import green
from nova_sim.green.costs import hooks as costs

#: HTTP status -> the novaclient exception name Rally reports as the error type.
ERROR_NAMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               405: "MethodNotAllowed", 409: "Conflict", 413: "OverLimit",
               429: "RateLimit", 501: "HTTPNotImplemented"}


class APIError(Exception):
    """An error answer of the API: ``code``, ``name`` (novaclient's) and the message."""

    def __init__(self, code: int, message: str, request_id: str | None = None):
        self.code = code
        self.name = ERROR_NAMES.get(code, "ClientException")
        self.request_id = request_id
        super().__init__(f"{message} (HTTP {code}) (Request-ID: {request_id})")


class ComputeClient:
    """Compute API calls as ``token`` (noauth2: ``user:project``) on the WSGI ``app``."""

    def __init__(self, app: Any, token: str, timings: list[float] | None = None):
        self.app = app
        self.token = token
        #: durations of this client's POST /servers calls (the API phase of a boot)
        self.create_timings = timings if timings is not None else []

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; the decoded JSON body (None when empty). APIError on 4xx/5xx."""
        work = costs.work
        if work is not None:  # the cost model charges the client's own CPU per request
            work("client", "client", method)
        request = webob.Request.blank(path, method=method)
        request.headers["X-Auth-Token"] = self.token
        request.headers["Accept"] = "application/json"
        if body is not None:
            request.body = json.dumps(body).encode()
            request.content_type = "application/json"
        response = request.get_response(self.app)
        payload = json.loads(response.body) if response.body else None
        if response.status_code >= 400:
            message = ""
            if isinstance(payload, dict) and payload:
                fault = next(iter(payload.values()))
                if isinstance(fault, dict):
                    message = str(fault.get("message", ""))
            raise APIError(response.status_code, message,
                           response.headers.get("x-compute-request-id"))
        return payload

    # -- servers ---------------------------------------------------------------------
    def create_server(self, name: str, image_id: str, flavor_id: str,
                      **kwargs: Any) -> dict[str, Any]:
        """POST /servers; ``kwargs`` are novaclient's (``min_count``, ``max_count``,
        ``availability_zone``, ``nics``, ``meta``, ``scheduler_hints``, ``description``).
        Returns the server of the answer (id, links)."""
        server: dict[str, Any] = {"name": name, "imageRef": image_id, "flavorRef": flavor_id}
        for key in ("min_count", "max_count", "availability_zone", "description"):
            if kwargs.get(key) is not None:
                server[key] = kwargs[key]
        if kwargs.get("meta"):
            server["metadata"] = kwargs["meta"]
        if kwargs.get("nics"):
            server["networks"] = [{"uuid": nic["net-id"]} for nic in kwargs["nics"]
                                  if nic.get("net-id")]
        body: dict[str, Any] = {"server": server}
        if kwargs.get("scheduler_hints"):
            body["os:scheduler_hints"] = kwargs["scheduler_hints"]
        started = green.now()
        server = self.request("POST", "/v2.1/servers", body)["server"]
        self.create_timings.append(green.now() - started)
        return server

    def get_server(self, server_id: str) -> dict[str, Any]:
        """GET /servers/{id}; APIError NotFound once it is gone."""
        return self.request("GET", f"/v2.1/servers/{server_id}")["server"]

    def list_servers(self, detailed: bool = True) -> list[dict[str, Any]]:
        """Every server, page by page as Rally lists them: ask again after the last
        server seen (``marker``) until a page comes back empty."""
        base = "/v2.1/servers/detail" if detailed else "/v2.1/servers"
        servers: list[dict[str, Any]] = []
        marker = None
        while True:
            path = base + (f"?marker={marker}" if marker else "")
            page = self.request("GET", path)["servers"]
            if not page:
                return servers
            servers.extend(page)
            marker = page[-1]["id"]

    def delete_server(self, server_id: str) -> None:
        """DELETE /servers/{id}."""
        self.request("DELETE", f"/v2.1/servers/{server_id}")

    def server_action(self, server_id: str, action: str, value: Any = None) -> None:
        """POST /servers/{id}/action with ``{action: value}``."""
        self.request("POST", f"/v2.1/servers/{server_id}/action", {action: value})

    # -- flavors and images ---------------------------------------------------------
    def list_flavors(self) -> list[dict[str, Any]]:
        """GET /flavors/detail."""
        return self.request("GET", "/v2.1/flavors/detail")["flavors"]

    def list_images(self) -> list[dict[str, Any]]:
        """GET /image/v2/images (the image service's list)."""
        return self.request("GET", "/image/v2/images")["images"]
