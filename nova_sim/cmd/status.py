"""``nova-sim status``: services, hosts and instances of a running cloud, as tables.

Reads everything through the compute REST API (``GET /os-services``,
``/os-hypervisors/detail`` at microversion 2.87, ``/servers/detail?all_tenants=1`` page by
page), like any client would; it never touches the database. Uses the standard library's
HTTP client only (it runs outside the hub). Must not know the services' internals.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Sequence
from typing import Any

# The last microversion whose os-hypervisors still carries vcpus, memory_mb and *_used.
HYPERVISOR_MICROVERSION = "2.87"
PAGE_SIZE = 1000


class StatusError(Exception):
    """The cloud could not be reached or answered with an error (one-line message)."""


class ComputeClient:
    """A tiny compute API client: ``get(path, microversion=None) -> dict``.

    Each request has ``timeout`` seconds; a refused connection, a timeout, an HTTP error or
    a body that is not JSON raises StatusError naming the URL.
    """

    def __init__(self, endpoint: str, token: str, timeout: float = 10.0):
        self.endpoint = endpoint.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str, microversion: str | None = None) -> dict[str, Any]:
        url = self.endpoint + path
        headers = {"Accept": "application/json", "X-Auth-Token": self.token}
        if microversion:
            headers["OpenStack-API-Version"] = f"compute {microversion}"
            headers["X-OpenStack-Nova-API-Version"] = microversion
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise StatusError(f"GET {url} answered {error.code}: {_fault(error)}")
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise StatusError(
                f"cannot reach the compute API at {self.endpoint} ({reason}); is "
                "'nova-sim run' running?"
            )
        try:
            return json.loads(body)
        except ValueError:
            raise StatusError(f"GET {url} did not answer JSON")


def _fault(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read())
        (fault,) = body.values()
        return str(fault.get("message", body))
    except Exception:
        return str(error.reason)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An ASCII table in the openstack CLI's style (``+---+`` borders)."""
    cells = [[str(h) for h in headers]] + [
        ["" if value is None else str(value) for value in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: list[str]) -> str:
        padded = (value.ljust(width) for value, width in zip(row, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    out = [border, line(cells[0]), border]
    out += [line(row) for row in cells[1:]]
    out.append(border)
    return "\n".join(out)


def list_servers(client: ComputeClient) -> list[dict[str, Any]]:
    """Every server of every project, following ``limit`` / ``marker`` pages."""
    servers: list[dict[str, Any]] = []
    marker = None
    while True:
        query = {"all_tenants": "1", "limit": str(PAGE_SIZE)}
        if marker:
            query["marker"] = marker
        page = client.get("/servers/detail?" + urllib.parse.urlencode(query)).get(
            "servers", []
        )
        servers += page
        if len(page) < PAGE_SIZE:
            return servers
        marker = page[-1]["id"]


def render(client: ComputeClient) -> str:
    """The three tables of ``nova-sim status`` as one text."""
    services = client.get("/os-services").get("services", [])
    service_rows = [
        (s.get("binary"), s.get("host"), s.get("zone"), s.get("status"), s.get("state"),
         s.get("updated_at"))
        for s in sorted(services, key=lambda s: (str(s.get("binary")), str(s.get("host"))))
    ]
    hypervisors = client.get("/os-hypervisors/detail", HYPERVISOR_MICROVERSION).get(
        "hypervisors", []
    )
    servers = list_servers(client)
    per_host = Counter(server.get("OS-EXT-SRV-ATTR:host") for server in servers)
    host_rows = []
    for hv in sorted(hypervisors, key=lambda hv: str(hv.get("hypervisor_hostname"))):
        host_rows.append((
            hv.get("hypervisor_hostname"),
            hv.get("state"),
            hv.get("status"),
            f"{hv.get('vcpus_used', '?')}/{hv.get('vcpus', '?')}",
            f"{hv.get('memory_mb_used', '?')}/{hv.get('memory_mb', '?')}",
            f"{hv.get('local_gb_used', '?')}/{hv.get('local_gb', '?')}",
            hv.get("running_vms", per_host.get(hv.get("service", {}).get("host"), 0)),
        ))
    by_status = Counter(server.get("status", "?") for server in servers)
    status_rows = sorted(by_status.items())
    parts = [
        f"Services ({len(services)})",
        table(["Binary", "Host", "Zone", "Status", "State", "Updated At"], service_rows),
        "",
        f"Hosts ({len(hypervisors)})",
        table(["Hypervisor", "State", "Status", "vCPUs used/total", "RAM MiB used/total",
               "Disk GiB used/total", "Instances"], host_rows),
        "",
        f"Instances ({len(servers)})",
        table(["Status", "Count"], status_rows or [("-", 0)]),
    ]
    return "\n".join(parts) + "\n"


def default_endpoint(conf: Any) -> str:
    """``http://<osapi_compute_listen>:<osapi_compute_listen_port>/v2.1`` (0.0.0.0 and ::
    become the loopback address)."""
    host = conf.osapi_compute_listen
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{conf.osapi_compute_listen_port}/v2.1"


def show_status(args: Any, conf: Any) -> int:
    """Handler of ``nova-sim status``."""
    from nova_sim.cmd import CommandError

    client = ComputeClient(args.url or default_endpoint(conf), args.token)
    try:
        text = render(client)
    except StatusError as error:
        raise CommandError(str(error))
    sys.stdout.write(text)
    return 0
