"""The compute API as one WSGI application (WebOb requests and responses).

Owns the request pipeline every call goes through, in order:

1. a request id (``req-<uuid>``) and a ``wsgi.request`` trace span;
2. routing by path prefix: ``/`` (versions), ``/v2.1`` (compute), ``/image``,
   ``/network`` and ``/volume`` (the minimal image, network and block-storage services
   the clients need) and
   ``/identity`` (the identity v3 version documents; under ``auth_strategy = keystone``
   also the Keystone v3 subset of ``nova_sim.api.identity``, with Keystone's error
   bodies);
3. for everything but the version documents: authentication (``nova_sim.api.auth``),
   then for compute the microversion (``nova_sim.api.microversion``);
4. the route table: a path that matches nothing is a 404, a known path with another method
   a 405 (with ``Allow``);
5. the controller; whatever it raises becomes a Nova fault body (``nova_sim.api.faults``),
   so bad input never gives a traceback.

Every response carries ``x-openstack-request-id`` and ``x-compute-request-id``; compute
responses carry the microversion headers. Controllers live in their own modules and talk
to the compute service through ``compute_api`` (``nova_sim.compute.api.API`` or a
stand-in with the same methods). Must not know about sockets or the green WSGI server.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from typing import Any, Callable
from urllib.parse import quote

import webob

from nova_sim import context as nova_context
from nova_sim import trace
from nova_sim.api import auth, faults, microversion
from nova_sim.green.costs import hooks as costs

LOG = logging.getLogger(__name__)
REQUEST_LOG = logging.getLogger("nova_sim.api.requestlog")

JSON_TYPE = "application/json"
_JSON_CT = ("Content-Type", JSON_TYPE)


class Reply:
    """What a controller returns: a status, a JSON-able body (or None) and extra headers."""

    __slots__ = ("code", "body", "headers")

    def __init__(self, code: int, body: Any = None, headers: list[tuple[str, str]] | None = None):
        self.code = code
        self.body = body
        self.headers = headers or []


class APIRequest:
    """One request as the controllers see it.

    ``context`` is the caller's RequestContext, ``version`` the microversion (compute
    requests), ``params`` the query parameters (a WebOb MultiDict), ``base_url`` the host
    URL used in links, ``api`` the application (``compute_api``, ``conf``...).
    """

    __slots__ = ("webob", "api", "context", "version", "params", "base_url", "path",
                 "request_id")

    def __init__(self, webob_request: webob.Request, api: APIApplication, path: str):
        self.webob = webob_request
        self.api = api
        self.path = path
        self.request_id: str | None = None
        self.context: nova_context.RequestContext | None = None
        self.version = microversion.DEFAULT_VERSION
        try:
            self.params = webob_request.GET
        except UnicodeDecodeError:
            raise faults.BadRequest("The query string is not valid UTF-8.")
        check_storable_params(self.params)
        self.base_url = api.link_prefix or webob_request.host_url

    @property
    def is_admin(self) -> bool:
        return bool(self.context is not None and self.context.is_admin)

    def require_admin(self, action: str) -> None:
        """403 unless the caller is an admin (Nova's default policy for ``action``)."""
        if not self.is_admin:
            raise faults.Forbidden(f"Policy doesn't allow {action} to be performed.")

    def param(self, name: str) -> str | None:
        """The last value of query parameter ``name`` (None when absent)."""
        values = self.params.getall(name)
        return values[-1] if values else None

    def json_body(self) -> Any:
        """The request body parsed as JSON.

        400 when it is empty or not JSON, 415 when a Content-Type other than JSON was
        declared.
        """
        content_type = self.webob.content_type
        if content_type and "json" not in content_type:
            raise faults.UnsupportedMediaType(f"Unsupported Content-Type: {content_type}")
        raw = self.webob.body
        if not raw or not raw.strip():
            raise faults.BadRequest("The request body is empty: a JSON object was expected.")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as error:
            raise faults.BadRequest(f"Malformed request body: {error}")
        _check_storable(body, "body")
        return body


Handler = Callable[..., Reply]

# Characters no supported database stores in a text column: UTF-16 surrogates (JSON's
# "\ud800" escapes decode to lone ones, which UTF-8 cannot encode) and NUL (PostgreSQL).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_storable(value: Any, field: str) -> None:
    """400 (Nova's fault body) when any string in the parsed JSON ``value``, key or
    value, holds a character the database cannot store; ``field`` names the innermost
    key for the message. Iterative: nesting depth costs no stack."""
    stack = [(value, field)]
    while stack:
        item, name = stack.pop()
        if isinstance(item, str):
            found = _UNSTORABLE.search(item)
            if found:
                raise faults.BadRequest(
                    f"Invalid input for field/attribute {name}. Value: {item[:64]!r}. It "
                    f"holds {found.group()!r} at position {found.start()}, a character "
                    "that cannot be stored (a lone surrogate or NUL).")
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, name))
                stack.append((child, key))
        elif isinstance(item, list):
            stack.extend((child, name) for child in item)


def check_storable_params(params: Any) -> None:
    """400 when a query parameter (name or value) holds NUL, which no database stores
    (query strings are decoded from UTF-8, so they hold no surrogates)."""
    for key, value in params.items():
        if "\x00" in key or "\x00" in value:
            raise faults.BadRequest(f"Invalid input for query parameter {key[:64]!r}: it "
                                    "holds NUL, a character that cannot be stored.")


class Router:
    """A table of path templates (``/servers/{id}``) to handlers per method."""

    def __init__(self):
        self._routes: list[tuple[re.Pattern, dict[str, Handler]]] = []
        self._by_template: dict[str, dict[str, Handler]] = {}

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Route ``method template`` to ``handler(request, **path_params)``."""
        methods = self._by_template.get(template)
        if methods is None:
            methods = {}
            self._by_template[template] = methods
            pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
            self._routes.append((re.compile("^" + pattern + "/?$"), methods))
        methods[method] = handler

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and path parameters; raises 404 or 405 faults."""
        for pattern, methods in self._routes:
            found = pattern.match(path)
            if found is None:
                continue
            handler = methods.get(method)
            if handler is None and method == "HEAD":
                handler = methods.get("GET")
            if handler is None:
                allowed = ", ".join(sorted(methods))
                raise faults.MethodNotAllowed(headers=[("Allow", allowed)])
            return handler, found.groupdict()
        raise faults.NotFound()


class APIApplication:
    """The WSGI application of the compute API (plus ``/image`` and ``/network``).

    ``compute_api`` is the compute service's API object; ``conf`` a nova-sim ConfigOpts
    (``[api] auth_strategy``, ``max_limit``, ``compute_link_prefix``).
    """

    def __init__(self, compute_api: Any, conf: Any = None):
        if conf is None:
            from nova_sim import conf as nova_conf

            conf = nova_conf.CONF
        self.compute_api = compute_api
        self.conf = conf
        self.auth_strategy = conf.api.auth_strategy
        if self.auth_strategy not in auth.STRATEGIES:
            raise ValueError(f"[api] auth_strategy {self.auth_strategy!r} is not one of "
                             f"{', '.join(auth.STRATEGIES)}")
        self.max_limit = conf.api.max_limit
        self.default_availability_zone = conf.default_availability_zone
        prefix = conf.api.compute_link_prefix
        self.link_prefix = prefix.rstrip("/") if prefix else None
        self.compute = Router()
        self.image = Router()
        self.network = Router()
        self.volume = Router()
        from nova_sim.api import (
            aggregates,
            availability_zones,
            extension_info,
            flavor_access,
            flavors,
            flavors_extraspecs,
            floating_ips,
            hosts,
            hypervisors,
            image,
            images,
            keypairs,
            limits,
            migrations,
            network,
            networks,
            quota_sets,
            security_groups,
            server_actions,
            server_details,
            server_groups,
            server_metadata,
            server_tags,
            servers,
            services,
            usage,
            versions,
            volume_attachments,
        )

        self.versions = versions
        for module in (servers, server_actions, server_metadata, flavors, services,
                       hypervisors, availability_zones, limits, keypairs, flavors_extraspecs,
                       flavor_access, server_groups, server_details, extension_info, usage,
                       hosts, quota_sets, images, networks, aggregates, security_groups,
                       server_tags, migrations, floating_ips, volume_attachments):
            module.register(self.compute, self)
        image.register(self.image, self)
        network.register(self.network, self)
        from nova_sim.api import volume

        self.volume_service = volume
        volume.register(self.volume, self)
        self.identity_store = None
        self.identity = Router()
        if self.auth_strategy == auth.KEYSTONE:
            from nova_sim.api.identity import controllers, store

            self.identity_store = store.IdentityStore(
                conf.identity.users, conf.identity.default_password,
                conf.identity.token_expiration)
            controllers.register(self.identity, self.identity_store,
                                 conf.identity.region_name)

    # -- the pipeline -------------------------------------------------------------------
    def __call__(self, environ: dict, start_response) -> list[bytes]:
        # Each request runs in its own copy of the contextvars context, so the request
        # context it makes current (and anything else it sets) never leaks into the next
        # request served by the same connection greenthread.
        return contextvars.copy_context().run(self._call, environ, start_response)

    def _call(self, environ: dict, start_response) -> list[bytes]:
        request_id = nova_context.generate_request_id()
        method = environ.get("REQUEST_METHOD", "GET")
        raw_path = environ.get("PATH_INFO", "")
        charge = costs.api_request
        if charge is not None:  # the API process's CPU for this request
            charge(method, raw_path)
        started = time.perf_counter()
        with trace.span("wsgi.request", method=method, path=raw_path, request_id=request_id):
            code, headers, body = self._handle(environ, method, raw_path, request_id)
        if REQUEST_LOG.isEnabledFor(logging.INFO):
            # Nova's request log line (nova.api.openstack.requestlog), in the request's
            # context bracket.
            query = environ.get("QUERY_STRING")
            version = next((v for k, v in headers if k == microversion.LEGACY_HEADER), "-")
            REQUEST_LOG.info('%s "%s %s" status: %s len: %s microversion: %s time: %.6f',
                             environ.get("REMOTE_ADDR", "-"), method,
                             raw_path + ("?" + query if query else ""), code, len(body),
                             version, time.perf_counter() - started)
        headers.append(("x-openstack-request-id", request_id))
        headers.append(("x-compute-request-id", request_id))
        if method == "HEAD":
            body = b""
        response = webob.Response(
            body=body, status=faults.status_line(code), headerlist=headers,
            content_type=None, charset=None,
        )
        return response(environ, start_response)

    def _handle(self, environ: dict, method: str, raw_path: str, request_id: str):
        version_headers: list[tuple[str, str]] = []
        try:
            try:
                path = raw_path.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                raise faults.BadRequest("The request path is not valid UTF-8.")
            if "\x00" in path:
                raise faults.BadRequest("The request path holds NUL.")
            request = APIRequest(webob.Request(environ), self, path)
            request.request_id = request_id
            reply = self._dispatch(request, method, path, version_headers)
        except Exception as error:  # every error is an answer, never a traceback
            code, message, extra = faults.from_exception(error)
            if code == 500:
                LOG.exception("%s %s failed", method, raw_path)
            headers = [_JSON_CT] + extra + version_headers
            return code, headers, faults.fault_body(code, message)
        headers = list(reply.headers) + version_headers
        if reply.body is None:
            return reply.code, headers, b""
        if isinstance(reply.body, bytes):
            return reply.code, headers, reply.body
        headers.insert(0, _JSON_CT)
        return reply.code, headers, json.dumps(reply.body).encode()

    def _dispatch(self, request: APIRequest, method: str, path: str, version_headers: list):
        if path in ("", "/"):
            return self.versions.root(request)
        head, _sep, rest = path[1:].partition("/")
        if head == "v2" and not rest:
            return self.versions.v20(request)
        if head == "v2.1":
            if not rest:
                return self.versions.v21(request)
            self._authenticate(request)
            version = microversion.from_headers(request.webob.headers)
            request.version = version
            version_headers.extend(microversion.response_headers(version))
            rest = self._strip_project_id(request, rest)
            handler, params = self.compute.match(method, "/" + rest)
            if not rest.startswith("os-keypairs"):  # a user's own, whatever the role
                auth.check_role(request.context, method)
            return handler(request, **params)
        if head == "image":
            if not rest:
                return self.versions.image_versions(request)
            self._authenticate(request)
            handler, params = self.image.match(method, "/" + rest)
            return handler(request, **params)
        if head == "identity" and rest.rstrip("/") in ("", "v3"):
            if rest.rstrip("/") == "v3":
                return self.versions.identity_v3(request)
            return self.versions.identity_versions(request)
        if head == "identity" and rest.startswith("v3/") and self.identity_store is not None:
            return self._identity(request, method, rest[2:])
        if head == "volume":
            if not rest.rstrip("/"):
                return self.volume_service.versions(request)
            self._authenticate(request)
            handler, params = self.volume.match(method, "/" + rest.rstrip("/"))
            return handler(request, **params)
        if head == "network":
            if not rest:
                return self.versions.network_versions(request)
            self._authenticate(request)
            handler, params = self.network.match(method, "/" + rest)
            return handler(request, **params)
        raise faults.NotFound()

    def _identity(self, request: APIRequest, method: str, path: str) -> Reply:
        from nova_sim.api.identity import controllers, store

        try:
            handler, params = self.identity.match(method, path)
            return handler(request, **params)
        except store.IdentityError as error:
            return controllers.error_reply(error.code, str(error))
        except faults.Fault as fault:
            return Reply(fault.code, controllers.error_reply(fault.code, fault.message).body,
                         fault.headers)

    def _authenticate(self, request: APIRequest) -> None:
        request.context = auth.authenticate(
            request.webob.headers, self.auth_strategy,
            request_id=request.request_id, identity=self.identity_store,
        )

    _COLLECTIONS = frozenset(
        ["servers", "flavors", "os-services", "os-hypervisors", "os-availability-zone",
         "limits", "os-aggregates", "os-keypairs",
         "os-server-groups", "os-hosts", "os-simple-tenant-usage",
         "os-instance_usage_audit_log", "extensions", "os-quota-sets",
         "os-quota-class-sets", "images", "os-networks", "os-tenant-networks",
         "os-security-groups", "os-security-group-rules", "os-migrations",
         "os-floating-ips", "os-floating-ip-pools"]
    )

    def _strip_project_id(self, request: APIRequest, rest: str) -> str:
        """Accept the old ``/v2.1/{project_id}/servers`` URLs: drop the project id.

        A project id that is not the caller's is a 400, as in Nova.
        """
        first, sep, tail = rest.partition("/")
        if first in self._COLLECTIONS or not sep:
            return rest
        if request.context is not None and first != request.context.project_id:
            if tail.split("/", 1)[0] in self._COLLECTIONS:
                raise faults.BadRequest(
                    f"Malformed request URL: URL's project_id '{quote(first)}' doesn't match "
                    f"Context's project_id '{request.context.project_id}'"
                )
            return rest
        return tail

