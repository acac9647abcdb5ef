"""Who is asking: the ``noauth2`` and ``open`` auth strategies of the API.

Owns turning a request's ``X-Auth-Token`` into a ``RequestContext``. ``noauth2`` (Nova's
no-Keystone mode): the token is ``user:project`` (a token without a colon is both), the
user ``admin`` is an admin, and a request without a token is a 401 whose message says how to
pass one. ``open`` (for demos): a request without a token is the admin of project
``admin``; a token given anyway is read as in ``noauth2``. Also owns the inbound
``X-Openstack-Request-Id`` check (a valid one becomes the global request id). Must not know
about routing or resources.
"""

from __future__ import annotations

import re

from nova_sim import context as nova_context
from nova_sim.api import faults

NOAUTH2 = "noauth2"
OPEN = "open"
STRATEGIES = (NOAUTH2, OPEN)

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


def authenticate(
    headers, strategy: str, request_id: str | None = None
) -> nova_context.RequestContext:
    """The context of the request with ``headers`` under ``strategy``.

    Raises ``faults.Unauthorized`` (401) under ``noauth2`` when there is no usable token.
    The context is made current for the running greenthread (and so for everything it
    spawns and every RPC message it sends).
    """
    token = headers.get("X-Auth-Token")
    if token is not None:
        token = token.strip()
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
