"""Server actions (``POST /servers/{id}/action``) and ``os-instance-actions``.

Owns the action body checks (exactly one action per request) of ``os-start``, ``os-stop``,
``reboot`` (``type`` SOFT/HARD), ``pause`` / ``unpause``, ``suspend`` / ``resume``,
``rescue`` (200 with ``adminPass``) / ``unrescue``, ``lock`` (a ``locked_reason`` from
2.73) / ``unlock``, ``createImage`` and ``createBackup`` (202 with a ``Location`` before
2.45, ``{"image_id"}`` from 2.45), ``rebuild`` (202 with the server and its
``adminPass``), ``shelve`` / ``shelveOffload`` (admin) / ``unshelve`` (an
``availability_zone`` from 2.77, a ``host`` (admin) from 2.91), ``os-resetState``
(admin), ``os-getConsoleOutput`` (200), ``restore``, ``forceDelete``, ``resize`` (the
quota check of an upsize) / ``confirmResize`` (204) / ``revertResize``, ``migrate``
(admin), ``injectNetworkInfo`` (admin), ``addSecurityGroup`` / ``removeSecurityGroup``
and ``addFloatingIp`` / ``removeFloatingIp`` (below 2.44, ``nova_sim.api.floating_ips``);
the policy of each (Nova's defaults: admin only where Nova says so; a reader is refused
every action by the app's role check), the mapping of a wrong state or a lock to 409
(``InstanceInvalidState`` / ``InstanceIsLocked`` from the compute API), and the instance
action views (``GET /servers/{id}/os-instance-actions[/{request_id}]`` with the events of
each step; ``traceback`` for admins only, events for everyone from 2.51, ``updated_at``
from 2.58, ``host``/``hostId`` from 2.62). Must not know about RPC. """

from __future__ import annotations

import re
from typing import Any, Callable

from nova_sim import exception
from nova_sim.api import common, faults, floating_ips
from nova_sim.api.app import APIRequest, Reply, Router
from nova_sim.api.servers import _admin_pass, _host_id, get_instance, show_view

_REBOOT_TYPES = {"soft": "SOFT", "hard": "HARD"}


def register(router: Router, api) -> None:
    """Add the action and instance-action routes."""
    router.add("POST", "/servers/{server_id}/action", action)
    router.add("GET", "/servers/{server_id}/os-instance-actions", list_actions)
    router.add("GET", "/servers/{server_id}/os-instance-actions/{request_id}", show_action)


def _conflict(error: exception.NovaException) -> faults.Conflict:
    return faults.Conflict(error.format_message())


def action(request: APIRequest, server_id: str) -> Reply:
    """Run one server action; 202 when accepted, 409 in a wrong state, 400 when unknown."""
    body = request.json_body()
    if not isinstance(body, dict) or not body:
        raise faults.BadRequest("The action body must be a JSON object with one action.")
    if len(body) != 1:
        raise faults.BadRequest(f"Only one action at a time is allowed, got "
                                f"{', '.join(sorted(map(str, body)))}.")
    name, value = next(iter(body.items()))
    handler = _ACTIONS.get(name)
    if handler is None:
        raise faults.BadRequest(f"There is no such action: {name}")
    instance = get_instance(request, server_id)
    compute_api = request.api.compute_api
    try:
        reply = handler(request, compute_api, instance, value, name=name)
    except exception.InstanceInvalidState as error:
        raise _conflict(error)
    except exception.Conflict as error:
        raise _conflict(error)
    return reply if reply is not None else Reply(202)


def _start(request: APIRequest, compute_api, instance: dict, value: Any,
           name: str = "os-start") -> None:
    if value is not None and value != {}:
        raise common.invalid_field("os-start", value, f"{value!r} is not of type 'null'")
    compute_api.start(request.context, instance["uuid"])


def _stop(request: APIRequest, compute_api, instance: dict, value: Any,
          name: str = "os-stop") -> None:
    if value is not None and value != {}:
        raise common.invalid_field("os-stop", value, f"{value!r} is not of type 'null'")
    compute_api.stop(request.context, instance["uuid"])


def _reboot(request: APIRequest, compute_api, instance: dict, value: Any,
            name: str = "reboot") -> None:
    if not isinstance(value, dict):
        raise common.invalid_field("reboot", value, f"{value!r} is not of type 'object'")
    unknown = set(value) - {"type"}
    if unknown:
        raise common.invalid_field(
            "reboot", value, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")
    if "type" not in value:
        raise faults.BadRequest("Invalid input for field/attribute reboot. 'type' is a "
                                "required property")
    reboot_type = value["type"]
    if not isinstance(reboot_type, str) or reboot_type.lower() not in _REBOOT_TYPES:
        raise common.invalid_field(
            "type", reboot_type, f"{reboot_type!r} is not one of ['HARD', 'Hard', 'hard', "
            "'SOFT', 'Soft', 'soft']")
    compute_api.reboot(request.context, instance["uuid"], _REBOOT_TYPES[reboot_type.lower()])


def _null(name: str, value: Any) -> None:
    """The body of an action that takes no argument: ``null`` (``{}`` accepted too)."""
    if value is not None and value != {}:
        raise common.invalid_field(name, value, f"{value!r} is not of type 'null'")


def _no_argument(method: str) -> Callable[..., None]:
    """A handler for ``{"<action>": null}`` that calls ``compute_api.<method>``."""
    def handler(request: APIRequest, compute_api, instance: dict, value: Any,
                name: str = "") -> None:
        _null(name, value)
        getattr(compute_api, method)(request.context, instance["uuid"])

    return handler


def _check_keys(name: str, value: dict, allowed: set[str]) -> None:
    unknown = set(value) - allowed
    if unknown:
        raise common.invalid_field(
            name, value, "Additional properties are not allowed "
            f"({', '.join(map(repr, sorted(unknown)))} were unexpected)")


def _check_metadata(name: str, metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict):
        raise common.invalid_field(name, metadata, f"{metadata!r} is not of type 'object'")
    for key, item in metadata.items():
        common.check_string("metadata", key, min_length=1, max_length=255)
        common.check_string("metadata", item, max_length=255)
    return dict(metadata)


def _optional_object(request: APIRequest, name: str, value: Any, since: str,
                     allowed: set[str]) -> dict:
    """The body of an action that is ``null`` until microversion ``since`` and may be an
    object with the ``allowed`` keys from then on; ``{}`` for null."""
    if isinstance(value, dict) and value:
        if not request.version.matches(since):
            raise common.invalid_field(name, value, f"{value!r} is not of type 'null'")
        _check_keys(name, value, allowed)
        return value
    _null(name, value)
    return {}


def _lock(request: APIRequest, compute_api, instance: dict, value: Any,
          name: str = "lock") -> None:
    value = _optional_object(request, "lock", value, "2.73", {"locked_reason"})
    reason = None
    if value:
        reason = common.check_string("locked_reason", value.get("locked_reason"),
                                     min_length=1, max_length=255)
    compute_api.lock(request.context, instance["uuid"], reason=reason)


def _unlock(request: APIRequest, compute_api, instance: dict, value: Any,
            name: str = "unlock") -> None:
    _null("unlock", value)
    if not compute_api.is_expected_locked_by(request.context, instance):
        # Nova's os_compute_api:os-lock-server:unlock:unlock_override (admin only)
        request.require_admin("os_compute_api:os-lock-server:unlock:unlock_override")
    compute_api.unlock(request.context, instance["uuid"])


def _rescue(request: APIRequest, compute_api, instance: dict, value: Any,
            name: str = "rescue") -> Reply:
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise common.invalid_field("rescue", value, f"{value!r} is not of type 'object', "
                                                    "'null'")
    _check_keys("rescue", value, {"adminPass", "rescue_image_ref"})
    password = value.get("adminPass")
    if password is not None:
        common.check_string("adminPass", password)
    image_ref = value.get("rescue_image_ref")
    if image_ref is not None:
        common.check_string("rescue_image_ref", image_ref, min_length=1)
    password = password or _admin_pass(instance["uuid"] + "-rescue")
    try:
        compute_api.rescue(request.context, instance["uuid"], rescue_password=password,
                           rescue_image_ref=image_ref)
    except (exception.ImageNotFound, exception.InstanceNotRescuable) as error:
        raise faults.BadRequest(error.format_message())
    return Reply(200, {"adminPass": password})


def _image_reply(request: APIRequest, image: dict | None, location: str | None) -> Reply:
    """202: from 2.45 ``{"image_id"}``; before, an empty body and a ``Location``."""
    if request.version.matches("2.45"):
        return Reply(202, {"image_id": image["id"]} if image else None)
    return Reply(202, None, [("Location", location)] if location else [])


def _create_image(request: APIRequest, compute_api, instance: dict, value: Any,
                  name: str = "createImage") -> Reply:
    if not isinstance(value, dict):
        raise common.invalid_field("createImage", value,
                                   f"{value!r} is not of type 'object'")
    _check_keys("createImage", value, {"name", "metadata"})
    if "name" not in value:
        raise faults.BadRequest("Invalid input for field/attribute createImage. 'name' is "
                                "a required property")
    image_name = common.check_string("name", value["name"], min_length=1)
    metadata = _check_metadata("metadata", value.get("metadata", {}))
    image = compute_api.snapshot(request.context, instance["uuid"], image_name,
                                 extra_properties=metadata)
    # Nova's glance.generate_image_url: the image service's endpoint + /images/<id>
    return _image_reply(request, image, f"{request.base_url}/image/images/{image['id']}")


def _create_backup(request: APIRequest, compute_api, instance: dict, value: Any,
                   name: str = "createBackup") -> Reply:
    if not isinstance(value, dict):
        raise common.invalid_field("createBackup", value,
                                   f"{value!r} is not of type 'object'")
    _check_keys("createBackup", value, {"name", "backup_type", "rotation", "metadata"})
    for key in ("name", "backup_type", "rotation"):
        if key not in value:
            raise faults.BadRequest(f"Invalid input for field/attribute createBackup. "
                                    f"'{key}' is a required property")
    image_name = common.check_string("name", value["name"], min_length=1)
    backup_type = common.check_string("backup_type", value["backup_type"])
    rotation = value["rotation"]
    if isinstance(rotation, str) and rotation.isdigit():
        rotation = int(rotation)
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise common.invalid_field("rotation", value["rotation"],
                                   f"{value['rotation']!r} is not a non-negative integer")
    metadata = _check_metadata("metadata", value.get("metadata", {}))
    image = compute_api.backup(request.context, instance["uuid"], image_name, backup_type,
                               rotation, extra_properties=metadata)
    # Nova's backup Location is the compute API's own /images URL (rotation > 0 only)
    location = (f"{request.base_url}/v2.1/images/{image['id']}" if rotation > 0 else None)
    return _image_reply(request, image, location)


_REBUILD_KEYS = {
    "imageRef": None, "name": None, "adminPass": None, "metadata": None,
    "accessIPv4": None, "accessIPv6": None, "OS-DCF:diskConfig": None,
    "preserve_ephemeral": None, "personality": None, "description": "2.19",
    "key_name": "2.54", "user_data": "2.57", "trusted_image_certificates": "2.63",
    "hostname": "2.90",
}


_REBUILD_HIDDEN_PREFIXES = ("OS-EXT-AZ:", "OS-EXT-STS:", "OS-SRV-USG:", "OS-EXT-SRV-ATTR:",
                            "os-extended-volumes:")
_REBUILD_HIDDEN = frozenset(["config_drive", "key_name", "security_groups", "host_status",
                             "server_groups"])


def _rebuild(request: APIRequest, compute_api, instance: dict, value: Any,
             name: str = "rebuild") -> Reply:
    if not isinstance(value, dict):
        raise common.invalid_field("rebuild", value, f"{value!r} is not of type 'object'")
    allowed = {key for key, since in _REBUILD_KEYS.items()
               if since is None or request.version.matches(since)}
    if request.version.matches("2.57"):
        allowed.discard("personality")
    _check_keys("rebuild", value, allowed)
    if "imageRef" not in value:
        raise faults.BadRequest("Invalid input for field/attribute rebuild. 'imageRef' is "
                                "a required property")
    image_ref = common.check_string("imageRef", value["imageRef"], min_length=1)
    fields: dict[str, Any] = {}
    if "name" in value:
        fields["name"] = common.check_string("name", value["name"], min_length=1)
    if "metadata" in value:
        fields["metadata"] = _check_metadata("metadata", value["metadata"])
    for key, field in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6"),
                       ("description", "display_description"), ("key_name", "key_name"),
                       ("user_data", "user_data"), ("hostname", "hostname")):
        if key in value:
            fields[field] = common.check_string(key, value[key], max_length=65535,
                                                allow_none=True)
    password = value.get("adminPass")
    if password is not None:
        common.check_string("adminPass", password)
    password = password or _admin_pass(instance["uuid"] + "-rebuild")
    try:
        compute_api.rebuild(request.context, instance["uuid"], image_ref,
                            admin_password=password, **fields)
    except exception.ImageNotFound:
        raise faults.BadRequest("Cannot find requested image")
    rebuilt = get_instance(request, instance["uuid"])
    server = show_view(request, rebuilt)
    server.pop("OS-EXT-SRV-ATTR:user_data", None)  # Nova's rebuild view: show_user_data=False
    if not request.version.matches("2.75"):
        # Nova's rebuild view below 2.75 leaves out the extended attributes, but shows
        # key_name from 2.54 and server_groups from 2.71
        shown = {key for key, since in (("key_name", "2.54"), ("server_groups", "2.71"))
                 if request.version.matches(since)}
        server = {key: value for key, value in server.items()
                  if key in shown or (not key.startswith(_REBUILD_HIDDEN_PREFIXES)
                                      and key not in _REBUILD_HIDDEN)}
        server["addresses"] = {
            network: [{key: value for key, value in address.items()
                       if not key.startswith("OS-EXT-IPS")} for address in addresses]
            for network, addresses in (server.get("addresses") or {}).items()}
    server["adminPass"] = password
    if request.version.matches("2.57"):
        server["user_data"] = rebuilt.get("user_data")
    return Reply(202, {"server": server})


def _unshelve(request: APIRequest, compute_api, instance: dict, value: Any,
              name: str = "unshelve") -> None:
    allowed = {"availability_zone", "host"} if request.version.matches("2.91") else {
        "availability_zone"}
    value = _optional_object(request, "unshelve", value, "2.77", allowed)
    host = None
    if "host" in value:
        request.require_admin("os_compute_api:os-shelve:unshelve_to_host")
        host = common.check_string("host", value["host"], min_length=1)
    zone = common.check_string("availability_zone", value.get("availability_zone"),
                               min_length=1, allow_none=True)
    try:
        compute_api.unshelve(request.context, instance["uuid"], availability_zone=zone,
                             host=host)
    except exception.ComputeHostNotFound as error:
        raise faults.BadRequest(error.format_message())


def _shelve_offload(request: APIRequest, compute_api, instance: dict, value: Any,
                    name: str = "shelveOffload") -> None:
    _null("shelveOffload", value)
    request.require_admin("os_compute_api:os-shelve:shelve_offload")
    compute_api.shelve_offload(request.context, instance["uuid"])


def _reset_state(request: APIRequest, compute_api, instance: dict, value: Any,
                 name: str = "os-resetState") -> None:
    request.require_admin("os_compute_api:os-admin-actions:reset_state")
    if not isinstance(value, dict):
        raise common.invalid_field("os-resetState", value,
                                   f"{value!r} is not of type 'object'")
    _check_keys("os-resetState", value, {"state"})
    state = value.get("state")
    if state not in ("active", "error"):
        raise common.invalid_field("state", state, f"{state!r} is not one of ['active', "
                                                   "'error']")
    compute_api.reset_state(request.context, instance["uuid"], state)


_CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f]")


def _console_output(request: APIRequest, compute_api, instance: dict, value: Any,
                    name: str = "os-getConsoleOutput") -> Reply:
    value = {} if value is None else value
    if not isinstance(value, dict):
        raise common.invalid_field("os-getConsoleOutput", value,
                                   f"{value!r} is not of type 'object'")
    _check_keys("os-getConsoleOutput", value, {"length"})
    length = value.get("length")
    if isinstance(length, str) and re.fullmatch(r"-?[0-9]+", length):
        length = int(length)
    if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                               or length < -1):
        raise common.invalid_field("length", value.get("length"),
                                   f"{value.get('length')!r} is not a valid length")
    try:
        output = compute_api.get_console_output(request.context, instance["uuid"],
                                                tail_length=length)
    except exception.InstanceNotReady as error:
        raise faults.Conflict(error.format_message())
    except exception.InstanceNotFound:
        raise faults.Conflict(f"Instance {instance['uuid']} is not ready")
    # Nova replaces the control characters a browser cannot show
    return Reply(200, {"output": _CONTROL_CHARS.sub("?", output)})


def _inject_network_info(request: APIRequest, compute_api, instance: dict, value: Any,
                         name: str = "injectNetworkInfo") -> None:
    request.require_admin("os_compute_api:os-admin-actions:inject_network_info")
    _null("injectNetworkInfo", value)
    compute_api.inject_network_info(request.context, instance["uuid"])


def _security_group_action(method: str) -> Callable[..., None]:
    """``addSecurityGroup`` / ``removeSecurityGroup`` ``{"name": <group name or id>}``:
    202; 404 for an unknown group, 400 when already (or not) there."""
    def handler(request: APIRequest, compute_api, instance: dict, value: Any,
                name: str = "") -> None:
        if not isinstance(value, dict):
            raise common.invalid_field(name, value, f"{value!r} is not of type 'object'")
        _check_keys(name, value, {"name"})
        group = common.check_string("name", value.get("name"), min_length=1)
        getattr(compute_api, method)(request.context, instance["uuid"], group)

    return handler


def _restore(request: APIRequest, compute_api, instance: dict, value: Any,
             name: str = "restore") -> None:
    _null("restore", value)
    compute_api.restore(request.context, instance["uuid"])


def _resize(request: APIRequest, compute_api, instance: dict, value: Any,
            name: str = "resize") -> None:
    if not isinstance(value, dict):
        raise common.invalid_field("resize", value, f"{value!r} is not of type 'object'")
    _check_keys("resize", value, {"flavorRef", "OS-DCF:diskConfig"})
    if "flavorRef" not in value:
        raise faults.BadRequest("Invalid input for field/attribute resize. 'flavorRef' is "
                                "a required property")
    flavor_ref = value["flavorRef"]
    if isinstance(flavor_ref, int) and not isinstance(flavor_ref, bool):
        flavor_ref = str(flavor_ref)
    flavor_ref = common.check_string("flavorRef", flavor_ref, min_length=1)
    flavor_id = flavor_ref.rstrip("/").rsplit("/", 1)[-1]
    try:
        _check_resize_quota(request, compute_api, instance, flavor_id)
        compute_api.resize(request.context, instance["uuid"], flavor_id=flavor_id)
    except exception.FlavorNotFound:
        raise faults.BadRequest("Unable to locate requested flavor.")


def _check_resize_quota(request: APIRequest, compute_api, instance: dict,
                        flavor_id: str) -> None:
    """Nova's quota check of an upsize: the growth in cores and RAM the new flavor
    brings, with what the project uses, must fit its quotas (403 otherwise;
    ``FlavorNotFound`` for an unknown flavor)."""
    new = compute_api.flavor_get(request.context, flavor_id)
    old = instance.get("flavor") or {}
    project_id = instance["project_id"]
    quota = compute_api.quota_api.limits(project_id, instance.get("user_id"))
    rows = None
    for resource, column in (("cores", "vcpus"), ("ram", "memory_mb")):
        growth = int(new.get(column) or 0) - int(old.get(column) or 0)
        limit = quota[resource]
        if growth <= 0 or limit < 0:
            continue
        if rows is None:
            rows = compute_api.get_all(request.context.elevated(),
                                       filters={"project_id": project_id})
        used = sum(int(row.get(column) or 0) for row in rows)
        if used + growth > limit:
            raise faults.Forbidden(f"Quota exceeded for {resource}: Requested {growth}, but "
                                   f"already used {used} of {limit} {resource}")


def _migrate(request: APIRequest, compute_api, instance: dict, value: Any,
             name: str = "migrate") -> None:
    request.require_admin("os_compute_api:os-migrate-server:migrate")
    value = _optional_object(request, "migrate", value, "2.56", {"host"})
    if value.get("host") is not None:
        raise faults.BadRequest("Migrating to a given host is not supported by nova-sim.")
    compute_api.resize(request.context, instance["uuid"], flavor_id=None)


def _end_resize(method: str, code: int) -> Callable[..., Reply]:
    """``confirmResize`` (204) or ``revertResize`` (202): null body; 400 when the
    server was not resized."""
    def handler(request: APIRequest, compute_api, instance: dict, value: Any,
                name: str = "") -> Reply:
        _null(name, value)
        try:
            getattr(compute_api, method)(request.context, instance["uuid"])
        except exception.MigrationNotFound:
            raise faults.BadRequest("Instance has not been resized.")
        return Reply(code)

    return handler


_ACTIONS: dict[str, Callable[..., Reply | None]] = {
    "os-start": _start, "os-stop": _stop, "reboot": _reboot,
    "pause": _no_argument("pause"), "unpause": _no_argument("unpause"),
    "suspend": _no_argument("suspend"), "resume": _no_argument("resume"),
    "rescue": _rescue, "unrescue": _no_argument("unrescue"),
    "lock": _lock, "unlock": _unlock,
    "createImage": _create_image, "createBackup": _create_backup,
    "rebuild": _rebuild,
    "shelve": _no_argument("shelve"), "shelveOffload": _shelve_offload,
    "unshelve": _unshelve,
    "os-resetState": _reset_state, "os-getConsoleOutput": _console_output,
    "restore": _restore, "forceDelete": _no_argument("force_delete"),
    "resize": _resize, "confirmResize": _end_resize("confirm_resize", 204),
    "revertResize": _end_resize("revert_resize", 202),
    "migrate": _migrate, "injectNetworkInfo": _inject_network_info,
    "addSecurityGroup": _security_group_action("add_security_group"),
    "removeSecurityGroup": _security_group_action("remove_security_group"),
    "addFloatingIp": floating_ips.add_floating_ip,
    "removeFloatingIp": floating_ips.remove_floating_ip,
}


# -- instance actions ------------------------------------------------------------------
def _action_view(request: APIRequest, row: dict) -> dict[str, Any]:
    view = {
        "action": row.get("action"),
        "instance_uuid": row.get("instance_uuid"),
        "message": row.get("message"),
        "project_id": row.get("project_id"),
        "request_id": row.get("request_id"),
        "start_time": common.microtime(row.get("start_time")),
        "user_id": row.get("user_id"),
    }
    if request.version.matches("2.58"):
        view["updated_at"] = common.microtime(row.get("updated_at") or row.get("start_time"))
    return view


def _event_view(request: APIRequest, event: dict, project_id: str | None) -> dict[str, Any]:
    view = {
        "event": event.get("event"),
        "start_time": common.microtime(event.get("start_time")),
        "finish_time": common.microtime(event.get("finish_time")),
        "result": event.get("result"),
    }
    if request.is_admin:
        view["traceback"] = event.get("traceback")
    if request.version.matches("2.62"):
        host = event.get("host")
        if request.is_admin:
            view["host"] = host
        view["hostId"] = _host_id(project_id, host)
    return view


def _server_uuid(server_id: str) -> str:
    if not common.is_uuid_like(server_id):
        raise faults.NotFound(f"Instance {server_id} could not be found.")
    return common.normalize_uuid(server_id)


def list_actions(request: APIRequest, server_id: str) -> Reply:
    """``GET /servers/{id}/os-instance-actions``: newest first (deleted servers too)."""
    rows = request.api.compute_api.actions_list(request.context, _server_uuid(server_id))
    return Reply(200, {"instanceActions": [_action_view(request, r) for r in rows]})


def show_action(request: APIRequest, server_id: str, request_id: str) -> Reply:
    """``GET /servers/{id}/os-instance-actions/{request_id}`` with its events."""
    row = request.api.compute_api.action_get(request.context, _server_uuid(server_id),
                                             request_id)
    view = _action_view(request, row)
    if request.is_admin or request.version.matches("2.51"):
        view["events"] = [_event_view(request, e, row.get("project_id"))
                          for e in row.get("events") or []]
    return Reply(200, {"instanceAction": view})
