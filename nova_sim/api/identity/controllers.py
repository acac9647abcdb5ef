"""The ``/identity/v3`` routes: tokens, catalog, projects, users, roles, assignments.

Owns Keystone's request and response shapes for the subset nova-sim serves: ``POST
/v3/auth/tokens`` (methods ``password`` and ``token``, project scope or none; 201 with
``X-Subject-Token``), ``GET``/``HEAD``/``DELETE /v3/auth/tokens`` (``X-Subject-Token``),
``GET /v3/auth/projects``, ``GET /v3/auth/catalog``, domains (the one ``default``),
projects, users and roles (list with ``name=``, show, create, delete), project role grants
and ``GET /v3/role_assignments``. Errors are Keystone's ``{"error": {"code", "message",
"title"}}``. Policy: reading one's own token, user and projects needs a valid token; the
rest needs the admin role. The catalog lists ``identity``, ``compute`` (``/v2.1``),
``image``, ``network`` and ``block-storage`` (``/volume/v3``) with public, internal and
admin endpoints in ``[identity] region_name``. Must not know about the compute service.
"""

from __future__ import annotations

import datetime
from typing import Any

from nova_sim.api import faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.identity.store import (
    DOMAIN_ID,
    DOMAIN_NAME,
    IdentityError,
    IdentityStore,
    Project,
    Token,
    User,
    stable_id,
)

_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 415: "Unsupported Media Type"}

# (type, name, path below the API's base URL)
SERVICES = (("identity", "keystone", "/identity"), ("compute", "nova", "/v2.1"),
            ("image", "glance", "/image"), ("network", "neutron", "/network"),
            ("block-storage", "cinder", "/volume/v3"))
INTERFACES = ("public", "internal", "admin")


def error_reply(code: int, message: str) -> Reply:
    """Keystone's error body for ``code``."""
    title = _TITLES.get(code, "Internal Server Error")
    return Reply(code, {"error": {"code": code, "message": message, "title": title}})


def register(router: Router, store: IdentityStore, region: str) -> None:
    """Add the identity routes (paths relative to ``/identity/v3``) to ``router``."""
    handlers = _Handlers(store, region)
    router.add("POST", "/auth/tokens", handlers.issue_token)
    router.add("GET", "/auth/tokens", handlers.validate_token)
    router.add("DELETE", "/auth/tokens", handlers.revoke_token)
    router.add("GET", "/auth/projects", handlers.auth_projects)
    router.add("GET", "/auth/catalog", handlers.auth_catalog)
    router.add("GET", "/domains", handlers.list_domains)
    router.add("GET", "/domains/{domain_id}", handlers.show_domain)
    for kind in ("project", "user", "role"):
        router.add("GET", f"/{kind}s", handlers.lister(kind))
        router.add("POST", f"/{kind}s", handlers.creator(kind))
        router.add("GET", f"/{kind}s/{{ident}}", handlers.shower(kind))
        router.add("DELETE", f"/{kind}s/{{ident}}", handlers.deleter(kind))
    router.add("GET", "/users/{ident}/projects", handlers.user_projects)
    grant = "/projects/{project_id}/users/{user_id}/roles/{role_id}"
    router.add("PUT", grant, handlers.grant)
    router.add("HEAD", grant, handlers.check_grant)
    router.add("GET", grant, handlers.check_grant)
    router.add("DELETE", grant, handlers.revoke_grant)
    router.add("GET", "/projects/{project_id}/users/{user_id}/roles", handlers.list_grants)
    router.add("GET", "/role_assignments", handlers.role_assignments)


def _time(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _domain() -> dict[str, Any]:
    return {"id": DOMAIN_ID, "name": DOMAIN_NAME}


def _link(request: APIRequest, path: str) -> dict[str, str]:
    return {"self": f"{request.base_url}/identity/v3{path}"}


def _user_view(request: APIRequest, user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "domain_id": DOMAIN_ID, "enabled": user.enabled,
            "default_project_id": user.default_project_id, "password_expires_at": None,
            "options": {}, "links": _link(request, f"/users/{user.id}")}


def _project_view(request: APIRequest, project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "description": project.description,
            "domain_id": DOMAIN_ID, "parent_id": DOMAIN_ID, "enabled": project.enabled,
            "is_domain": False, "tags": [], "options": {},
            "links": _link(request, f"/projects/{project.id}")}


def _role_view(request: APIRequest, role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "domain_id": None, "description": None,
            "options": {}, "links": _link(request, f"/roles/{role.id}")}


def _body(request: APIRequest) -> dict[str, Any]:
    try:
        body = request.json_body()
    except faults.Fault as fault:
        raise IdentityError(400, fault.message)
    if not isinstance(body, dict):
        raise IdentityError(400, "The request body must be a JSON object.")
    return body


def _obj(parent: Any, key: str, required: bool = True) -> Any:
    value = parent.get(key) if isinstance(parent, dict) else None
    if value is None and required:
        raise IdentityError(400, f"Invalid input for field '{key}': it is required.")
    return value


class _Handlers:
    def __init__(self, store: IdentityStore, region: str):
        self.store = store
        self.region = region

    # -- who is asking -----------------------------------------------------------------
    def caller(self, request: APIRequest) -> Token:
        token = self.store.validate(request.webob.headers.get("X-Auth-Token", "").strip())
        if token is None:
            raise IdentityError(401, "The request you have made requires authentication.")
        return token

    def is_admin(self, token: Token) -> bool:
        return "admin" in self.store.role_names(token)

    def require_admin(self, request: APIRequest) -> Token:
        token = self.caller(request)
        if not self.is_admin(token):
            raise IdentityError(403, "You are not authorized to perform the requested "
                                     "action.")
        return token

    # -- tokens --------------------------------------------------------------------------
    def _find_user(self, spec: dict) -> User | None:
        if "id" in spec:
            return self.store.users.get(str(spec["id"]))
        if "name" in spec:
            domain = spec.get("domain") or {}
            if domain and domain.get("id", DOMAIN_ID) != DOMAIN_ID and \
                    domain.get("name", DOMAIN_NAME) != DOMAIN_NAME:
                return None
            return self.store.find_user(str(spec["name"]))
        raise IdentityError(400, "Invalid input for field 'user': id or name is required.")

    def _find_scope(self, auth: dict) -> Project | None:
        scope = auth.get("scope")
        if not scope:
            return None
        if not isinstance(scope, dict) or "project" not in scope:
            raise IdentityError(400, "Only project scope is supported.")
        spec = scope["project"]
        if not isinstance(spec, dict):
            raise IdentityError(400, "Invalid input for field 'project'.")
        if "id" in spec:
            project = self.store.projects.get(str(spec["id"]))
        elif "name" in spec:
            project = self.store.find_project(str(spec["name"]))
        else:
            raise IdentityError(400, "Invalid input for field 'project': id or name is "
                                     "required.")
        if project is None:
            raise IdentityError(401, "The request you have made requires authentication.")
        return project

    def issue_token(self, request: APIRequest) -> Reply:
        """``POST /v3/auth/tokens``: authenticate and issue a token (201)."""
        auth = _obj(_body(request), "auth")
        identity = _obj(auth, "identity")
        methods = _obj(identity, "methods")
        if not isinstance(methods, list) or not methods:
            raise IdentityError(400, "Invalid input for field 'methods'.")
        project = self._find_scope(auth)
        expires_at = None
        if "password" in methods:
            spec = _obj(_obj(identity, "password"), "user")
            user = self.store.authenticate_password(self._find_user(spec),
                                                    str(spec.get("password", "")))
        elif "token" in methods:
            old = self.store.validate(str(_obj(_obj(identity, "token"), "id")))
            if old is None:
                raise IdentityError(401, "The request you have made requires "
                                         "authentication.")
            user = self.store.users[old.user_id]
            expires_at = old.expires_at
        else:
            raise IdentityError(401, f"Unsupported authentication method: {methods[0]}.")
        token = self.store.issue(user, project, [str(m) for m in methods], expires_at)
        return Reply(201, self.token_body(request, token),
                     [("X-Subject-Token", token.id)])

    def token_body(self, request: APIRequest, token: Token) -> dict[str, Any]:
        """The ``{"token": ...}`` document of ``token``."""
        user = self.store.users[token.user_id]
        body: dict[str, Any] = {
            "methods": token.methods,
            "user": {"id": user.id, "name": user.name, "domain": _domain(),
                     "password_expires_at": None},
            "audit_ids": [token.audit_id],
            "issued_at": _time(token.issued_at),
            "expires_at": _time(token.expires_at),
        }
        if token.project_id is not None:
            project = self.store.projects[token.project_id]
            body["project"] = {"id": project.id, "name": project.name, "domain": _domain()}
            body["is_domain"] = False
            body["roles"] = [{"id": r, "name": self.store.roles[r].name}
                             for r in token.role_ids]
            body["catalog"] = self.catalog(request)
        return {"token": body}

    def catalog(self, request: APIRequest) -> list[dict[str, Any]]:
        """The service catalog, with URLs under the API's base URL."""
        entries = []
        for kind, name, path in SERVICES:
            endpoints = [{"id": stable_id("endpoint", f"{kind}:{interface}"),
                          "interface": interface, "region": self.region,
                          "region_id": self.region, "url": request.base_url + path}
                         for interface in INTERFACES]
            entries.append({"id": stable_id("service", kind), "type": kind, "name": name,
                            "endpoints": endpoints})
        return entries

    def _subject(self, request: APIRequest) -> Token:
        caller = self.caller(request)
        subject_id = request.webob.headers.get("X-Subject-Token", "").strip()
        if not subject_id:
            raise IdentityError(400, "Invalid input for field 'X-Subject-Token': it is "
                                     "required.")
        subject = self.store.validate(subject_id)
        if subject is None:
            raise IdentityError(404, f"Could not find token: {subject_id}.")
        if subject.user_id != caller.user_id and not self.is_admin(caller):
            raise IdentityError(403, "You are not authorized to perform the requested "
                                     "action.")
        return subject

    def validate_token(self, request: APIRequest) -> Reply:
        """``GET``/``HEAD /v3/auth/tokens``: the subject token's document (404 if dead)."""
        subject = self._subject(request)
        return Reply(200, self.token_body(request, subject),
                     [("X-Subject-Token", subject.id)])

    def revoke_token(self, request: APIRequest) -> Reply:
        """``DELETE /v3/auth/tokens``: revoke the subject token (204)."""
        self.store.revoke(self._subject(request).id)
        return Reply(204)

    def auth_projects(self, request: APIRequest) -> Reply:
        """``GET /v3/auth/projects``: the projects the caller has a role on."""
        return self._projects_of(request, self.caller(request).user_id)

    def auth_catalog(self, request: APIRequest) -> Reply:
        """``GET /v3/auth/catalog``: the catalog of a scoped token."""
        self.caller(request)
        return Reply(200, {"catalog": self.catalog(request),
                           "links": _link(request, "/auth/catalog")})

    def _projects_of(self, request: APIRequest, user_id: str) -> Reply:
        ids = {p for u, p, _r in self.store.assignments if u == user_id}
        projects = [self.store.projects[p] for p in sorted(ids) if p in self.store.projects]
        return Reply(200, {"projects": [_project_view(request, p) for p in projects],
                           "links": {**_link(request, "/auth/projects"), "previous": None,
                                     "next": None}})

    # -- domains -------------------------------------------------------------------------
    def list_domains(self, request: APIRequest) -> Reply:
        """``GET /v3/domains``: the one domain."""
        self.caller(request)
        return Reply(200, {"domains": [self._domain_view(request)],
                           "links": {**_link(request, "/domains"), "previous": None,
                                     "next": None}})

    def show_domain(self, request: APIRequest, domain_id: str) -> Reply:
        """``GET /v3/domains/{id}``: the domain ``default`` (404 for any other)."""
        self.caller(request)
        if domain_id != DOMAIN_ID:
            raise IdentityError(404, f"Could not find domain: {domain_id}.")
        return Reply(200, {"domain": self._domain_view(request)})

    @staticmethod
    def _domain_view(request: APIRequest) -> dict[str, Any]:
        return {**_domain(), "description": "The default domain", "enabled": True,
                "tags": [], "options": {}, "links": _link(request, f"/domains/{DOMAIN_ID}")}

    # -- projects, users, roles ------------------------------------------------------------
    def _view(self, kind: str):
        return {"user": _user_view, "project": _project_view, "role": _role_view}[kind]

    def _table(self, kind: str) -> dict:
        return {"user": self.store.users, "project": self.store.projects,
                "role": self.store.roles}[kind]

    def lister(self, kind: str):
        def handler(request: APIRequest) -> Reply:
            """``GET /v3/<kind>s`` (admin; ``name=`` filters)."""
            caller = self.caller(request)
            items = list(self._table(kind).values())
            if kind != "role" and not self.is_admin(caller):
                raise IdentityError(403, "You are not authorized to perform the requested "
                                         "action.")
            name = request.param("name")
            if name is not None:
                items = [i for i in items if i.name == name]
            view = self._view(kind)
            return Reply(200, {f"{kind}s": [view(request, i) for i in items],
                               "links": {**_link(request, f"/{kind}s"), "previous": None,
                                         "next": None}})
        return handler

    def shower(self, kind: str):
        def handler(request: APIRequest, ident: str) -> Reply:
            """``GET /v3/<kind>s/{id}`` (admin, or one's own user and projects)."""
            caller = self.caller(request)
            item = self._get(kind, ident)
            own = (kind == "user" and ident == caller.user_id) or (
                kind == "project" and ident == caller.project_id)
            if not own and kind != "role" and not self.is_admin(caller):
                raise IdentityError(403, "You are not authorized to perform the requested "
                                         "action.")
            return Reply(200, {kind: self._view(kind)(request, item)})
        return handler

    def _get(self, kind: str, ident: str):
        try:
            return self.store.get(kind, ident)
        except IdentityError:
            raise IdentityError(404, f"Could not find {kind}: {ident}.")

    def creator(self, kind: str):
        def handler(request: APIRequest) -> Reply:
            """``POST /v3/<kind>s`` (admin): 201 with the new item."""
            self.require_admin(request)
            spec = _obj(_body(request), kind)
            name = spec.get("name") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name.strip() or len(name) > 255:
                raise IdentityError(400, "Invalid input for field 'name'.")
            enabled = spec.get("enabled", True)
            if not isinstance(enabled, bool):
                raise IdentityError(400, "Invalid input for field 'enabled'.")
            if kind == "user":
                default_project = spec.get("default_project_id")
                item = self.store.create_user(name, str(spec.get("password") or ""),
                                              default_project, enabled)
            elif kind == "project":
                item = self.store.create_project(name, str(spec.get("description") or ""),
                                                 enabled)
            else:
                item = self.store.create_role(name)
            return Reply(201, {kind: self._view(kind)(request, item)})
        return handler

    def deleter(self, kind: str):
        def handler(request: APIRequest, ident: str) -> Reply:
            """``DELETE /v3/<kind>s/{id}`` (admin): 204."""
            self.require_admin(request)
            self._get(kind, ident)
            self.store.delete(kind, ident)
            return Reply(204)
        return handler

    def user_projects(self, request: APIRequest, ident: str) -> Reply:
        """``GET /v3/users/{id}/projects`` (the user themself or an admin)."""
        caller = self.caller(request)
        self._get("user", ident)
        if ident != caller.user_id and not self.is_admin(caller):
            raise IdentityError(403, "You are not authorized to perform the requested "
                                     "action.")
        return self._projects_of(request, ident)

    # -- grants ----------------------------------------------------------------------------
    def grant(self, request: APIRequest, project_id: str, user_id: str,
              role_id: str) -> Reply:
        """``PUT /v3/projects/{p}/users/{u}/roles/{r}`` (admin): 204."""
        self.require_admin(request)
        self.store.assign(user_id, project_id, role_id)
        return Reply(204)

    def check_grant(self, request: APIRequest, project_id: str, user_id: str,
                    role_id: str) -> Reply:
        """``HEAD``/``GET`` of a grant (admin): 204 when it exists, else 404."""
        self.require_admin(request)
        if (user_id, project_id, role_id) not in self.store.assignments:
            raise IdentityError(404, f"Could not find role assignment of role {role_id} to "
                                     f"user {user_id} on project {project_id}.")
        return Reply(204)

    def revoke_grant(self, request: APIRequest, project_id: str, user_id: str,
                     role_id: str) -> Reply:
        """``DELETE /v3/projects/{p}/users/{u}/roles/{r}`` (admin): 204."""
        self.require_admin(request)
        self.store.unassign(user_id, project_id, role_id)
        return Reply(204)

    def list_grants(self, request: APIRequest, project_id: str, user_id: str) -> Reply:
        """``GET /v3/projects/{p}/users/{u}/roles`` (admin): the roles granted directly."""
        self.require_admin(request)
        self._get("project", project_id), self._get("user", user_id)
        roles = [self.store.roles[r] for u, p, r in sorted(self.store.assignments)
                 if u == user_id and p == project_id]
        return Reply(200, {"roles": [_role_view(request, r) for r in roles],
                           "links": {**_link(request, f"/projects/{project_id}/users/"
                                                      f"{user_id}/roles"),
                                     "previous": None, "next": None}})

    def role_assignments(self, request: APIRequest) -> Reply:
        """``GET /v3/role_assignments`` (admin): filters ``user.id``,
        ``scope.project.id``, ``role.id``; ``include_names`` adds the names."""
        self.require_admin(request)
        wanted = {0: request.param("user.id"), 1: request.param("scope.project.id"),
                  2: request.param("role.id")}
        names = request.param("include_names") not in (None, "0", "false", "False")
        result = []
        for assignment in sorted(self.store.assignments):
            if any(value is not None and assignment[i] != value
                   for i, value in wanted.items()):
                continue
            user_id, project_id, role_id = assignment
            entry = {"user": {"id": user_id}, "scope": {"project": {"id": project_id}},
                     "role": {"id": role_id},
                     "links": {"assignment": f"{request.base_url}/identity/v3/projects/"
                                             f"{project_id}/users/{user_id}/roles/{role_id}"}}
            if names:
                entry["user"].update(name=self.store.users[user_id].name, domain=_domain())
                entry["scope"]["project"].update(name=self.store.projects[project_id].name,
                                                 domain=_domain())
                entry["role"]["name"] = self.store.roles[role_id].name
            result.append(entry)
        return Reply(200, {"role_assignments": result,
                           "links": {**_link(request, "/role_assignments"), "previous": None,
                                     "next": None}})
