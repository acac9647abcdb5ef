"""``/os-keypairs``: list, show, create (generate or import) and delete key pairs.

Owns Nova's key pair resource and its microversions: ``type`` (``ssh`` or ``x509``) from
2.2, where create answers 201 (200 before) and delete 204 (202 before); from 2.10 an
admin may name another user with ``user_id`` (a query parameter of list, show and
delete, a body field of create; anyone else naming another user is a 403); from 2.35
the list pages with ``limit`` and ``marker`` (by name) and gives ``keypairs_links``;
from 2.92 ``public_key`` is required (no more generated keys) and names may also hold
``@`` and ``.``. A key pair belongs to a user, so another user's key pair is a 404 for
whoever is not an admin. The keys themselves are ``nova_sim.compute.keypairs``'.
Must not know about RPC.
"""

from __future__ import annotations

from typing import Any

from nova_sim import exception
from nova_sim.api import common, faults
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.compute.keypairs import KEYPAIR_TYPE_SSH, KEYPAIR_TYPES, SAFE_CHARS

_SAFE_CHARS_292 = SAFE_CHARS | frozenset("@.")
_POLICY = "os_compute_api:os-keypairs:"


def register(router: Router, api) -> None:
    """Add the ``/os-keypairs`` routes."""
    router.add("GET", "/os-keypairs", index)
    router.add("POST", "/os-keypairs", create)
    router.add("GET", "/os-keypairs/{name}", show)
    router.add("DELETE", "/os-keypairs/{name}", delete)


def _keypair_api(request: APIRequest) -> Any:
    return request.api.compute_api.keypair_api


def _user_id(request: APIRequest, action: str, given: str | None = None) -> str:
    """The user whose key pairs the request is about: the caller, or from 2.10 the
    ``user_id`` asked for (admin only when it is someone else)."""
    if given is None and request.version.matches("2.10"):
        given = request.param("user_id")
    if given is None or given == request.context.user_id:
        return request.context.user_id
    request.require_admin(_POLICY + action)
    return given


def _view(request: APIRequest, keypair: dict[str, Any], keys: tuple[str, ...]) -> dict:
    view = {key: keypair.get(key) for key in keys}
    if request.version.matches("2.2"):
        view["type"] = keypair.get("type") or KEYPAIR_TYPE_SSH
    return view


def index(request: APIRequest) -> Reply:
    """``GET /os-keypairs``: the user's key pairs (name, public key, fingerprint)."""
    user_id = _user_id(request, "index")
    limit = marker = None
    paged = request.version.matches("2.35")
    if paged:
        limit = common.parse_limit(request.params, request.api.max_limit)
        marker = request.param("marker")
    try:
        keypairs = _keypair_api(request).get_key_pairs(
            request.context, user_id, limit=limit, marker=marker)
    except exception.MarkerNotFound as error:
        raise faults.BadRequest(error.format_message())
    body: dict[str, Any] = {"keypairs": [
        {"keypair": _view(request, keypair, ("name", "public_key", "fingerprint"))}
        for keypair in keypairs]}
    if paged and keypairs and len(keypairs) == limit:
        body["keypairs_links"] = common.next_link(
            request.base_url, "os-keypairs", request.params, keypairs[-1]["name"])
    return Reply(200, body)


def _get(request: APIRequest, user_id: str, name: str) -> dict[str, Any]:
    try:
        return _keypair_api(request).get_key_pair(request.context, user_id, name)
    except exception.KeypairNotFound as error:
        raise faults.NotFound(error.format_message())


def show(request: APIRequest, name: str) -> Reply:
    """``GET /os-keypairs/{name}``: one key pair with its user, id and time stamps."""
    keypair = dict(_get(request, _user_id(request, "show"), name))
    keypair.update(deleted=False, deleted_at=None)
    keys = ("name", "public_key", "fingerprint", "user_id", "created_at", "deleted",
            "deleted_at", "id", "updated_at")
    return Reply(200, {"keypair": _view(request, keypair, keys)})


def delete(request: APIRequest, name: str) -> Reply:
    """``DELETE /os-keypairs/{name}``: 202 (204 from 2.2); 404 when there is none."""
    user_id = _user_id(request, "delete")
    try:
        _keypair_api(request).delete_key_pair(request.context, user_id, name)
    except exception.KeypairNotFound as error:
        raise faults.NotFound(error.format_message())
    return Reply(204 if request.version.matches("2.2") else 202)


def _create_body(request: APIRequest) -> dict[str, Any]:
    """The ``keypair`` object of a create, checked as Nova's schema for the
    microversion checks it (400 otherwise)."""
    spec = common.require_dict(request.json_body(), "keypair")
    allowed = {"name", "public_key"}
    if request.version.matches("2.2"):
        allowed.add("type")
    if request.version.matches("2.10"):
        allowed.add("user_id")
    required = ("name", "public_key") if request.version.matches("2.92") else ("name",)
    common.check_properties(spec, "keypair", allowed, required)
    name = common.check_string("name", spec["name"], min_length=1).strip()
    safe = _SAFE_CHARS_292 if request.version.matches("2.92") else SAFE_CHARS
    if not name or not set(name) <= safe:
        raise common.invalid_field(
            "name", spec["name"], "Keypair names are 1 to 255 letters, digits, spaces, '_' "
            "or '-'" + (", '@' or '.'" if safe is _SAFE_CHARS_292 else ""))
    spec = dict(spec, name=name)
    if "public_key" in spec:
        common.check_string("public_key", spec["public_key"], max_length=65535)
    if "type" in spec and spec["type"] not in KEYPAIR_TYPES:
        raise common.invalid_field("type", spec["type"],
                                   f"{spec['type']!r} is not one of ['ssh', 'x509']")
    if "user_id" in spec:
        common.check_string("user_id", spec["user_id"], min_length=1)
    return spec


def create(request: APIRequest) -> Reply:
    """``POST /os-keypairs``: import ``public_key``, or (before 2.92) generate a key pair
    and answer its ``private_key`` once. 200 (201 from 2.2); 409 for a taken name, 403
    past ``[quota] key_pairs``, 400 for a bad key."""
    spec = _create_body(request)
    user_id = _user_id(request, "create", spec.get("user_id"))
    key_type = spec.get("type", KEYPAIR_TYPE_SSH)
    keypair_api = _keypair_api(request)
    keys: tuple[str, ...] = ("name", "public_key", "fingerprint", "user_id")
    try:
        if "public_key" in spec:
            keypair = keypair_api.import_key_pair(
                request.context, user_id, spec["name"], spec["public_key"], key_type)
        else:
            row, private_key = keypair_api.create_key_pair(
                request.context, user_id, spec["name"], key_type)
            keypair = dict(row, private_key=private_key)
            keys += ("private_key",)
    except exception.KeypairLimitExceeded as error:
        raise faults.Forbidden(error.format_message())
    except exception.InvalidKeypair as error:
        raise faults.BadRequest(error.format_message())
    except exception.KeyPairExists as error:
        raise faults.Conflict(error.format_message())
    code = 201 if request.version.matches("2.2") else 200
    return Reply(code, {"keypair": _view(request, keypair, keys)})
