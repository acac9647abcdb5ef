"""``nova-sim run --demo-boots N``: boot N servers through the REST API, like a user would.

Runs in an OS thread of the ``run`` process with the standard library's HTTP client (so
the hub goes on serving the API meanwhile), prints progress as servers go ACTIVE, then
asks the trace command to show the first boot. Must not know the services' internals:
everything goes through HTTP.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

CIRROS_IMAGE_NAME = "cirros-0.6.2-x86_64-disk"
TOKEN = "admin:admin"
# networks "none" needs microversion 2.37 or later (as in Nova).
MICROVERSION = "2.37"


def _request(method: str, url: str, body: Any = None, timeout: float = 30.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method,
        headers={"X-Auth-Token": TOKEN, "Accept": "application/json",
                 "Content-Type": "application/json",
                 "OpenStack-API-Version": f"compute {MICROVERSION}"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
        return response.headers, (json.loads(raw) if raw else {})


def _image_id(endpoint: str) -> str:
    root = endpoint.rsplit("/v2.1", 1)[0]
    _, body = _request("GET", f"{root}/image/v2/images?name={CIRROS_IMAGE_NAME}")
    images = body.get("images") or []
    if not images:
        raise LookupError(f"image {CIRROS_IMAGE_NAME} not found")
    return images[0]["id"]


def boot_and_report(endpoint: str, count: int, conf: Any, timeout: float = 120.0,
                    out: Any = None) -> list[str]:
    """Boot ``count`` m1.tiny servers, wait (polling every 0.5 s of real time, up to
    ``timeout`` seconds) until none is BUILD, print one line per change and a summary.

    Returns the request ids of the boots. Errors are printed as one line, never raised:
    this runs beside a serving cloud, which must keep serving.
    """
    out = out or sys.stdout
    request_ids: list[str] = []
    try:
        image = _image_id(endpoint)
        ids = []
        for number in range(1, count + 1):
            headers, body = _request("POST", f"{endpoint}/servers", {"server": {
                "name": f"demo-{number}", "imageRef": image, "flavorRef": "1",
                "networks": "none"}})
            ids.append(body["server"]["id"])
            request_ids.append(headers.get("x-openstack-request-id", "?"))
            out.write(f"demo: POST /servers demo-{number} -> 202 ({request_ids[-1]})\n")
        out.flush()
        seen: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _, body = _request("GET", f"{endpoint}/servers/detail?name=demo-")
            for server in body.get("servers", []):
                if server["id"] in ids and seen.get(server["id"]) != server["status"]:
                    seen[server["id"]] = server["status"]
                    host = server.get("OS-EXT-SRV-ATTR:host") or "-"
                    out.write(f"demo: {server['name']} {server['status']} on {host}\n")
                    out.flush()
            if len(seen) == len(ids) and "BUILD" not in seen.values():
                break
            time.sleep(0.5)
        out.write(f"demo: {sum(s == 'ACTIVE' for s in seen.values())}/{count} servers "
                  "ACTIVE\n")
        if request_ids:
            from nova_sim.cmd.launch import command_as_typed

            nova_sim = command_as_typed("nova-sim") or "nova-sim"
            out.write(f"demo: trace of the first boot: {nova_sim} trace show "
                      f"{request_ids[0]}\n")
            out.flush()
            _print_trace(request_ids[0], conf)
        out.write("demo: done; the cloud keeps serving until Ctrl-C\n")
    except urllib.error.HTTPError as error:
        out.write(f"demo: boots failed: {error.code} {error.read().decode(errors='replace')}\n")
    except (urllib.error.URLError, OSError, LookupError, KeyError, ValueError) as error:
        out.write(f"demo: boots failed: {error}\n")
    out.flush()
    return request_ids


def _print_trace(request_id: str, conf: Any) -> None:
    from nova_sim.trace import cli

    try:
        cli.main(["show", request_id], conf)
    except Exception as error:  # the trace is a bonus; the cloud keeps serving
        sys.stdout.write(f"demo: cannot show the trace: {error}\n")
