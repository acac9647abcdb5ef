"""The green WSGI server: one greenthread per connection, HTTP/1.1 keep-alive, fast.

What it owns
------------
Serving a WSGI application over green sockets: accepting connections (one greenthread
each, from a ``GreenPool`` whose size caps the connections served at once), parsing
requests, building the WSGI environ, writing responses, enforcing limits and timeouts, and
stopping gracefully. It knows nothing of Nova: error bodies the server itself produces
(400, 413, 414...) go through an ``error_body`` callable that the application layer may
supply (the compute API passes one that renders Nova faults).

Parsing is not hand-written
---------------------------
Requests are parsed by ``httptools`` (the C parser, llhttp, that Node.js and uvicorn use).
The stdlib's ``http.client.parse_headers`` was the first plan; measured here it costs
about 49 microseconds for four headers, a third of eventlet.wsgi's whole per-request
budget, because it runs the ``email`` package's generic parser. ``httptools`` parses a
request in a microsecond or two and hands us the method, the URL, each header and the body.
It also handles chunked request bodies and pipelined requests.

The life of a connection
------------------------
``recv`` -> ``feed_data`` -> callbacks collect a request (URL, headers, body) -> when a
request is complete it is queued -> the connection greenthread calls the application and
writes the status line, headers and body with **one** ``sendall`` (with ``TCP_NODELAY`` set,
so no Nagle delay ever holds a response back: gevent.pywsgi drops to ~1,100 requests/s on
keep-alive because it writes headers and body in two sends without it). Bodies are read
completely before the application runs (at most ``max_request_body_size`` bytes: an API
server's bodies are small), so ``wsgi.input`` is an in-memory file. The environ also
holds ``nova_sim.client_gone``, a callable that tells a long-running application whether
the client has closed its connection meanwhile (then it may stop its work).

Limits and timeouts: the request line and each header line at most ``max_header_line``
bytes (414 / 400 beyond), at most 100 headers, a body at most ``max_request_body_size`` bytes
(413 beyond, answered as soon as ``Content-Length`` says so). Every socket read and write of
a connection waits at most ``client_socket_timeout`` seconds (``None`` or 0: forever), so an
idle, slow or stuck client holds only its own greenthread until then. Reading a request's
head (request line and headers) is bounded as a whole by ``client_header_timeout``: from
the connection's accept, or from the first byte of a later request on a keep-alive
connection, to the blank line ending the headers. A client that trickles its headers a byte
at a time (slowloris) is closed then, whatever ``client_socket_timeout`` says.

A connection is in one of three phases: *idle* (between requests on a keep-alive
connection), *reading a head* (accepted, or the next request begun, headers not yet
complete) or *in progress* (headers complete: body, application, response). When every
slot of the pool is taken and a new connection arrives, the server closes one connection
that has no request in progress, the longest idle first, else the one reading its head
the longest, so that idle and slowloris clients cannot keep new clients out; only when
every connection has a request in progress does a new one wait (in the listen backlog).

Graceful stop: ``stop()`` closes the listening socket (new connections are refused),
closes at once every connection that has no request in progress (idle, or still reading a
head: a client stalled mid-headers does not delay the stop), lets requests in progress
finish (their responses carry ``Connection: close``) and returns when every connection is
done or the timeout passed (then the rest are killed).
"""

from __future__ import annotations

import collections
import io
import logging
import socket
import sys
import time
from email.utils import formatdate
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes

import httptools

from nova_sim.green import io as green_io
from nova_sim.green.event import Event
from nova_sim.green.greenpool import GreenPool
from nova_sim.green.greenthread import kill, sleep, spawn
from nova_sim.green.hub import GreenletExit, getcurrent
from nova_sim.green.io import trampoline

__all__ = ["Server", "server", "DEFAULT_MAX_HEADER_LINE", "MAX_HEADERS"]

LOG = logging.getLogger(__name__)

DEFAULT_MAX_HEADER_LINE = 16384
DEFAULT_MAX_BODY = 114688
MAX_HEADERS = 100
RECV_SIZE = 65536
# Seconds a connection greenthread may keep serving requests without waiting for its
# socket before it lets the other connections go first (see _Connection.serve).
FAIR_SLICE = 0.002

_REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
    300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout",
    409: "Conflict", 411: "Length Required", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type", 417: "Expectation Failed",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "HTTP Version Not Supported",
}

ErrorBody = Callable[[int, str], "tuple[str, bytes]"]


def plain_error_body(code: int, message: str) -> tuple[str, bytes]:
    """The server's default error body: ``(content type, bytes)`` of a short text."""
    text = f"{code} {_REASONS.get(code, 'Error')}\n\n{message}\n"
    return "text/plain; charset=UTF-8", text.encode()


class _HTTPError(Exception):
    """A request the server answers itself (too large, malformed...)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# HTTP header name (as sent, lower-cased) -> WSGI environ key; filled lazily.
_ENVIRON_KEYS: dict[bytes, str | None] = {
    b"content-type": "CONTENT_TYPE",
    b"content-length": "CONTENT_LENGTH",
}


def _environ_key(name: bytes) -> str | None:
    lowered = name.lower()
    key = _ENVIRON_KEYS.get(lowered)
    if key is None and lowered not in _ENVIRON_KEYS:
        text = lowered.decode("latin-1")
        # A header with "_" would collide with one with "-" once converted: drop it, as
        # mod_wsgi and nginx do, so nobody can spoof a header the proxy set.
        key = None if "_" in text else "HTTP_" + text.upper().replace("-", "_")
        if len(_ENVIRON_KEYS) < 4096:
            _ENVIRON_KEYS[lowered] = key
    return key


class _Request:
    """One parsed request, waiting for its turn on the connection."""

    __slots__ = ("method", "url", "version", "headers", "body", "keep_alive", "expect")

    def __init__(self):
        self.method = None  # set when the head is complete
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.keep_alive = True
        self.expect = False


class _Date:
    """The ``Date`` header value, formatted once per second."""

    second = -1
    value = ""

    @classmethod
    def get(cls) -> str:
        now = int(time.time())
        if now != cls.second:
            cls.value = formatdate(now, usegmt=True)
            cls.second = now
        return cls.value


class _Connection:
    """One client connection: the httptools protocol object and the serving loop."""

    def __init__(self, server: Server, sock: green_io.GreenSocket, address: Any):
        self.server = server
        self.sock = sock
        self.address = address
        self.pending: collections.deque[_Request] = collections.deque()
        self.current: _Request | None = None
        self.header_count = 0
        self.body_size = 0
        self.error: _HTTPError | None = None
        self.responding = False
        # Since when a head is being read (None when not), and since when the connection
        # is idle between requests (None when not): monotonic times.
        self.head_since: float | None = time.monotonic()
        self.idle_since: float | None = None
        self.greenlet = getcurrent()
        self.parser = httptools.HttpRequestParser(self)

    @property
    def busy(self) -> bool:
        """A request is in progress: its head is complete and it is not answered yet."""
        current = self.current
        return bool(self.responding or self.pending
                    or (current is not None and current.method is not None))

    # -- httptools callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        self.current = _Request()
        self.header_count = 0
        self.body_size = 0
        self.idle_since = None
        if self.head_since is None:  # the first byte of a later request
            self.head_since = time.monotonic()

    def on_url(self, url: bytes) -> None:
        request = self.current
        request.url += url
        if len(request.url) > self.server.max_header_line:
            self.error = _HTTPError(414, "The request line is too long.")
            raise self.error

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > MAX_HEADERS:
            self.error = _HTTPError(400, f"More than {MAX_HEADERS} headers.")
            raise self.error
        if len(name) + len(value) + 2 > self.server.max_header_line:
            self.error = _HTTPError(400, "A header line is too long.")
            raise self.error
        self.current.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.current
        parser = self.parser
        self.head_since = None
        request.method = parser.get_method()
        request.version = parser.get_http_version()
        limit = self.server.max_request_body_size
        expect = False
        for name, value in request.headers:
            if len(name) == 14 and name.lower() == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if limit is not None and length > limit:
                    self.error = _HTTPError(
                        413, f"The request body is larger than {limit} bytes.")
                    raise self.error
            elif len(name) == 6 and name.lower() == b"expect":
                expect = value.lower() == b"100-continue"
        if expect and request.version == "1.1":
            # The client waits for our go-ahead before sending the body.
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self.body_size += len(body)
        limit = self.server.max_request_body_size
        if limit is not None and self.body_size > limit:
            self.error = _HTTPError(413, f"The request body is larger than {limit} bytes.")
            raise self.error
        self.current.body.append(body)

    def on_message_complete(self) -> None:
        request = self.current
        request.keep_alive = self.parser.should_keep_alive()
        self.pending.append(request)
        self.current = None

    # -- the serving loop -------------------------------------------------------------
    def serve(self) -> None:
        server = self.server
        sock = self.sock
        raw_recv = sock.fd.recv
        fileno = sock.fd.fileno()
        pending = self.pending
        clock = time.perf_counter
        last_wait = clock()
        try:
            while True:
                if pending:
                    if clock() - last_wait > FAIR_SLICE:
                        # Pipelined requests: let the other ready greenthreads run too.
                        sleep(0)
                        last_wait = clock()
                    self.responding = True
                    try:
                        if not self._respond(pending.popleft()):
                            return
                    finally:
                        self.responding = False
                    if not pending and self.current is None:
                        self.idle_since = time.monotonic()
                        server._make_room_wake()  # the accept loop may wait for one
                    continue
                if clock() - last_wait > FAIR_SLICE:
                    # This connection has had the CPU for a while (its client answers as
                    # fast as we respond): queue up behind the other connections before
                    # reading its next request, so that none of them starves.
                    try:
                        trampoline(fileno, read=True, timeout=self._wait_timeout())
                    except OSError:
                        return
                    last_wait = clock()
                try:
                    data = raw_recv(RECV_SIZE)
                except BlockingIOError:
                    try:
                        trampoline(fileno, read=True, timeout=self._wait_timeout())
                    except OSError:  # socket.timeout, or the socket was closed
                        return
                    last_wait = clock()
                    continue
                except OSError:
                    return
                if not data or not self._feed(data):
                    return
        except GreenletExit:
            return
        finally:
            self.responding = False
            server._connections.discard(self)
            server._make_room_wake()
            try:
                sock.close()
            except OSError:
                pass

    def _wait_timeout(self) -> float | None:
        """How long the next read may wait: ``client_socket_timeout``, cut to what is
        left of ``client_header_timeout`` while a head is being read (0 left: a tiny
        wait, which times out unless the rest of the head is already there)."""
        server = self.server
        timeout = server.client_socket_timeout
        since = self.head_since
        if since is None or server.client_header_timeout is None:
            return timeout
        remaining = max(since + server.client_header_timeout - time.monotonic(), 1e-6)
        return remaining if timeout is None else min(timeout, remaining)

    def _feed(self, data: bytes) -> bool:
        """Parse ``data`` (complete requests join ``pending``); False when the
        connection must close: a malformed request gets the requests complete before it
        answered, then the error."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # An upgrade (websocket, h2c) we do not speak: serve the request as a plain
            # HTTP/1.1 one and close afterwards.
            if self.pending:
                self.pending[-1].keep_alive = False
        except httptools.HttpParserError as error:
            failure = self.error or _HTTPError(400, f"Malformed request: {error}")
            while self.pending:
                if not self._respond(self.pending.popleft()):
                    return False
            self._send_error(failure.code, failure.message)
            return False
        return True

    def _send_error(self, code: int, message: str) -> None:
        content_type, body = self.server.error_body(code, message)
        head = (
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Date: {_Date.get()}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        try:
            self.sock.sendall(head + body)
        except OSError:
            pass

    def _environ(self, request: _Request) -> dict[str, Any]:
        environ = self.server.base_environ.copy()
        url = request.url
        if url[:1] != b"/":
            if url == b"*":
                path, query = b"*", b""
            else:
                try:
                    parsed = httptools.parse_url(url)
                except httptools.HttpParserInvalidURLError:
                    raise _HTTPError(400, "The request target is not a valid URL.")
                path, query = parsed.path or b"/", parsed.query or b""
        else:
            path, _sep, query = url.partition(b"?")
            hash_at = query.find(b"#")
            if hash_at >= 0:
                query = query[:hash_at]
        environ["REQUEST_METHOD"] = request.method.decode("latin-1")
        environ["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1")
        environ["QUERY_STRING"] = query.decode("latin-1")
        environ["SERVER_PROTOCOL"] = "HTTP/" + request.version
        environ["REMOTE_ADDR"] = self.address[0]
        environ["REMOTE_PORT"] = str(self.address[1])
        body = b"".join(request.body) if request.body else b""
        environ["wsgi.input"] = io.BytesIO(body)
        for name, value in request.headers:
            key = _environ_key(name)
            if key is None:
                continue
            text = value.decode("latin-1")
            previous = environ.get(key)
            if previous is not None and key.startswith("HTTP_"):
                text = previous + "," + text
            environ[key] = text
        if request.body and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["nova_sim.client_gone"] = self.client_gone
        return environ

    def client_gone(self) -> bool:
        """True once the client has closed or reset its end of the connection: a long
        request (a large create) asks it between steps and gives up. A peek, so bytes of
        a pipelined next request stay where they are. (A client that half-closes after
        sending its request counts as gone: HTTP clients do not do that.)"""
        try:
            data = self.sock.fd.recv(1, socket.MSG_PEEK)
        except BlockingIOError:
            return False
        except OSError:
            return True
        return not data

    def _respond(self, request: _Request) -> bool:
        """Run the application for ``request`` and write its response.

        Returns False when the connection must be closed afterwards.
        """
        server = self.server
        try:
            environ = self._environ(request)
        except _HTTPError as error:
            self._send_error(error.code, error.message)
            return False
        keep_alive = request.keep_alive and server.keep_alive and not server.stopping
        server.requests += 1
        status_headers: list = []

        def start_response(status: str, headers: list, exc_info=None):
            if exc_info is not None:
                try:
                    if status_headers and status_headers[2]:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            status_headers[:] = [status, headers, False]
            return _no_write

        try:
            result = server.app(environ, start_response)
        except Exception:
            LOG.exception("WSGI application failed on %s %s", environ["REQUEST_METHOD"],
                          environ["PATH_INFO"])
            self._send_error(500, "The server failed to handle the request.")
            return False
        try:
            if isinstance(result, (list, tuple)):
                body = result[0] if len(result) == 1 else b"".join(result)
                return self._write_whole(request, status_headers, body, keep_alive)
            return self._write_stream(request, status_headers, result, keep_alive)
        except OSError:
            return False
        except Exception:
            LOG.exception("WSGI application failed while writing %s %s",
                          environ["REQUEST_METHOD"], environ["PATH_INFO"])
            if not status_headers or not status_headers[2]:
                self._send_error(500, "The server failed to handle the request.")
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _head(self, status_headers: list, keep_alive: bool, length: int | None,
              chunked: bool = False) -> tuple[bytes, bool, bool]:
        if not status_headers:
            raise RuntimeError("the application did not call start_response")
        status, headers = status_headers[0], status_headers[1]
        if self.server.stopping:  # stop() came while the application ran
            keep_alive = False
        lines = ["HTTP/1.1 ", status, "\r\n"]
        has_length = False
        use_chunked = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                has_length = True
            elif lowered == "connection":
                if value.lower() == "close":
                    keep_alive = False
                continue
            lines += (name, ": ", value, "\r\n")
        if not has_length and length is not None:
            lines += ("Content-Length: ", str(length), "\r\n")
        elif not has_length and chunked:
            lines.append("Transfer-Encoding: chunked\r\n")
            use_chunked = True
        elif not has_length:
            keep_alive = False
        lines += ("Date: ", _Date.get(), "\r\n")
        lines.append("Connection: keep-alive\r\n\r\n" if keep_alive else
                     "Connection: close\r\n\r\n")
        status_headers[2] = True
        return "".join(lines).encode("latin-1"), keep_alive, use_chunked

    def _write_whole(self, request: _Request, status_headers: list, body: bytes,
                     keep_alive: bool) -> bool:
        head, keep_alive, _chunked = self._head(status_headers, keep_alive, len(body))
        if request.method == b"HEAD" or status_headers[0][:3] in ("204", "304"):
            self.sock.sendall(head)
        else:
            self.sock.sendall(head + body)
        return keep_alive

    def _write_stream(self, request: _Request, status_headers: list, result: Iterable,
                      keep_alive: bool) -> bool:
        iterator = iter(result)
        first = b""
        for chunk in iterator:  # the first non-empty chunk goes out with the headers
            if chunk:
                first = chunk
                break
        chunked = request.version == "1.1"
        head, keep_alive, chunked = self._head(status_headers, keep_alive, None,
                                               chunked=chunked)
        if request.method == b"HEAD":
            self.sock.sendall(head)
            return keep_alive
        sendall = self.sock.sendall
        if not chunked:
            sendall(head + first)
            for chunk in iterator:
                if chunk:
                    sendall(chunk)
            return keep_alive
        sendall(head + (b"%x\r\n%s\r\n" % (len(first), first) if first else b""))
        for chunk in iterator:
            if chunk:
                sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sendall(b"0\r\n\r\n")
        return keep_alive


def _no_write(data: bytes) -> None:
    raise NotImplementedError("the write() callable of start_response is not supported: "
                              "return the body from the application instead")


class Server:
    """A green WSGI server for ``app`` on ``(host, port)`` (port 0: any free port).

    ``pool_size`` caps the connections served at once (when it is full, a connection
    without a request in progress is closed for a new one; when every connection has a
    request in progress, new ones wait in the listen backlog); ``max_header_line``,
    ``max_request_body_size`` (None: no limit), ``client_socket_timeout`` and
    ``client_header_timeout`` (seconds; None or 0: forever) are the limits described in
    the module docstring; ``keep_alive`` False closes every connection after one response;
    ``tcp_keepidle`` (seconds; None: the system's setting) turns on TCP keepalive probes
    after that much idleness on the connections of a socket the server binds itself (where
    the platform has ``TCP_KEEPIDLE``); ``error_body(code, message) -> (content_type,
    body)`` renders the errors the server answers itself. ``sock`` may be an already
    listening green socket.
    """

    def __init__(
        self,
        app: Callable,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        pool_size: int = 1000,
        backlog: int = 1024,
        max_header_line: int = DEFAULT_MAX_HEADER_LINE,
        max_request_body_size: int | None = DEFAULT_MAX_BODY,
        client_socket_timeout: float | None = 900.0,
        client_header_timeout: float | None = 60.0,
        keep_alive: bool = True,
        tcp_keepidle: int | None = None,
        error_body: ErrorBody | None = None,
        sock: green_io.GreenSocket | None = None,
        url_scheme: str = "http",
    ):
        self.app = app
        self.host = host
        self.port = port
        self.backlog = backlog
        self.max_header_line = max_header_line
        self.max_request_body_size = max_request_body_size
        self.client_socket_timeout = client_socket_timeout or None
        self.client_header_timeout = client_header_timeout or None
        self.keep_alive = keep_alive
        self.tcp_keepidle = tcp_keepidle
        self.error_body = error_body or plain_error_body
        self.pool = GreenPool(pool_size)
        self.requests = 0  # requests answered by the application (a rate's counter)
        self.stopping = False
        self._sock = sock
        self._accept_thread = None
        self._connections: set[_Connection] = set()
        # While the accept loop waits for a connection to end or to have no request in
        # progress (the pool is full of requests in progress): the Event it waits on.
        self._room: Event | None = None
        self._stopped = Event()
        self.base_environ: dict[str, Any] = {
            "SCRIPT_NAME": "",
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": url_scheme,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_TYPE": "",
        }

    @property
    def address(self) -> tuple[str, int]:
        """The ``(host, port)`` the server listens on (the real port once started)."""
        return self.host, self.port

    def start(self) -> Server:
        """Bind (unless given a socket), listen and start accepting in a greenthread.

        Returns at once; the port actually bound is in ``self.port``. Raises ``OSError``
        when the address is taken.
        """
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            self._sock = green_io.listen((self.host, self.port), backlog=self.backlog,
                                         family=family)
            if self.tcp_keepidle is not None and hasattr(socket, "TCP_KEEPIDLE"):
                # Accepted connections inherit both from the listening socket.
                self._sock.fd.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                self._sock.fd.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE,
                                         self.tcp_keepidle)
        self.host, self.port = self._sock.getsockname()[:2]
        self.base_environ["SERVER_PORT"] = str(self.port)
        self._accept_thread = spawn(self._accept_loop)
        return self

    def _accept_loop(self) -> None:
        listener = self._sock
        spawn_n = self.pool.spawn_n
        try:
            while not self.stopping:
                try:
                    conn, address = listener.accept()
                except OSError as error:
                    if self.stopping:
                        break
                    # Out of descriptors (EMFILE) or a transient error: do not spin. One
                    # line, no traceback: a flood of them says nothing a line does not.
                    LOG.error("accept() failed (%s); the server goes on", error)
                    sleep(0.05)
                    continue
                if self.stopping:
                    conn.close()
                    break
                if address and isinstance(address, tuple):
                    conn.fd.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                else:
                    address = ("", 0)
                conn.settimeout(self.client_socket_timeout)
                if not self.pool.free():
                    self._make_room()
                spawn_n(self._serve, conn, address)
        except GreenletExit:
            pass
        finally:
            self._stopped.send(True) if not self._stopped.ready() else None

    def _make_room(self) -> None:
        """The pool is full and a connection waits: close the connection idle the
        longest, else the one reading its head the longest. When every connection has a
        request in progress, wait until one ends or finishes its request, and try again."""
        while not self.pool.free():
            idle = head = None
            for connection in self._connections:
                if connection.busy:
                    continue
                if connection.idle_since is not None:
                    if idle is None or connection.idle_since < idle.idle_since:
                        idle = connection
                elif head is None or connection.head_since < head.head_since:
                    head = connection
            victim = idle or head
            if victim is None:
                self._room = Event()
                try:
                    self._room.wait()
                finally:
                    self._room = None
                continue
            LOG.debug("connection pool full: closing %s connection from %s",
                      "an idle" if victim is idle else "a head-reading", victim.address)
            kill(victim.greenlet)

    def _make_room_wake(self) -> None:
        """A connection ended or finished its request: wake ``_make_room`` if waiting."""
        room = self._room
        if room is not None:
            self._room = None
            room.send(True)

    def _serve(self, conn: green_io.GreenSocket, address: Any) -> None:
        connection = _Connection(self, conn, address)
        self._connections.add(connection)
        connection.serve()

    def wait(self) -> None:
        """Block until the server has stopped accepting (after ``stop()``)."""
        self._stopped.wait()

    def serve_forever(self) -> None:
        """``start()`` then block until ``stop()`` is called from another greenthread."""
        if self._accept_thread is None:
            self.start()
        self.wait()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop gracefully: refuse new connections, close those without a request in
        progress (idle, or still reading a head), finish the requests in progress.

        Requests in progress (head complete) finish and get their response (with
        ``Connection: close``). Returns when every connection is closed or, after
        ``timeout`` seconds, kills the remaining connection greenthreads.
        """
        if self.stopping:
            return
        self.stopping = True
        if self._accept_thread is not None:
            kill(self._accept_thread)
        if self._sock is not None:
            self._sock.close()
        for connection in list(self._connections):
            # Re-check: killing one connection lets others run (and maybe end) before
            # we get here, and a finished connection's greenlet serves other tasks now.
            if connection in self._connections and not connection.busy:
                kill(connection.greenlet)
        from nova_sim.green.timeout import Timeout

        try:
            with Timeout(timeout):
                self.pool.waitall()
        except Timeout:
            for connection in list(self._connections):
                if connection in self._connections:
                    kill(connection.greenlet)
            self.pool.waitall()
        if not self._stopped.ready():
            self._stopped.send(True)


def server(sock: green_io.GreenSocket, app: Callable, **kwargs: Any) -> None:
    """eventlet.wsgi-style entry point: serve ``app`` on listening ``sock`` until killed."""
    Server(app, sock=sock, **kwargs).serve_forever()
