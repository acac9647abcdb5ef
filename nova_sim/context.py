"""The request context: who asks, and which request this work belongs to.

Owns ``RequestContext`` and the *current* context, kept in a ``contextvars.ContextVar`` so
that it follows a request by itself: ``nova_sim.green`` starts every spawned greenthread in
a copy of its spawner's context, the RPC layer flattens the context into ``_context_*``
keys and the RPC server makes the rebuilt one current while it dispatches. Must not know
about transports, the hub's internals or HTTP.
"""

from __future__ import annotations

import contextvars
from typing import Any

from nova_sim import green

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "nova_sim_request_context", default=None
)


def generate_request_id() -> str:
    """A new ``req-<uuid>`` id (repeatable under a seeded virtual clock)."""
    return "req-" + green.random_uuid()


#: Keys of a context dict that ``from_dict`` reads itself or drops (oslo's aliases).
_NOT_KWARGS = frozenset((
    "user_id", "project_id", "user", "tenant", "project", "user_identity", "auth_token",
))


#: The keys ``from_dict`` reads as fields or drops: a dict of these only (what
#: ``to_dict`` writes) is rebuilt without calling ``__init__`` with keyword arguments.
_KNOWN_KEYS = _NOT_KWARGS | frozenset((
    "is_admin", "request_id", "global_request_id", "roles", "read_deleted", "user_name",
    "project_name",
))


class RequestContext:
    """Security and tracking context of one request.

    ``request_id`` names this request in this service (``req-<uuid>``); ``global_request_id``
    is the id of the request that started the whole flow, when a caller passed one.
    """

    def __init__(
        self,
        user_id: str | None = None,
        project_id: str | None = None,
        is_admin: bool = False,
        request_id: str | None = None,
        global_request_id: str | None = None,
        roles: list[str] | None = None,
        read_deleted: str = "no",
        user_name: str | None = None,
        project_name: str | None = None,
        overwrite: bool = True,
        **extra: Any,
    ):
        self.user_id = user_id
        self.project_id = project_id
        self.is_admin = is_admin
        self.request_id = request_id or generate_request_id()
        self.global_request_id = global_request_id
        self.roles = list(roles or (["admin"] if is_admin else ["member"]))
        self.read_deleted = read_deleted
        self.user_name = user_name
        self.project_name = project_name
        # Anything else a peer sent (oslo.context has many more fields); kept so that it
        # travels on unchanged.
        self.extra = extra
        if overwrite:
            self.make_current()

    def make_current(self) -> None:
        """Make this the current context of the running greenthread."""
        _current.set(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the keys oslo.context uses for these fields)."""
        values = {
            "user_id": self.user_id,
            "project_id": self.project_id,
            "is_admin": self.is_admin,
            "request_id": self.request_id,
            "global_request_id": self.global_request_id,
            "roles": list(self.roles),
            "read_deleted": self.read_deleted,
            "user_name": self.user_name,
            "project_name": self.project_name,
            # oslo.context's aliases, so an oslo peer reads the same values
            "user": self.user_id,
            "tenant": self.project_id,
        }
        # anything else a peer sent goes first, as it came (a field wins over its value)
        return {**self.extra, **values} if self.extra else values

    @classmethod
    def from_dict(cls, values: dict[str, Any], overwrite: bool = False) -> RequestContext:
        """Rebuild a context from ``to_dict()`` output (or an oslo.context dict).

        A dict of the keys ``to_dict`` writes (every RPC request rebuilds one) goes to
        ``__init__`` positionally, without building keyword arguments; other keys go to
        ``extra`` through the keyword arguments, in their order.
        """
        get = values.get
        user_id = get("user_id") or get("user")
        project_id = get("project_id") or get("tenant")
        if _KNOWN_KEYS.issuperset(values):
            return cls(user_id, project_id, get("is_admin", False), get("request_id"),
                       get("global_request_id"), get("roles"), get("read_deleted", "no"),
                       get("user_name"), get("project_name"), overwrite)
        kwargs = {key: value for key, value in values.items() if key not in _NOT_KWARGS}
        return cls(user_id=user_id, project_id=project_id, overwrite=overwrite, **kwargs)

    def elevated(self) -> RequestContext:
        """A copy with admin rights (same request ids)."""
        values = self.to_dict()
        values["is_admin"] = True
        roles = values.get("roles") or []
        if "admin" not in roles:
            values["roles"] = list(roles) + ["admin"]
        return RequestContext.from_dict(values)

    def __repr__(self) -> str:
        return (
            f"<RequestContext {self.request_id} user={self.user_id} "
            f"project={self.project_id} admin={self.is_admin}>"
        )


def get_current() -> RequestContext | None:
    """The current greenthread's context, or ``None``."""
    return _current.get()


def get_admin_context(read_deleted: str = "no") -> RequestContext:
    """An admin context for work no user asked for (periodic tasks, start-up)."""
    return RequestContext(is_admin=True, read_deleted=read_deleted, overwrite=False)


class RequestContextSerializer:
    """RPC serializer: contexts cross the wire as dicts and come back as RequestContext.

    Follows oslo.messaging's Serializer interface (serialize_entity, deserialize_entity,
    serialize_context, deserialize_context). Entities are already plain JSON data here.
    """

    def __init__(self, base=None):
        self._base = base
        #: without a base serializer entities pass through unchanged (RPC skips the
        #: calls), unless a subclass changes how they are handled
        kind = type(self)
        self.passes_entities = base is None and (
            kind.serialize_entity is RequestContextSerializer.serialize_entity
            and kind.deserialize_entity is RequestContextSerializer.deserialize_entity)

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity) if self._base else entity

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity) if self._base else entity

    def serialize_context(self, ctxt) -> dict[str, Any]:
        if ctxt is None:
            ctxt = get_current()
        if ctxt is None:
            return {}
        if isinstance(ctxt, dict):
            return ctxt
        return ctxt.to_dict()

    def deserialize_context(self, values: dict[str, Any]) -> RequestContext:
        context = RequestContext.from_dict(values or {}, overwrite=False)
        context.make_current()
        return context
