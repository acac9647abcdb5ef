"""Fuzzing the API with hypothesis: thousands of generated paths, headers and bodies.

Whatever comes in, the answer is never a 500, every error is a Nova fault body
(``{"<name>": {"code": <status>, "message": "..."}}``) and the service keeps serving.
The application is fuzzed in-process (fast: thousands of requests in a few seconds); the
green WSGI server under it gets raw bytes over a real socket.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import quote

import pytest
import webob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nova_sim import conf as nova_conf
from nova_sim.api.app import APIApplication
from nova_sim.api.service import make_server
from nova_sim.green import io as green_io

from .fakes import make_compute_api

pytestmark = pytest.mark.slow  # fuzzing

IMAGE = "13dbfda8-883f-5c6c-a946-6ad6d8486726"

_APP = None
_SERVER_ID = None


def app_and_server():
    """One application (and one existing server) shared by every example."""
    global _APP, _SERVER_ID
    if _APP is None:
        conf = nova_conf.new_conf()  # default quotas: at most 10 servers per project
        _APP = APIApplication(make_compute_api(), conf)
        request = webob.Request.blank("/v2.1/servers", method="POST", headers={
            "X-Auth-Token": "fuzz:fuzz", "Content-Type": "application/json"},
            body=json.dumps({"server": {"name": "x", "imageRef": IMAGE,
                                        "flavorRef": "1"}}).encode())
        _SERVER_ID = request.get_response(_APP).json["server"]["id"]
    return _APP, _SERVER_ID


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=6,
)
server_keys = st.sampled_from([
    "name", "imageRef", "flavorRef", "networks", "min_count", "max_count", "metadata",
    "availability_zone", "block_device_mapping_v2", "description", "key_name", "adminPass",
    "return_reservation_id", "bogus"])
known_values = st.sampled_from([
    IMAGE, "1", "2", "m1.tiny", "auto", "none", "", " x ", 0, 1, 2, -1, 10**12, "1" * 12,
    [{"uuid": "6fad1fcf-264a-5900-a6cb-8fc5a8ce0415"}], [{"port": "p"}], {"k": "v"}, [],
    "SOFT", "HARD", "soft", "enabled", "disabled", True, None,
])
values = known_values | json_values
server_bodies = st.fixed_dictionaries({"server": st.dictionaries(server_keys, values,
                                                                 max_size=8)})
action_bodies = st.dictionaries(
    st.sampled_from(["os-start", "os-stop", "reboot", "resize", "x"]),
    st.none() | st.fixed_dictionaries({"type": values}) | values, max_size=2)
service_bodies = st.dictionaries(
    st.sampled_from(["status", "disabled_reason", "forced_down", "host", "binary", "z"]),
    values, max_size=4)
bodies = (server_bodies | action_bodies | service_bodies | json_values
          | st.binary(max_size=40).map(lambda b: ("raw", b)))

segments = st.sampled_from(["SERVER", IMAGE, "1", "detail", "m1.tiny", "action", "x",
                            "..", "%ff", "%00", "enable", "disable", "12345"]) | st.text(
    max_size=12).map(lambda t: quote(t, safe=""))
templates = st.sampled_from([
    "/v2.1/servers", "/v2.1/servers/detail", "/v2.1/servers/{a}", "/v2.1/servers/{a}/action",
    "/v2.1/servers/{a}/os-instance-actions", "/v2.1/servers/{a}/os-instance-actions/{b}",
    "/v2.1/flavors", "/v2.1/flavors/{a}", "/v2.1/flavors/detail", "/v2.1/os-services",
    "/v2.1/os-services/{a}", "/v2.1/os-hypervisors", "/v2.1/os-hypervisors/{a}",
    "/v2.1/os-hypervisors/detail", "/v2.1/os-availability-zone/{a}", "/v2.1/{a}",
    "/v2.1/{a}/{b}", "/{a}", "/image/v2/images", "/image/v2/images/{a}", "/image/{a}",
    "/network/v2.0/networks", "/network/v2.0/networks/{a}", "/identity/{a}", "/",
])
query_keys = st.sampled_from(["limit", "marker", "name", "status", "host", "all_tenants",
                              "is_public", "minRam", "minDisk", "id", "deleted", "project_id",
                              "hypervisor_hostname_pattern", "binary", "node", "sort_key",
                              "sort_dir", "changes-since", "changes-before"])
query_values = st.sampled_from(["1", "0", "-1", "x", "None", "True", "(", "in:", "ACTIVE",
                                "%ff", ""]) | st.text(max_size=8)
queries = st.lists(st.tuples(query_keys, query_values), max_size=3)
versions = st.sampled_from([None, "2.1", "2.53", "2.88", "2.100", "latest", "2.101", "3.0",
                            "abc", "", "2.", "2.0"]) | st.text(max_size=8)
tokens = st.sampled_from([None, "admin:admin", "fuzz:fuzz", "other:other", "x", ":", ":p",
                          "", "admin"]) | st.text(max_size=10)
methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
content_types = st.sampled_from([None, "application/json", "text/plain", "application/xml",
                                 "multipart/form-data; boundary=x", "json; charset=%%"])


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


def check_response(response) -> None:
    assert response.status_int < 500 or response.status_int == 501, response.body[:300]
    assert response.headers["x-openstack-request-id"].startswith("req-")
    if response.status_int >= 400 and response.body:
        body = json.loads(response.body)
        assert len(body) == 1, body
        [(name, fault)] = body.items()
        assert isinstance(name, str) and fault["code"] == response.status_int
        assert isinstance(fault["message"], str) and fault["message"]


@settings(max_examples=2500, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(method=methods, template=templates, a=segments, b=segments, query=queries,
       version=versions, token=tokens, body=bodies, content_type=content_types,
       use_legacy_header=st.booleans())
def test_no_input_gives_a_500(method, template, a, b, query, version, token, body,
                              content_type, use_legacy_header):
    app, server_id = app_and_server()
    a = server_id if a == "SERVER" else a
    b = server_id if b == "SERVER" else b
    path = template.format(a=a, b=b)
    if query:
        path += "?" + "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in query)
    request = webob.Request.blank(path, method=method)
    if token is not None:
        request.headers["X-Auth-Token"] = _latin1(token)
    if version is not None:
        if use_legacy_header:
            request.headers["X-OpenStack-Nova-API-Version"] = _latin1(version)
        else:
            request.headers["OpenStack-API-Version"] = _latin1(f"compute {version}")
    if body is not None and method in ("POST", "PUT", "PATCH"):
        if isinstance(body, tuple):
            request.body = body[1]
        else:
            request.body = json.dumps(body).encode()
        request.headers["Content-Type"] = content_type or "application/json"
    check_response(request.get_response(app))


class _RawClient:
    def __init__(self, port):
        self.sock = green_io.connect(("127.0.0.1", port), timeout=5)

    def exchange(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        self.sock.fd.shutdown(socket.SHUT_WR)  # no more requests: EOF ends a partial one
        chunks = []
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        self.sock.close()
        return b"".join(chunks)


raw_requests = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda method, target, version, headers, body: (
            method + b" " + target + b" " + version + b"\r\n" + b"".join(
                name + b": " + value + b"\r\n" for name, value in headers)
            + b"Connection: close\r\n\r\n" + body),
        st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"BREW", b"", b"G ET"]),
        st.sampled_from([b"/", b"/v2.1/servers", b"/v2.1/servers/detail?limit=%ff",
                         b"*", b"http://x/v2.1", b"/%", b"/\xff", b""]) | st.binary(
            max_size=30),
        st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.", b"", b"xx"]),
        st.lists(st.tuples(
            st.sampled_from([b"X-Auth-Token", b"Content-Length", b"Transfer-Encoding",
                             b"OpenStack-API-Version", b"Expect", b"Host", b"Bad Name",
                             b""]),
            st.sampled_from([b"admin:admin", b"5", b"-1", b"chunked", b"compute 2.100",
                             b"100-continue", b"\xff", b"99999999999999999999"])
            | st.binary(max_size=12)), max_size=5),
        st.binary(max_size=40),
    ),
)


@settings(max_examples=500, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=raw_requests)
def test_raw_bytes_never_break_the_server(data):
    server = _raw_server()
    answer = _RawClient(server.port).exchange(data)
    if answer:
        assert answer.startswith(b"HTTP/1.1 ")
        status = int(answer[9:12])
        assert status < 500 or status == 501, answer[:300]
        head, _sep, body = answer.partition(b"\r\n\r\n")
        if status >= 400 and body and b"Transfer-Encoding: chunked" not in head:
            assert len(json.loads(body)) == 1
    healthy = _RawClient(server.port).exchange(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert healthy.startswith(b"HTTP/1.1 200 OK")


_SERVER = None


def _raw_server():
    global _SERVER
    if _SERVER is None:
        app, _server_id = app_and_server()
        conf = nova_conf.new_conf()
        conf.set_override("client_socket_timeout", 2, group="wsgi")
        _SERVER = make_server(app, conf, host="127.0.0.1", port=0).start()
    return _SERVER


def teardown_module(module):
    global _SERVER
    if _SERVER is not None:
        _SERVER.stop(timeout=2)
        _SERVER = None
