"""The identity service's state: users, projects, roles, assignments and tokens.

Owns everything Keystone would keep in its database, in memory: one domain
(``default``), the users, projects and roles of ``[identity] users`` (ids derived from the
names, so they are the same on every start), role assignments on projects, Keystone's
default implied roles (admin -> manager -> member -> reader) and the tokens. Passwords are
kept as salted PBKDF2-HMAC-SHA256 hashes and compared in constant time (the users of the
configuration share one hash of ``[identity] default_password``, made once per process;
a user created through the API gets a salt of their own; a verified pair of password and
hash is remembered, so a password is hashed once per process, not on every login). Tokens are opaque
random strings that expire ``[identity] token_expiration`` seconds after they are issued
and can be revoked. Errors are ``IdentityError`` with Keystone's status code. Must not
know about HTTP.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from functools import lru_cache

DOMAIN_ID = "default"
DOMAIN_NAME = "Default"
_NAMESPACE = uuid.UUID("5b1e0c5e-4d9f-4b55-9a62-6f1f3c7e8a10")
_ITERATIONS = 60_000

# Keystone's default role implications: a role brings the ones below it.
IMPLIED_ROLES = {"admin": ["manager"], "manager": ["member"], "member": ["reader"]}


class IdentityError(Exception):
    """An identity request that fails: ``code`` is the HTTP status (400, 401, 403, 404,
    409), ``str(error)`` the message."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


def stable_id(kind: str, name: str) -> str:
    """The id of the ``kind`` (user, project, role) called ``name``: a uuid hex derived
    from the name."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{name}").hex


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` of ``password`` (a new salt if none)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return "$".join(["pbkdf2_sha256", str(_ITERATIONS), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


@lru_cache(maxsize=8)
def _shared_hash(password: str) -> str:
    """One hash of ``password`` for all the users of the configuration."""
    return hash_password(password)


@lru_cache(maxsize=256)
def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a ``hash_password`` string)."""
    try:
        _scheme, iterations, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt),
                                  int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, got)


@dataclasses.dataclass
class User:
    id: str
    name: str
    password_hash: str
    enabled: bool = True
    default_project_id: str | None = None


@dataclasses.dataclass
class Project:
    id: str
    name: str
    description: str = ""
    enabled: bool = True


@dataclasses.dataclass
class Role:
    id: str
    name: str


@dataclasses.dataclass
class Token:
    """An issued token: who, on which project (None: unscoped), with which roles."""

    id: str
    user_id: str
    project_id: str | None
    role_ids: list[str]
    methods: list[str]
    issued_at: float
    expires_at: float
    audit_id: str


class IdentityStore:
    """Users, projects, roles, assignments and tokens of one cloud.

    ``users`` is ``[identity] users`` (``user:project:role`` entries), ``password`` the
    password of all of them, ``token_ttl`` seconds of token life, ``clock`` the time
    source (``time.time``; tests pass their own).
    """

    def __init__(self, users: list[str], password: str, token_ttl: float,
                 clock: Callable[[], float] = time.time):
        self.clock = clock
        self.token_ttl = token_ttl
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.roles: dict[str, Role] = {}
        self.assignments: set[tuple[str, str, str]] = set()  # (user, project, role) ids
        self.tokens: dict[str, Token] = {}
        for name in ("admin", "manager", "member", "reader", "service"):
            self.create_role(name)
        for entry in users:
            user_name, project_name, role_name = self._parse_entry(entry)
            project = self.find_project(project_name) or self.create_project(project_name)
            role = self.find_role(role_name) or self.create_role(role_name)
            user = self.find_user(user_name) or self.create_user(
                user_name, password, default_project_id=project.id,
                password_hash=_shared_hash(password))
            self.assignments.add((user.id, project.id, role.id))

    @staticmethod
    def _parse_entry(entry: str) -> tuple[str, str, str]:
        parts = [part.strip() for part in entry.split(":")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"[identity] users entry {entry!r} is not 'user:project:role'")
        return parts[0], parts[1], parts[2]

    # -- lookups ---------------------------------------------------------------------------
    def find_user(self, name: str) -> User | None:
        """The user called ``name``, or None."""
        return next((u for u in self.users.values() if u.name == name), None)

    def find_project(self, name: str) -> Project | None:
        """The project called ``name``, or None."""
        return next((p for p in self.projects.values() if p.name == name), None)

    def find_role(self, name: str) -> Role | None:
        """The role called ``name``, or None."""
        return next((r for r in self.roles.values() if r.name == name), None)

    def get(self, kind: str, ident: str):
        """The user, project or role (``kind``) with id ``ident``; IdentityError 404."""
        table = {"user": self.users, "project": self.projects, "role": self.roles}[kind]
        found = table.get(ident)
        if found is None:
            raise IdentityError(404, f"Could not find {kind}: {ident}.")
        return found

    # -- writes ----------------------------------------------------------------------------
    def _check_unique(self, kind: str, name: str) -> None:
        finder = {"user": self.find_user, "project": self.find_project,
                  "role": self.find_role}[kind]
        if finder(name) is not None:
            raise IdentityError(409, f"Conflict occurred attempting to store {kind} - "
                                     f"Duplicate entry found with name {name}.")

    def create_user(self, name: str, password: str, default_project_id: str | None = None,
                    enabled: bool = True, password_hash: str | None = None) -> User:
        """A new user (409 when the name is taken); ``password_hash`` when the password is
        hashed already."""
        self._check_unique("user", name)
        user = User(stable_id("user", name), name, password_hash or hash_password(password),
                    enabled, default_project_id)
        self.users[user.id] = user
        return user

    def create_project(self, name: str, description: str = "", enabled: bool = True) -> Project:
        """A new project (409 when the name is taken)."""
        self._check_unique("project", name)
        project = Project(stable_id("project", name), name, description, enabled)
        self.projects[project.id] = project
        return project

    def create_role(self, name: str) -> Role:
        """A new role (409 when the name is taken)."""
        self._check_unique("role", name)
        role = Role(stable_id("role", name), name)
        self.roles[role.id] = role
        return role

    def delete(self, kind: str, ident: str) -> None:
        """Delete a user, project or role with its assignments and tokens (404 if none)."""
        self.get(kind, ident)
        del {"user": self.users, "project": self.projects, "role": self.roles}[kind][ident]
        position = {"user": 0, "project": 1, "role": 2}[kind]
        self.assignments = {a for a in self.assignments if a[position] != ident}
        for token in list(self.tokens.values()):
            if ident in (token.user_id, token.project_id) or ident in token.role_ids:
                del self.tokens[token.id]

    def assign(self, user_id: str, project_id: str, role_id: str) -> None:
        """Grant ``role_id`` to the user on the project (404 for an unknown one)."""
        self.get("user", user_id), self.get("project", project_id), self.get("role", role_id)
        self.assignments.add((user_id, project_id, role_id))

    def unassign(self, user_id: str, project_id: str, role_id: str) -> None:
        """Revoke a grant (404 when there is none)."""
        if (user_id, project_id, role_id) not in self.assignments:
            raise IdentityError(404, f"Could not find role assignment of role {role_id} "
                                     f"to user {user_id} on project {project_id}.")
        self.assignments.discard((user_id, project_id, role_id))

    # -- roles of a user -------------------------------------------------------------------
    def effective_role_ids(self, user_id: str, project_id: str) -> list[str]:
        """The ids of the roles the user holds on the project, implied roles included
        (in the order admin, manager, member, reader, then the others by name)."""
        names = {self.roles[r].name for u, p, r in self.assignments
                 if u == user_id and p == project_id}
        pending = list(names)
        while pending:
            for implied in IMPLIED_ROLES.get(pending.pop(), []):
                if implied not in names:
                    names.add(implied)
                    pending.append(implied)
        order = ["admin", "manager", "member", "reader"]
        ranked = sorted(names, key=lambda n: (order.index(n) if n in order else 4, n))
        return [self.find_role(name).id for name in ranked if self.find_role(name)]

    # -- tokens ----------------------------------------------------------------------------
    def authenticate_password(self, user: User | None, password: str) -> User:
        """The user when ``password`` is theirs and they are enabled; IdentityError 401."""
        if user is None or not user.enabled or not check_password(password,
                                                                  user.password_hash):
            raise IdentityError(401, "The request you have made requires authentication.")
        return user

    def issue(self, user: User, project: Project | None, methods: list[str],
              expires_at: float | None = None) -> Token:
        """A new token for ``user`` scoped to ``project`` (None: unscoped).

        401 when the user has no role on the project or the project is disabled.
        ``expires_at`` caps the expiry (a token made from a token never outlives it).
        """
        role_ids: list[str] = []
        if project is not None:
            role_ids = self.effective_role_ids(user.id, project.id)
            if not role_ids or not project.enabled:
                raise IdentityError(401, f"User {user.id} has no access to project "
                                         f"{project.id}.")
        now = self.clock()
        expiry = now + self.token_ttl
        if expires_at is not None:
            expiry = min(expiry, expires_at)
        token = Token(secrets.token_urlsafe(32), user.id, project.id if project else None,
                      role_ids, methods, now, expiry,
                      base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("="))
        self._forget_expired(now)
        self.tokens[token.id] = token
        return token

    def _forget_expired(self, now: float) -> None:
        for token in [t for t in self.tokens.values() if t.expires_at <= now]:
            del self.tokens[token.id]

    def validate(self, token_id: str | None) -> Token | None:
        """The live token ``token_id`` (None when unknown, revoked or expired)."""
        if not token_id:
            return None
        token = self.tokens.get(token_id)
        if token is None:
            return None
        if token.expires_at <= self.clock():
            del self.tokens[token_id]
            return None
        return token

    def revoke(self, token_id: str) -> None:
        """Revoke a token (IdentityError 404 when it is not live)."""
        if self.validate(token_id) is None:
            raise IdentityError(404, f"Could not find token: {token_id}.")
        del self.tokens[token_id]

    def role_names(self, token: Token) -> list[str]:
        """The names of the token's roles."""
        return [self.roles[r].name for r in token.role_ids if r in self.roles]
