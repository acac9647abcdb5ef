"""The green WSGI server: keep-alive, one sendall per response, limits, timeouts, stop.

The test itself is a green client in the same hub as the server: its socket operations
block only the test's greenlet while the hub runs the server's greenthreads. Responses are
read with the stdlib's ``http.client.HTTPResponse``.
"""

from __future__ import annotations

import errno
import http.client
import socket

import pytest

from nova_sim import green
from nova_sim.green import io as green_io
from nova_sim.green import wsgi

BODY = b'{"hello": "world"}'


def hello_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [BODY]


class Held:
    """An application whose requests wait until ``release`` is sent; ``entered`` is
    released once per request that reached it."""

    def __init__(self):
        self.release = green.Event()
        self.entered = green.Semaphore(0)

    def __call__(self, environ, start_response):
        self.entered.release()
        self.release.wait()
        return hello_app(environ, start_response)


class _Unclosable:
    """The connection's reader as HTTPResponse sees it: closing it keeps it open."""

    def __init__(self, rfile):
        self._rfile = rfile

    def __getattr__(self, name):
        return getattr(self._rfile, name)

    def close(self):
        pass


class _FileSock:
    def __init__(self, rfile):
        self.rfile = rfile

    def makefile(self, *args, **kwargs):
        return _Unclosable(self.rfile)


class Client:
    """A green HTTP client on one connection (requests may be pipelined)."""

    def __init__(self, server, timeout=5.0):
        self.sock = green_io.connect(("127.0.0.1", server.port), timeout=timeout)
        self.rfile = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, method="GET"):
        response = http.client.HTTPResponse(_FileSock(self.rfile), method=method)
        response.begin()
        return response, response.read()

    def get(self, path="/", headers=b""):
        self.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        return self.response()

    def closed_by_server(self) -> bool:
        try:
            return self.rfile.read(1) == b""
        except OSError:
            return True

    def close(self):
        self.rfile.close()
        self.sock.close()


@pytest.fixture
def serve():
    servers = []

    def start(app=hello_app, **kwargs):
        server = wsgi.Server(app, port=0, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(timeout=2)


def test_keep_alive_serves_many_requests_on_one_connection(serve):
    client = Client(serve())
    for _ in range(3):
        response, body = client.get()
        assert response.status == 200 and body == BODY
        assert response.getheader("Connection") == "keep-alive"
        assert response.getheader("Content-Length") == str(len(BODY))
        assert response.getheader("Date")
    client.close()


def test_headers_and_body_leave_in_one_sendall_with_nodelay(serve, monkeypatch):
    server = serve()
    sent = []
    original = green_io.GreenSocket.sendall

    def spy(self, data, flags=0):
        sent.append(bytes(data))
        return original(self, data, flags)

    client = Client(server)
    monkeypatch.setattr(green_io.GreenSocket, "sendall", spy)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    client.response()
    server_side = [s for s in sent if s.startswith(b"HTTP/1.1 200")]
    assert len(server_side) == 1 and server_side[0].endswith(BODY)
    [connection] = server._connections
    assert connection.sock.fd.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    client.close()


def test_connection_close_and_http_1_0(serve):
    server = serve()
    client = Client(server)
    response, _ = client.get(headers=b"Connection: close\r\n")
    assert response.getheader("Connection") == "close"
    assert client.closed_by_server()
    client = Client(server)
    client.send(b"GET / HTTP/1.0\r\n\r\n")
    response, body = client.response()
    assert body == BODY and client.closed_by_server()
    client = Client(server)
    client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    response, _ = client.response()
    assert response.getheader("Connection") == "keep-alive"
    client.close()


def test_keep_alive_off_closes_after_each_response(serve):
    client = Client(serve(keep_alive=False))
    response, _ = client.get()
    assert response.getheader("Connection") == "close" and client.closed_by_server()


def test_pipelined_requests_are_answered_in_order(serve):
    def echo_path(environ, start_response):
        start_response("200 OK", [])
        return [environ["PATH_INFO"].encode()]

    client = Client(serve(echo_path))
    client.send(b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n")
    assert client.response()[1] == b"/a"
    assert client.response()[1] == b"/b"
    client.close()


def test_environ(serve):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        seen["body"] = environ["wsgi.input"].read()
        start_response("204 No Content", [])
        return [b""]

    client = Client(serve(app))
    client.send(b"POST /v2.1/a%20b?x=1&y=%2F HTTP/1.1\r\nHost: example:8774\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\nX-Auth-Token: a:b\r\n"
                b"X-Dup: 1\r\nX-Dup: 2\r\nX_Sneaky: 1\r\n\r\n{}")
    response, body = client.response()
    assert response.status == 204 and body == b""
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"] == "/v2.1/a b"
    assert seen["QUERY_STRING"] == "x=1&y=%2F"
    assert seen["CONTENT_TYPE"] == "application/json"
    assert seen["CONTENT_LENGTH"] == "2"
    assert seen["HTTP_X_AUTH_TOKEN"] == "a:b"
    assert seen["HTTP_X_DUP"] == "1,2"
    assert "HTTP_X_SNEAKY" not in seen
    assert seen["HTTP_HOST"] == "example:8774"
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["wsgi.url_scheme"] == "http" and seen["body"] == b"{}"
    client.send(b"GET http://example/abs?q=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    client.response()
    assert seen["PATH_INFO"] == "/abs" and seen["QUERY_STRING"] == "q=1"
    client.close()


def test_chunked_request_body_and_expect_continue(serve):
    def echo_body(environ, start_response):
        start_response("200 OK", [])
        return [environ["wsgi.input"].read()]

    client = Client(serve(echo_body))
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert client.response()[1] == b"abcde"
    client.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                b"Expect: 100-continue\r\n\r\n")
    assert client.rfile.readline() == b"HTTP/1.1 100 Continue\r\n"
    assert client.rfile.readline() == b"\r\n"
    client.send(b"xyz")
    assert client.response()[1] == b"xyz"
    client.close()


def test_streamed_response_is_chunked(serve):
    def stream(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one,"
        yield b""
        yield b"two"

    server = serve(stream)
    client = Client(server)
    response, body = client.get()
    assert response.getheader("Transfer-Encoding") == "chunked" and body == b"one,two"
    response, body = client.get()  # the connection is still usable
    assert body == b"one,two"
    client.close()
    old = Client(server)
    old.send(b"GET / HTTP/1.0\r\n\r\n")
    assert old.response()[1] == b"one,two" and old.closed_by_server()


def test_head_has_no_body(serve):
    client = Client(serve())
    client.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
    response, body = client.response(method="HEAD")
    assert response.getheader("Content-Length") == str(len(BODY)) and body == b""
    response, body = client.get()
    assert body == BODY
    client.close()


@pytest.mark.parametrize("request_bytes,status", [
    (b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 300 + b"\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(101)) + b"\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3e9\r\n" + b"c" * 1001 + b"\r\n0\r\n\r\n", 413),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 400),
])
def test_limits_and_malformed_requests(serve, request_bytes, status):
    server = serve(max_header_line=256, max_request_body_size=1000,
                   error_body=lambda code, message: ("application/json", b'{"e": %d}' % code))
    client = Client(server)
    client.send(request_bytes)
    response, body = client.response()
    assert response.status == status
    assert body == b'{"e": %d}' % status
    assert response.getheader("Connection") == "close" and client.closed_by_server()
    healthy = Client(server)
    assert healthy.get()[1] == BODY  # the server keeps serving
    healthy.close()


def test_application_errors_are_500_and_the_server_goes_on(serve):
    def broken(environ, start_response):
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("boom")
        if environ["PATH_INFO"] == "/silent":
            return [b"no start_response"]
        return hello_app(environ, start_response)

    server = serve(broken)
    for path in ("/boom", "/silent"):
        client = Client(server)
        response, body = client.get(path)
        assert response.status == 500 and b"boom" not in body
    assert Client(server).get("/")[1] == BODY


def test_idle_and_stalled_clients_time_out(serve):
    server = serve(client_socket_timeout=0.05)
    idle = Client(server)
    assert idle.get()[1] == BODY
    assert idle.closed_by_server()  # idle after a response: closed after the timeout
    stalled = Client(server)
    stalled.send(b"GET / HTTP/1.1\r\nHost: t\r\n")  # the head never ends
    assert stalled.closed_by_server()


def test_a_head_trickled_byte_by_byte_is_cut_at_the_header_timeout(serve):
    """slowloris: each byte comes well within client_socket_timeout, yet the head as a
    whole must be complete within client_header_timeout; an idle keep-alive connection is
    bounded by client_socket_timeout only."""
    server = serve(client_socket_timeout=30, client_header_timeout=0.1)
    idle = Client(server)
    assert idle.get()[1] == BODY
    slow = Client(server)
    closed = False
    for byte in b"GET / HTTP/1.1\r\nHost: t\r\nX-A: " + b"a" * 1000:
        try:
            slow.send(bytes([byte]))
        except OSError:
            closed = True
            break
        green.sleep(0.01)
    assert closed or slow.closed_by_server()
    assert idle.get()[1] == BODY  # idle longer than the header timeout, still served


@pytest.mark.parametrize("phase", ["idle", "head"])
def test_a_full_pool_closes_idle_or_head_reading_connections_for_new_ones(serve, phase):
    server = serve(pool_size=3, client_header_timeout=None)
    old = []
    for _ in range(3):
        client = Client(server)
        if phase == "idle":
            assert client.get()[1] == BODY
        else:
            client.send(b"GET / HTTP/1.1\r\nHo")
        green.sleep(0)
        old.append(client)
    newcomer = Client(server)
    with green.Timeout(2):
        assert newcomer.get()[1] == BODY
    assert old[0].closed_by_server()  # the oldest one made room
    for client in old[1:]:  # and only it: the others are still served
        if phase == "idle":
            assert client.get()[1] == BODY
        else:
            client.send(b"st: t\r\n\r\n")
            assert client.response()[1] == BODY


def test_a_full_pool_of_requests_in_progress_makes_new_connections_wait(serve):
    app = Held()
    release, entered = app.release, app.entered
    server = serve(app, pool_size=2)
    busy = [Client(server) for _ in range(2)]
    for client in busy:
        client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    entered.acquire()
    entered.acquire()
    waiter = green.spawn(Client(server).get)
    green.sleep(0.05)
    assert not waiter.dead  # no request in progress is cut for it
    release.send(True)
    assert [client.response()[1] for client in busy] == [BODY, BODY]
    with green.Timeout(2):
        assert waiter.wait()[1] == BODY


def test_a_slow_client_holds_only_its_own_greenthread(serve):
    server = serve()
    slow = Client(server)
    slow.send(b"GET / HTTP/1.1\r\nHo")
    fast = Client(server)
    assert fast.get()[1] == BODY
    slow.send(b"st: t\r\n\r\n")
    assert slow.response()[1] == BODY
    slow.close()
    fast.close()


def test_graceful_stop_finishes_in_flight_and_refuses_new(serve):
    app = Held()
    release, entered = app.release, app.entered
    server = serve(app)
    port = server.port
    idle = Client(server)
    busy = Client(server)
    busy.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    entered.acquire()
    stopper = green.spawn(server.stop, 5)
    green.sleep(0)  # let stop() close the listener and the idle connection
    assert idle.closed_by_server()
    with pytest.raises(OSError) as refused:
        green_io.connect(("127.0.0.1", port), timeout=1)
    assert refused.value.errno == errno.ECONNREFUSED
    release.send(True)
    response, body = busy.response()
    assert body == BODY and response.getheader("Connection") == "close"
    stopper.wait()
    assert not server._connections


def test_stop_does_not_wait_for_a_client_stalled_mid_headers(serve):
    app = Held()
    release, entered = app.release, app.entered
    server = serve(app)
    stalled = Client(server)
    stalled.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    busy = Client(server)
    busy.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
    entered.acquire()
    stopper = green.spawn(server.stop, 60)
    green.sleep(0)
    assert stalled.closed_by_server()  # at once: it had no request in progress
    assert not stopper.dead  # the request in progress keeps its graceful time
    release.send(True)
    response, body = busy.response()
    assert body == BODY and response.getheader("Connection") == "close"
    with green.Timeout(2):
        stopper.wait()


def test_stop_kills_what_does_not_finish_in_time(serve):
    def stuck(environ, start_response):
        green.Event().wait()

    server = serve(stuck)
    client = Client(server)
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    green.sleep(0)
    server.stop(timeout=0.05)
    assert not server._connections
    assert client.closed_by_server()


def test_a_busy_connection_queues_up_behind_the_others(serve, monkeypatch):
    """Past FAIR_SLICE of serving, a connection waits for its socket through the hub
    (behind every other ready connection) before reading its next request, even when the
    request is already there: a client that answers instantly cannot starve the others."""
    waits = []
    original = wsgi.trampoline

    def counting(fd, *args, **kwargs):
        waits.append(fd)
        return original(fd, *args, **kwargs)

    monkeypatch.setattr(wsgi, "trampoline", counting)
    monkeypatch.setattr(wsgi, "FAIR_SLICE", -1.0)  # every request is "past the slice"
    client = Client(serve())
    for _ in range(3):
        assert client.get()[1] == BODY
    client.close()
    assert len(waits) >= 3
