"""Who is asking: the ``noauth2``, ``open`` and ``keystone`` auth strategies of the API.

Owns turning a request's ``X-Auth-Token`` into a ``RequestContext``. ``noauth2`` (Nova's
no-Keystone mode): the token is ``user:project`` (a token without a colon is both), the
user ``admin`` is an admin, and a request without a token is a 401 whose message says how to
pass one. ``open`` (for demos): a request without a token is the admin of project
``admin``; a token given anyway is read as in ``noauth2``. ``keystone``: the token must be
a live project-scoped token of the identity service (``nova_sim.api.identity``); its
roles (admin, manager, member, reader) make the context, and ``check_role`` refuses
writes to a reader, as Nova's default policies do. Also owns the inbound
``X-Openstack-Request-Id`` check (a valid one becomes the global request id). Must not know
about routing or resources.
"""

from __future__ import annotations

import re
from typing import Any

from nova_sim import context as nova_context
from nova_sim.api import faults

NOAUTH2 = "noauth2"
OPEN = "open"
KEYSTONE = "keystone"
STRATEGIES = (NOAUTH2, OPEN, KEYSTONE)
_READ_METHODS = frozenset(["GET", "HEAD"])

KEYSTONE_MISSING_TOKEN_MESSAGE = (
    "Authentication required: this nova-sim API uses auth_strategy keystone. Get a token "
    "with POST /identity/v3/auth/tokens (the openstack CLI does it with a clouds.yaml "
    "entry with auth_type: password and auth_url: http://<host>:<port>/identity; see "
    "etc/nova-sim/clouds-keystone.yaml) and pass it as X-Auth-Token."
)

_GLOBAL_ID_RE = re.compile(
    r"^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$"
)

MISSING_TOKEN_MESSAGE = (
    "Authentication required: this nova-sim API uses auth_strategy noauth2. Pass a header "
    "'X-Auth-Token: <user>:<project>' (for example 'X-Auth-Token: admin:admin' for the "
    "admin, or 'demo:demo'); with the openstack CLI use a clouds.yaml entry with "
    "auth_type: admin_token and auth: {token: 'admin:admin', endpoint: ...} "
    "(see etc/nova-sim/clouds.yaml)."
)


def global_request_id(headers) -> str | None:
    """The inbound ``X-Openstack-Request-Id`` when it is a valid ``req-<uuid>``, else None."""
    value = headers.get("X-Openstack-Request-Id")
    if value and _GLOBAL_ID_RE.match(value):
        return value
    return None


def _from_token(token: str) -> tuple[str, str]:
    user_id, _sep, project_id = token.partition(":")
    user_id = user_id.strip()
    project_id = project_id.strip() or user_id
    return user_id, project_id


def _from_keystone(headers, token: str | None, identity: Any,
                   request_id: str | None) -> nova_context.RequestContext:
    found = identity.validate(token) if identity is not None else None
    if found is None or found.project_id is None:
        raise faults.Unauthorized(KEYSTONE_MISSING_TOKEN_MESSAGE)
    roles = identity.role_names(found)
    user = identity.users[found.user_id]
    project = identity.projects[found.project_id]
    return nova_context.RequestContext(
        user_id=user.id, project_id=project.id, is_admin="admin" in roles,
        request_id=request_id, global_request_id=global_request_id(headers), roles=roles,
        user_name=user.name, project_name=project.name,
    )


def check_role(context: nova_context.RequestContext | None, method: str) -> None:
    """403 for a request that changes something when the caller has neither the member
    nor the admin role (a reader), Nova's default ``PROJECT_MEMBER`` rule for actions.
    (Key pairs are not checked here: Nova lets any user manage their own.)"""
    if context is None or method in _READ_METHODS or context.is_admin:
        return
    if "member" not in context.roles:
        raise faults.Forbidden(f"Policy doesn't allow {method} by a reader to be performed.")


def authenticate(
    headers, strategy: str, request_id: str | None = None, identity: Any = None,
) -> nova_context.RequestContext:
    """The context of the request with ``headers`` under ``strategy``.

    Raises ``faults.Unauthorized`` (401) under ``noauth2`` when there is no usable token,
    and under ``keystone`` when the token is not a live project-scoped token of
    ``identity`` (the ``IdentityStore``). The context is made current for the running
    greenthread (and so for everything it spawns and every RPC message it sends).
    """
    token = headers.get("X-Auth-Token")
    if token is not None:
        token = token.strip()
    if strategy == KEYSTONE:
        return _from_keystone(headers, token, identity, request_id)
    if token:
        user_id, project_id = _from_token(token)
        if not user_id:
            raise faults.Unauthorized(MISSING_TOKEN_MESSAGE)
    elif strategy == OPEN:
        user_id, project_id = "admin", "admin"
    else:
        raise faults.Unauthorized(MISSING_TOKEN_MESSAGE)
    is_admin = user_id == "admin"
    return nova_context.RequestContext(
        user_id=user_id,
        project_id=project_id,
        is_admin=is_admin,
        request_id=request_id,
        global_request_id=global_request_id(headers),
        roles=["admin", "member", "reader"] if is_admin else ["member", "reader"],
        user_name=user_id,
        project_name=project_id,
    )
