"""The dashboard's web side: the WSGI application, its live stream and its listener.

Owns ``Dashboard`` (start it beside a running cloud: ``Dashboard(conf, running).start()``,
or ``start_for(running, conf)`` which also makes the cloud stop it first), the routes
and the server-sent events.

Routes (GET only: anything else is 405; no CORS headers, so a page of another origin
cannot read an answer, and a request whose ``Host`` is not this listener's address, or
that a browser marks as cross-site, is refused with 403):

- ``/`` -> ``/overview``; ``/overview``, ``/messages``, ``/greenthreads``, ``/requests``,
  ``/simulation``: the pages (static files under ``static/``);
- ``/static/<file>``: their script and style;
- ``/api/overview``, ``/api/messages?since=SEQ&request_id=ID``, ``/api/greenthreads``,
  ``/api/requests``, ``/api/requests/<request id>``: JSON (see ``sources``);
- ``/api/events?topics=overview,messages,greenthreads``: server-sent events, one
  ``event: <topic>`` with a JSON ``data:`` line per topic every ``interval`` seconds
  (``messages``: the new records since the last event, only when there are some).

The live stream is shared: one greenthread (the ticker) runs while at least one page
listens, makes each topic's event once per tick and hands the same bytes to every
listener, so twenty open pages cost about what one costs. A listener too slow to take
its events loses the oldest ones. ``stop()`` ends every stream at once (its generator
returns; a stream stuck on a client that does not read is killed after a second) so a
dashboard never holds up a cloud's graceful stop.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
from collections import deque
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs

from nova_sim import green, rpc
from nova_sim.dashboard.messages import MessageLog
from nova_sim.dashboard.sources import Sources
from nova_sim.dashboard.watchdog import HubWatchdog
from nova_sim.green import wsgi

LOG = logging.getLogger(__name__)

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PAGES = ("overview", "messages", "greenthreads", "requests", "simulation")
TOPICS = ("overview", "messages", "greenthreads")
#: Seconds between two events of the live stream.
INTERVAL = 1.0
#: Events a listener may fall behind by before it loses the oldest.
BACKLOG = 32

_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     "connect-src 'self'; frame-ancestors 'none'"),
]
_REASONS = {200: "200 OK", 302: "302 Found", 400: "400 Bad Request", 403: "403 Forbidden",
            404: "404 Not Found", 405: "405 Method Not Allowed"}


def page(name: str, scripts: tuple[str, ...] = ()) -> str:
    """The HTML of page ``name`` (one of ``PAGES``): ``static/page.html`` filled in, with
    ``scripts`` (paths) loaded before the page's own script."""
    with open(os.path.join(STATIC_DIR, "page.html"), encoding="utf-8") as stream:
        template = stream.read()
    if name == "simulation" and not scripts:
        scripts = ("simulation-data.js",)
    tags = "".join(f'  <script src="{path}"></script>\n' for path in scripts)
    return template.replace("{title}", name.capitalize()).replace(
        "{page}", name).replace("{scripts}", tags)


def _json_default(value: Any) -> Any:
    return str(value)


def encode_json(value: Any) -> bytes:
    """``value`` as compact JSON bytes (what JSON cannot hold becomes its text)."""
    return json.dumps(value, default=_json_default, separators=(",", ":")).encode()


def sse_event(topic: str, value: Any) -> bytes:
    """One server-sent event: ``event: topic`` and its JSON on one ``data:`` line."""
    return b"event: " + topic.encode() + b"\ndata: " + encode_json(value) + b"\n\n"


class _Listener:
    """One open stream: the topics it wants and the events waiting for it."""

    __slots__ = ("topics", "queue", "wake")

    def __init__(self, topics: set[str]):
        self.topics = topics
        self.queue: deque[bytes | None] = deque(maxlen=BACKLOG)
        self.wake = green.Event()

    def push(self, data: bytes | None) -> None:
        self.queue.append(data)
        if not self.wake.ready():
            self.wake.send(True)


class Broadcaster:
    """The shared live stream (see the module docstring). ``make(topic, state)``
    returns the event bytes of ``topic`` (or None for nothing new); ``state`` is a dict
    the maker keeps between ticks."""

    def __init__(self, make: Callable[[str, dict], bytes | None],
                 interval: float = INTERVAL):
        self.make = make
        self.interval = interval
        self.listeners: set[_Listener] = set()
        self.closed = False
        self.state: dict[str, Any] = {}
        self._ticker: Any = None

    def subscribe(self, topics: set[str]) -> _Listener:
        listener = _Listener(topics)
        self.listeners.add(listener)
        if self._ticker is None and not self.closed:
            self._ticker = green.spawn(self._run)
        return listener

    def unsubscribe(self, listener: _Listener) -> None:
        self.listeners.discard(listener)

    def tick(self) -> None:
        """Make this tick's events once and hand them to every listener."""
        wanted = set()
        for listener in self.listeners:
            wanted |= listener.topics
        events = {}
        for topic in TOPICS:
            if topic in wanted:
                try:
                    events[topic] = self.make(topic, self.state)
                except Exception:  # noqa: BLE001 - a bad tick must not end the streams
                    LOG.exception("dashboard: making the %s event failed", topic)
        for listener in list(self.listeners):
            for topic, data in events.items():
                if data is not None and topic in listener.topics:
                    listener.push(data)

    def _run(self) -> None:
        try:
            while self.listeners and not self.closed:
                self.tick()
                green.sleep(self.interval)
        finally:
            self._ticker = None

    def close(self) -> None:
        """End every stream now."""
        self.closed = True
        for listener in list(self.listeners):
            listener.push(None)
        if self._ticker is not None:
            green.kill(self._ticker)

    def stream(self, listener: _Listener, first: list[bytes]) -> Iterator[bytes]:
        """The body of one stream: ``first``, then what the ticker hands over, until
        ``close``."""
        try:
            yield b"retry: 2000\n\n" + b"".join(first)
            while not self.closed:
                while not listener.queue:
                    listener.wake.wait()
                    listener.wake.reset()
                data = listener.queue.popleft()
                if data is None:
                    return
                yield data
        finally:
            self.unsubscribe(listener)


class DashboardApp:
    """The WSGI application (see the module docstring)."""

    def __init__(self, sources: Sources, broadcaster: Broadcaster,
                 allowed_hosts: Callable[[], set[str]] | None = None):
        self.sources = sources
        self.broadcaster = broadcaster
        self.allowed_hosts = allowed_hosts

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        if method != "GET":
            return self._reply(start_response, 405, b"only GET\n", "text/plain",
                               [("Allow", "GET")])
        refusal = self._refusal(environ)
        if refusal:
            return self._reply(start_response, 403, refusal.encode() + b"\n", "text/plain")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            return self._route(path, query, start_response)
        except ValueError as error:
            return self._reply(start_response, 400, encode_json({"error": str(error)}),
                               "application/json")

    def _refusal(self, environ: dict) -> str | None:
        """Why a request is refused (None: it is not): a ``Host`` other than this
        listener's (DNS rebinding), or a browser's cross-site fetch."""
        if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            return "cross-site requests are refused"
        if self.allowed_hosts is not None:
            host = environ.get("HTTP_HOST")
            if host is not None and host.lower() not in self.allowed_hosts():
                return f"unknown Host {host!r}: open the dashboard by its own address"
        return None

    def _route(self, path: str, query: dict, start_response: Callable) -> Any:
        if path in ("/", ""):
            return self._reply(start_response, 302, b"", "text/plain",
                               [("Location", "/overview")])
        name = path.strip("/")
        if name in PAGES:
            return self._reply(start_response, 200, page(name).encode(),
                               "text/html; charset=utf-8")
        if path == "/simulation-data.js":  # a static export's data: none on a live cloud
            return self._reply(start_response, 200, b"// no simulation run here\n",
                               "text/javascript; charset=utf-8")
        if path.startswith("/static/"):
            return self._file(start_response, path[len("/static/"):])
        if path == "/api/events":
            return self._events(query, start_response)
        if path.startswith("/api/"):
            value = self._api(path[len("/api/"):], query)
            if value is not None:
                return self._reply(start_response, 200, encode_json(value),
                                   "application/json")
        return self._reply(start_response, 404, encode_json({"error": f"no {path}"}),
                           "application/json")

    def _api(self, name: str, query: dict) -> Any:
        sources = self.sources
        if name == "overview":
            return sources.overview()
        if name == "greenthreads":
            return sources.greenthreads()
        if name == "messages":
            since = int(query.get("since", ["0"])[0])
            request_id = query.get("request_id", [None])[0] or None
            return {"messages": sources.messages.since(since, request_id),
                    "last": sources.messages.last_seq()}
        if name == "requests":
            return sources.requests()
        if name.startswith("requests/"):
            return sources.request(name[len("requests/"):])
        return None

    def _events(self, query: dict, start_response: Callable) -> Any:
        asked = ",".join(query.get("topics", ["overview"])).split(",")
        topics = {topic for topic in asked if topic in TOPICS}
        if not topics:
            raise ValueError(f"topics: one or more of {', '.join(TOPICS)}")
        broadcaster = self.broadcaster
        if broadcaster.closed:
            return self._reply(start_response, 404, b"stopped\n", "text/plain")
        first = []
        for topic in sorted(topics):
            data = broadcaster.make(topic, {}) if topic != "messages" else None
            if data is not None:
                first.append(data)
        listener = broadcaster.subscribe(topics)
        start_response("200 OK", [("Content-Type", "text/event-stream"),
                                  ("Cache-Control", "no-cache"), *_SECURITY_HEADERS])
        return broadcaster.stream(listener, first)

    def _file(self, start_response: Callable, name: str) -> Any:
        path = os.path.normpath(os.path.join(STATIC_DIR, name))
        if not path.startswith(STATIC_DIR + os.sep) or not os.path.isfile(path):
            return self._reply(start_response, 404, b"not found\n", "text/plain")
        with open(path, "rb") as stream:
            body = stream.read()
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind == "application/javascript":
            kind += "; charset=utf-8"
        return self._reply(start_response, 200, body, kind)

    @staticmethod
    def _reply(start_response: Callable, code: int, body: bytes, kind: str,
               extra: list | None = None) -> list[bytes]:
        headers = [("Content-Type", kind), ("Content-Length", str(len(body))),
                   ("Cache-Control", "no-store"), *_SECURITY_HEADERS, *(extra or [])]
        start_response(_REASONS[code], headers)
        return [body]


def _maker(sources: Sources) -> Callable[[str, dict], bytes | None]:
    """The broadcaster's event maker for ``sources``."""

    def make(topic: str, state: dict) -> bytes | None:
        if topic == "overview":
            sources.sample()
            return sse_event("overview", sources.overview())
        if topic == "greenthreads":
            return sse_event("greenthreads", sources.greenthreads())
        last = state.get("messages_seq")
        if last is None:  # a stream's first tick: start from now
            state["messages_seq"] = sources.messages.last_seq()
            return None
        records = sources.messages.since(last)
        if not records:
            return None
        state["messages_seq"] = records[-1]["seq"]
        return sse_event("messages", {"messages": records})

    return make


class Dashboard:
    """The dashboard of a running cloud (``running``: a started ``Cloud``, or the
    ``ProcessService`` of ``nova-sim api``) on ``[dashboard] host`` / ``port`` (or
    ``host`` / ``port`` given here; port 0: any free port).

    ``start()`` installs the RPC instrument, starts the blocking detector
    (``watchdog``) and listens (``OSError`` when the address is
    taken); ``stop()`` ends the streams and the listener at once; ``url`` is where to
    open it."""

    def __init__(self, conf: Any, running: Any, host: str | None = None,
                 port: int | None = None, interval: float = INTERVAL):
        self.conf = conf
        self.host = host if host is not None else conf.dashboard.host
        self.port = int(port if port is not None else conf.dashboard.port)
        self.messages = MessageLog()
        self.sources = Sources.of(running, conf, self.messages)
        self.broadcaster = Broadcaster(_maker(self.sources), interval)
        self.sources.owners[id(self.broadcaster)] = "dashboard"
        self.app = DashboardApp(self.sources, self.broadcaster, self._allowed_hosts)
        self.watchdog = HubWatchdog(self.sources.hub)
        self.sources.blocking_reports = self.watchdog.reports
        self.server: wsgi.Server | None = None

    @property
    def url(self) -> str:
        """``http://host:port/`` (the real port once started)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def _allowed_hosts(self) -> set[str]:
        port = self.port
        names = {self.host, "127.0.0.1", "localhost", "[::1]"}
        return {f"{name}:{port}".lower() for name in names} | {
            name.lower() for name in names}

    def start(self) -> Dashboard:
        rpc.add_instrument(self.messages)
        try:
            self.server = wsgi.Server(self.app, self.host, self.port, pool_size=100,
                                      client_socket_timeout=60.0).start()
        except BaseException:
            rpc.remove_instrument(self.messages)
            raise
        self.port = self.server.port
        self.sources.servers.append(("dashboard", self.server))
        self.watchdog.start()
        LOG.info("Dashboard listening on %s", self.url)
        return self

    def stop(self) -> None:
        """End every live stream and stop listening, at once (a stream stuck on a
        client that does not read is killed after a second)."""
        rpc.remove_instrument(self.messages)
        self.watchdog.stop()
        self.broadcaster.close()
        if self.server is not None:
            self.server.stop(timeout=1.0)


def start_for(running: Any, conf: Any) -> tuple[Dashboard | None, str | None]:
    """Start the dashboard beside ``running`` (a started ``Cloud`` or ``nova-sim api``
    ``ProcessService``, which then stops it first) when ``[dashboard] enabled``.

    Returns ``(dashboard, None)``, or ``(None, why)`` when it is off or its address
    cannot be bound (the cloud runs on without it: a warning is logged)."""
    if not conf.dashboard.enabled:
        return None, "off ([dashboard] enabled = true turns it on)"
    dashboard = Dashboard(conf, running)
    try:
        dashboard.start()
    except OSError as error:
        why = (f"not started: cannot listen on {conf.dashboard.host}:"
               f"{conf.dashboard.port} ({error.strerror or error}; set [dashboard] port)")
        LOG.warning("Dashboard %s", why)
        return None, why
    running.companions.append(dashboard)
    return dashboard, None
