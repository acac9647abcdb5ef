"""nova-sim status against a stub compute API (stdlib HTTP server on 127.0.0.1:0)."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse

import pytest

from nova_sim.cmd import main as cli
from nova_sim.cmd import status


class StubAPI(http.server.BaseHTTPRequestHandler):
    servers = [
        {"id": f"s{i}", "status": "ACTIVE" if i % 3 else "ERROR",
         "OS-EXT-SRV-ATTR:host": "compute1"} for i in range(5)
    ]
    seen: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("X-Auth-Token"),
                          self.headers.get("OpenStack-API-Version")))
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/v2.1/os-services":
            body = {"services": [
                {"binary": "nova-scheduler", "host": "nova-sim", "zone": "internal",
                 "status": "enabled", "state": "up", "updated_at": "2026-01-01T00:00:10"},
                {"binary": "nova-compute", "host": "compute1", "zone": "nova",
                 "status": "enabled", "state": "down", "updated_at": None}]}
        elif url.path == "/v2.1/os-hypervisors/detail":
            body = {"hypervisors": [{"hypervisor_hostname": "compute1", "state": "up",
                                     "status": "enabled", "vcpus": 16, "vcpus_used": 5,
                                     "memory_mb": 65536, "memory_mb_used": 3072,
                                     "local_gb": 1024, "local_gb_used": 5,
                                     "running_vms": 5}]}
        elif url.path == "/v2.1/servers/detail":
            limit = int(query["limit"])
            start = 0
            if "marker" in query:
                start = [s["id"] for s in self.servers].index(query["marker"]) + 1
            body = {"servers": self.servers[start:start + limit]}
        else:
            self.send_response(404)
            payload = json.dumps({"itemNotFound": {"code": 404, "message": "nope"}}).encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def stub_api(monkeypatch):
    monkeypatch.setattr(status, "PAGE_SIZE", 2)
    StubAPI.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v2.1"
    server.shutdown()
    server.server_close()
    thread.join()


def test_status_tables(stub_api, capsys):
    from nova_sim.conf import new_conf

    assert cli.main(["status", "--url", stub_api], conf=new_conf()) == 0
    out = capsys.readouterr().out
    assert "Services (2)" in out and "Hosts (1)" in out and "Instances (5)" in out
    assert "| nova-compute   | compute1 | nova     | enabled | down  |" in out
    assert "| compute1   | up    | enabled | 5/16" in out
    assert "| ACTIVE | 3     |" in out and "| ERROR  | 2     |" in out
    # Paging with limit/marker, the token, and the microversion for hypervisors.
    paths = [path for path, _, _ in StubAPI.seen]
    assert sum(path.startswith("/v2.1/servers/detail") for path in paths) == 3
    assert all(token == "admin:admin" for _, token, _ in StubAPI.seen)
    assert ("compute 2.87" in [v for p, _, v in StubAPI.seen if "hypervisors" in p])


def test_http_error_is_one_line(stub_api):
    client = status.ComputeClient(stub_api, "admin:admin")
    with pytest.raises(status.StatusError, match="answered 404: nope"):
        client.get("/nothing")


def test_table():
    text = status.table(["A", "Bee"], [(1, None), ("long value", "x")])
    assert text.splitlines() == [
        "+------------+-----+",
        "| A          | Bee |",
        "+------------+-----+",
        "| 1          |     |",
        "| long value | x   |",
        "+------------+-----+",
    ]


def test_default_endpoint():
    from nova_sim.conf import new_conf

    conf = new_conf()
    assert status.default_endpoint(conf) == "http://127.0.0.1:8774/v2.1"
    conf.set_override("osapi_compute_listen", "0.0.0.0")
    conf.set_override("osapi_compute_listen_port", 9000)
    assert status.default_endpoint(conf) == "http://127.0.0.1:9000/v2.1"
    conf.set_override("osapi_compute_listen", "::")
    assert status.default_endpoint(conf) == "http://[::1]:9000/v2.1"
