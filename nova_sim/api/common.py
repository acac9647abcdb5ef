"""Helpers shared by the API controllers: states, time stamps, links, paging, input checks.

Owns the vm_state/task_state -> API ``status`` mapping (Nova's
``nova/api/openstack/common.py``), time stamp rendering, self/bookmark links,
``limit``/``marker`` paging and the small validators that turn bad input into a 400 with a
message that says what is wrong. Must not know about the WSGI server or the RPC layer.
"""

from __future__ import annotations

import datetime
import re
import uuid as uuid_module
from typing import Any

from nova_sim.api import faults

# vm_state -> {task_state -> status}; "default" is used for any other task_state.
_STATE_MAP: dict[str, dict[Any, str]] = {
    "active": {
        "default": "ACTIVE",
        "rebooting": "REBOOT",
        "reboot_pending": "REBOOT",
        "reboot_started": "REBOOT",
        "rebooting_hard": "HARD_REBOOT",
        "reboot_pending_hard": "HARD_REBOOT",
        "reboot_started_hard": "HARD_REBOOT",
        "rebuilding": "REBUILD",
        "rebuild_block_device_mapping": "REBUILD",
        "rebuild_spawning": "REBUILD",
        "migrating": "MIGRATING",
        "resize_prep": "RESIZE",
        "resize_migrating": "RESIZE",
        "resize_migrated": "RESIZE",
        "resize_finish": "RESIZE",
        "set_admin_password": "PASSWORD",
    },
    "building": {"default": "BUILD"},
    "stopped": {
        "default": "SHUTOFF",
        "resize_prep": "RESIZE",
        "resize_migrating": "RESIZE",
        "resize_migrated": "RESIZE",
        "resize_finish": "RESIZE",
        "rebuilding": "REBUILD",
    },
    "resized": {"default": "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
    "paused": {"default": "PAUSED", "migrating": "MIGRATING"},
    "suspended": {"default": "SUSPENDED"},
    "rescued": {"default": "RESCUE"},
    "error": {"default": "ERROR", "rebuilding": "REBUILD"},
    "deleted": {"default": "DELETED"},
    "soft-delete": {"default": "SOFT_DELETED"},
    "shelved": {"default": "SHELVED"},
    "shelved_offloaded": {"default": "SHELVED_OFFLOADED"},
}

# status filter -> (vm_states, task_states or None for any)
_STATUS_FILTER: dict[str, tuple[list[str], list[str] | None]] = {
    "ACTIVE": (["active"], None),
    "BUILD": (["building"], None),
    "SHUTOFF": (["stopped"], None),
    "ERROR": (["error"], None),
    "DELETED": (["deleted"], None),
    "SOFT_DELETED": (["soft-delete"], None),
    "PAUSED": (["paused"], None),
    "SUSPENDED": (["suspended"], None),
    "RESCUE": (["rescued"], None),
    "SHELVED": (["shelved"], None),
    "SHELVED_OFFLOADED": (["shelved_offloaded"], None),
    "VERIFY_RESIZE": (["resized"], None),
    "REBOOT": (["active"], ["rebooting", "reboot_pending", "reboot_started"]),
    "HARD_REBOOT": (
        ["active"],
        ["rebooting_hard", "reboot_pending_hard", "reboot_started_hard"],
    ),
}


def status_from_state(vm_state: str | None, task_state: str | None) -> str:
    """The API ``status`` of an instance in ``vm_state`` doing ``task_state``."""
    task_map = _STATE_MAP.get(vm_state or "")
    if task_map is None:
        return "UNKNOWN"
    return task_map.get(task_state, task_map["default"])


def states_from_status(status: str) -> tuple[list[str], list[str] | None] | None:
    """``(vm_states, task_states)`` matching a ``status`` filter; None when unknown."""
    return _STATUS_FILTER.get(status.upper())


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _as_datetime(value: Any) -> datetime.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value
    if isinstance(value, (int, float)):
        return _EPOCH + datetime.timedelta(seconds=float(value))
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed
    return None


def epoch_seconds(value: Any) -> float | None:
    """A time stamp (ISO string, datetime or seconds) as seconds since the epoch; None
    when it is empty or unreadable."""
    moment = _as_datetime(value)
    return None if moment is None else (moment - _EPOCH).total_seconds()


# The database's time stamps: "2026-01-01T00:00:05.000000" (UTC, no zone).
_DB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def isotime(value: Any) -> str | None:
    """``2026-01-01T00:00:00Z`` (servers' created/updated); None stays None.

    Accepts a datetime, seconds since the epoch or an ISO 8601 string.
    """
    if type(value) is str and len(value) == 26 and value[10] == "T" and _DB_TIME.match(value):
        return value[:19] + "Z"
    parsed = _as_datetime(value)
    if parsed is None:
        return None
    return parsed.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def microtime(value: Any) -> str | None:
    """``2026-01-01T00:00:00.000000`` (services, launched_at, instance actions)."""
    if type(value) is str and _DB_TIME.match(value):
        return value
    parsed = _as_datetime(value)
    if parsed is None:
        return None
    return parsed.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


def links(base_url: str, collection: str, item_id: str) -> list[dict[str, str]]:
    """Nova's ``self`` (versioned) and ``bookmark`` (unversioned) links of an item.

    ``base_url`` is the host URL (``http://127.0.0.1:8774``).
    """
    return [
        {"rel": "self", "href": f"{base_url}/v2.1/{collection}/{item_id}"},
        {"rel": "bookmark", "href": f"{base_url}/{collection}/{item_id}"},
    ]


_UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def is_uuid_like(value: Any) -> bool:
    """True for a string that is a UUID (with or without dashes)."""
    return isinstance(value, str) and _UUID_RE.match(value) is not None


def normalize_uuid(value: str) -> str:
    """The canonical lower-case dashed form of a UUID string."""
    return str(uuid_module.UUID(value))


def parse_limit(params, max_limit: int) -> int:
    """The ``limit`` query parameter, capped at ``max_limit``; 400 when not a natural number."""
    raw = params.get("limit")
    if raw is None:
        return max_limit
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise faults.BadRequest(f"limit param must be an integer, got {raw!r}.")
    if limit < 0:
        raise faults.BadRequest("limit param must be positive")
    return min(limit, max_limit)


def paginate(items: list[dict], params, max_limit: int, key: str = "id") -> tuple[list, bool]:
    """Apply ``marker`` (exclusive) and ``limit`` to ``items``.

    Returns ``(page, full)`` where ``full`` tells that the page holds ``limit`` items (so a
    ``next`` link is due, as in Nova). An unknown marker is a 400, as in Nova.
    """
    limit = parse_limit(params, max_limit)
    marker = params.get("marker")
    if marker is not None:
        for index, item in enumerate(items):
            if str(item.get(key)) == marker:
                items = items[index + 1 :]
                break
        else:
            raise faults.BadRequest(f"marker [{marker}] not found")
    page = items[:limit]
    # Nova adds a "next" link whenever a page is full, even when nothing follows.
    return page, limit > 0 and len(page) == limit


def next_link(base_url: str, collection: str, params, marker: str) -> list[dict[str, str]]:
    """The ``<collection>_links`` list holding the ``next`` page link."""
    from urllib.parse import urlencode

    query = [(k, v) for k, v in params.items() if k != "marker"]
    query.append(("marker", marker))
    return [{"rel": "next", "href": f"{base_url}/v2.1/{collection}?{urlencode(query)}"}]


def invalid_field(name: str, value: Any, reason: str) -> faults.BadRequest:
    """A 400 in the words of Nova's schema validation errors."""
    shown = value if not isinstance(value, str) else value[:255]
    return faults.BadRequest(f"Invalid input for field/attribute {name}. Value: {shown}. {reason}")


def require_dict(body: Any, key: str) -> dict:
    """``body[key]`` when ``body`` is an object holding an object under ``key``; else 400."""
    if not isinstance(body, dict):
        raise faults.BadRequest("The request body must be a JSON object.")
    if key not in body:
        raise faults.BadRequest(f"Invalid input for field/attribute {key}. '{key}' is a "
                                "required property")
    value = body[key]
    if not isinstance(value, dict):
        raise invalid_field(key, value, f"{_json_repr(value)} is not of type 'object'")
    return value


def check_properties(spec: dict, field: str, allowed: set[str] | frozenset[str],
                     required: tuple[str, ...] = ()) -> None:
    """400 in the words of Nova's schema errors when the object ``field`` (``spec``) holds
    a key outside ``allowed`` or lacks one of ``required``."""
    extra = sorted(set(spec) - set(allowed))
    if extra:
        raise faults.BadRequest(f"Invalid input for field/attribute {field}. Additional "
                                f"properties are not allowed ({extra[0]!r} was unexpected)")
    for key in required:
        if key not in spec:
            raise faults.BadRequest(f"Invalid input for field/attribute {field}. '{key}' is "
                                    "a required property")


def _json_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 255 else text[:252] + "..."


def check_string(name: str, value: Any, min_length: int = 0, max_length: int = 255,
                 allow_none: bool = False) -> str | None:
    """Validate a string field of a request body; 400 with Nova's wording otherwise."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise invalid_field(name, value, f"{_json_repr(value)} is not of type 'string'")
    if len(value) < min_length:
        raise invalid_field(name, value, f"{_json_repr(value)} is too short")
    if len(value) > max_length:
        raise invalid_field(name, value, f"{_json_repr(value)[:40]}... is too long")
    return value


def check_positive_int(name: str, value: Any) -> int:
    """An integer >= 1 (an int or a string of digits, as Nova's schema allows)."""
    if isinstance(value, bool):
        raise invalid_field(name, value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value):
        number = int(value)
    else:
        raise invalid_field(name, value, f"{_json_repr(value)} is not a positive integer")
    if number < 1:
        raise invalid_field(name, value, f"{number} is less than the minimum of 1")
    return number


_SCHEMA_TRUE = frozenset(["True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
                          "y", "t"])
_SCHEMA_FALSE = frozenset(["False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
                           "no", "n", "f"])


def schema_boolean(name: str, value: Any) -> bool:
    """A boolean as Nova's schemas take one (``parameter_types.boolean``): ``true`` /
    ``false`` or one of the strings ``"True"``, ``"yes"``, ``"1"``, ``"off"``...; 400
    otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _SCHEMA_TRUE:
        return True
    if isinstance(value, str) and value in _SCHEMA_FALSE:
        return False
    raise invalid_field(name, value, f"{_json_repr(value)} is not one of the boolean values")


def check_non_negative_int(name: str, value: Any) -> int:
    """An integer >= 0 (an int or a string of digits); 400 otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value):
        return int(value)
    raise invalid_field(name, value, f"{_json_repr(value)} is not a non-negative integer")


def bool_from_string(value: Any, strict: bool = False, default: bool = False) -> bool:
    """Interpret ``"True"``/``"1"``/``"yes"``... as True (oslo's bool_from_string)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "t", "true", "on", "y", "yes"):
        return True
    if text in ("0", "f", "false", "off", "n", "no"):
        return False
    if strict:
        raise faults.BadRequest(f"Invalid boolean value {value!r}.")
    return default
