"""``make_server``: the API's green WSGI server built from nova-sim's options."""

from __future__ import annotations

import json

from nova_sim.api.service import make_server
from nova_sim.green import io as green_io


def test_make_server_reads_the_options(app, conf):
    conf.set_override("osapi_compute_listen", "127.0.0.1")
    conf.set_override("osapi_compute_listen_port", 0)
    conf.set_override("default_pool_size", 7, group="wsgi")
    conf.set_override("max_header_line", 1000, group="wsgi")
    conf.set_override("max_request_body_size", 2000, group="wsgi")
    conf.set_override("client_socket_timeout", 0, group="wsgi")
    conf.set_override("keep_alive", False, group="wsgi")
    server = make_server(app, conf)
    assert server.pool.size == 7
    assert server.max_header_line == 1000 and server.max_request_body_size == 2000
    assert server.client_socket_timeout is None and server.keep_alive is False


def test_server_errors_are_nova_faults(app, conf):
    conf.set_override("max_request_body_size", 10, group="wsgi")
    server = make_server(app, conf, host="127.0.0.1", port=0).start()
    try:
        sock = green_io.connect(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"POST /v2.1/servers HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n")
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        sock.close()
        head, _sep, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413 ")
        assert json.loads(body) == {"overLimit": {
            "code": 413, "message": "The request body is larger than 10 bytes."}}
    finally:
        server.stop(timeout=1)
