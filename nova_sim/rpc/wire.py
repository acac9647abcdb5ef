"""The wire format of oslo.messaging's AMQP drivers (envelope 2.0).

Owns how a message dict becomes bytes and back, and the names of its keys:

- body ``{"oslo.version": "2.0", "oslo.message": "<the message dict as a JSON string>"}``;
- requests: ``method``, ``args`` (kwargs), ``namespace`` and ``version`` when set, and for
  calls ``_msg_id``, ``_reply_q``, ``_timeout`` (the call-monitor timeout); then
  ``_unique_id`` and the context flattened into ``_context_<key>`` keys;
- replies: ``result``, ``failure`` (a JSON string, see ``exceptions``), ``ending``
  (False for call-monitor heartbeats), ``_msg_id``, ``_unique_id``.

Every transport moves exactly these bytes (the green one too), so what cannot cross a
real wire fails the same way in process. Must not know about transports or the hub.
"""

from __future__ import annotations

import json
from typing import Any

from nova_sim import green
from nova_sim.green.hub import UUID4_CLEAR, UUID4_SET

VERSION_KEY = "oslo.version"
MESSAGE_KEY = "oslo.message"
ENVELOPE_VERSION = "2.0"
CONTEXT_PREFIX = "_context_"
_PREFIX_LENGTH = len(CONTEXT_PREFIX)
CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"

# json.dumps' defaults (what oslo.messaging's jsonutils.dumps writes), minus its Python
# dispatch; the envelope is assembled around the message's JSON as a quoted string.
_dumps = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": ")).encode
_quote = json.encoder.encode_basestring_ascii
_ENVELOPE_HEAD = '{"%s": "%s", "%s": ' % (VERSION_KEY, ENVELOPE_VERSION, MESSAGE_KEY)
_HEAD_LENGTH = len(_ENVELOPE_HEAD)
_scanstring = json.decoder.scanstring
_decoder = json.JSONDecoder()
_scan_once = _decoder.scan_once
_loads = json.loads


class WireError(ValueError):
    """The bytes are not an oslo.messaging message (bad JSON, no envelope...)."""


def new_id() -> str:
    """A 32-hex-digit id, as ``uuid4().hex``, from the hub's generator: the same id
    ``green.random_uuid()`` would give (without dashes), so repeatable under a seeded
    virtual clock, at a fraction of the cost."""
    bits = green.get_hub().random.getrandbits(128)
    return "%032x" % ((bits & UUID4_CLEAR) | UUID4_SET)


def encode(message: dict[str, Any]) -> str:
    """The JSON body for ``message`` (raises TypeError when it holds non-JSON values).

    Byte for byte what oslo.messaging writes: ``json.dumps({"oslo.version": "2.0",
    "oslo.message": json.dumps(message)})``.
    """
    return _ENVELOPE_HEAD + _quote(_dumps(message)) + "}"


def copy_message(message: dict[str, Any]) -> dict[str, Any]:
    """What ``decode(encode(message))`` gives, without the bytes: the in-process fast path.

    A deep copy made of JSON's types only (dicts, lists, str, int, float, bool, None), as
    the JSON round trip would make it: tuples become lists, subclasses of str, int, float,
    dict, list and tuple become the base type, non-string keys become JSON's strings
    (``1`` -> ``"1"``, ``True`` -> ``"true"``, ``None`` -> ``"null"``). It fails where
    ``encode`` fails and with the same errors: ``TypeError`` for a value or key JSON cannot
    hold, ``ValueError`` for a circular reference. Nothing of the copy is shared with
    ``message``, so the receiver may change it freely, as one that decoded its own bytes.

    Messages are shallow, so the copy first runs without tracking the containers it is
    in (a circular reference then shows as nesting deeper than ``_UNTRACKED_DEPTH``),
    and only a message that deep is copied again with tracking, to tell a circular
    reference (``ValueError``) from mere depth. Either way the first problem met in the
    traversal is the one raised, as ``encode`` raises it.
    """
    try:
        return _copy_dict(message, None, 0)
    except _TooDeep:
        return _copy_dict(message, set(), 0)


#: How deep ``copy_message`` goes before it tracks containers to find circular ones.
_UNTRACKED_DEPTH = 64


class _TooDeep(Exception):
    """An untracked copy went deeper than ``_UNTRACKED_DEPTH``."""


def _enter(value: Any, active: set[int] | None, depth: int) -> None:
    """Going into a container: raise ``ValueError`` for a circular reference (tracked
    copy) or ``_TooDeep`` past ``_UNTRACKED_DEPTH`` (untracked copy)."""
    if active is None:
        raise _TooDeep()
    ident = id(value)
    if ident in active:
        raise ValueError("Circular reference detected")
    active.add(ident)


def _copy_dict(value: Any, active: set[int] | None, depth: int) -> dict[str, Any]:
    if active is not None or depth > _UNTRACKED_DEPTH:
        _enter(value, active, depth)
    depth += 1
    copy: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            key = _copy_key(key)
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool or kind is float:
            copy[key] = item
        elif kind is dict:
            copy[key] = _copy_dict(item, active, depth)
        elif kind is list:
            copy[key] = _copy_list(item, active, depth)
        else:
            copy[key] = _copy_value(item, active, depth)
    if active is not None:
        active.discard(id(value))
    return copy


def _copy_list(value: Any, active: set[int] | None, depth: int) -> list[Any]:
    if active is not None or depth > _UNTRACKED_DEPTH:
        _enter(value, active, depth)
    depth += 1
    copy = []
    append = copy.append
    for item in value:
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool or kind is float:
            append(item)
        elif kind is dict:
            append(_copy_dict(item, active, depth))
        else:
            append(_copy_value(item, active, depth))
    if active is not None:
        active.discard(id(value))
    return copy


def _copy_value(value: Any, active: set[int] | None, depth: int) -> Any:
    """Any value, in the order json's encoder tests the types."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool or kind is float:
        return value
    if kind is dict:
        return _copy_dict(value, active, depth)
    if kind is list or kind is tuple:
        return _copy_list(value, active, depth)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, (list, tuple)):
        return _copy_list(value, active, depth)
    if isinstance(value, dict):
        return _copy_dict(value, active, depth)
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


def _copy_key(key: Any) -> str:
    """A dict key as JSON writes it (a string), or TypeError as json does."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        # int's and float's own spelling (NaN, Infinity, 1e+16...): ask json itself
        return _loads(_dumps({key: 0})).popitem()[0]
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _load(text: str | bytes | bytearray) -> Any:
    """json.loads for bodies that start with their value (the usual case), faster."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return _loads(text)  # leading whitespace, or invalid: let json say why
    if end != len(text) and text[end:].strip():
        return _loads(text)  # raises "Extra data"
    return value


def decode(body: str | bytes | dict) -> dict[str, Any]:
    """The message dict inside a body; raises :class:`WireError` when it is not one.

    As oslo.messaging does, a dict without the envelope keys is taken as the message
    itself (envelope 1.0).
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WireError(f"body is not UTF-8: {error}")
    if isinstance(body, str) and body.startswith(_ENVELOPE_HEAD) and body[_HEAD_LENGTH] == '"':
        # the usual body, as encode() writes it: read the quoted message directly
        try:
            inner, end = _scanstring(body, _HEAD_LENGTH + 1)
        except ValueError:
            inner, end = None, 0
        if inner is not None and body[end:].rstrip() == "}":
            return _message(inner)
    try:
        outer = _load(body) if isinstance(body, str) else body
    except ValueError as error:
        raise WireError(f"body is not JSON: {error}")
    if not isinstance(outer, dict):
        raise WireError(f"body is not a JSON object: {type(outer).__name__}")
    if VERSION_KEY not in outer or MESSAGE_KEY not in outer:
        return outer
    version = outer[VERSION_KEY]
    if version != ENVELOPE_VERSION:
        try:
            compatible = version_is_compatible(ENVELOPE_VERSION, str(version))
        except ValueError:
            compatible = False
        if not compatible:
            raise WireError(f"unsupported envelope version {version}")
    return _message(outer[MESSAGE_KEY])


def _message(text: Any) -> dict[str, Any]:
    """The message dict of the envelope's ``oslo.message`` text; ``WireError`` when it
    is not a JSON object."""
    try:
        message = _load(text)
    except (TypeError, ValueError) as error:
        raise WireError(f"oslo.message is not JSON: {error}")
    if not isinstance(message, dict):
        raise WireError("oslo.message is not a JSON object")
    return message


#: How many keys the tables of context keys below learn (keys from the wire could be
#: anything: beyond, keys are worked out each time).
_CONTEXT_KEYS_SIZE = 4096
#: context key -> ``_context_<key>``, made once (and its hash with it) for the few keys
#: contexts have
_PREFIXED_KEYS: dict[str, str] = {}


def _prefixed_key(key: str) -> str:
    prefixed = CONTEXT_PREFIX + key
    if len(_PREFIXED_KEYS) < _CONTEXT_KEYS_SIZE:
        _PREFIXED_KEYS[key] = prefixed
    return prefixed


def pack_context(message: dict[str, Any], context: dict[str, Any]) -> None:
    """Add ``context``'s items to ``message`` as ``_context_<key>`` keys."""
    prefixed = _PREFIXED_KEYS.get
    for key, value in context.items():
        message[prefixed(key) or _prefixed_key(key)] = value


#: key of a message -> its context key without the prefix, or False for any other key:
#: the few keys messages use are told apart by one lookup, not a slice and a comparison
#: each
_CONTEXT_KEYS: dict[str, str | bool] = {}


def _context_key(key: str) -> str | bool:
    """``key`` without ``_context_``, or False when it is not a context key (learnt)."""
    short: str | bool = (key[_PREFIX_LENGTH:] if key[:_PREFIX_LENGTH] == CONTEXT_PREFIX
                         else False)
    if len(_CONTEXT_KEYS) < _CONTEXT_KEYS_SIZE:
        _CONTEXT_KEYS[key] = short
    return short


def context_of(message: dict[str, Any]) -> dict[str, Any]:
    """The ``_context_*`` keys of ``message`` as a dict (``message`` is not changed)."""
    context = {}
    known = _CONTEXT_KEYS.get
    for key, value in message.items():
        short = known(key)
        if short is None:
            short = _context_key(key)
        if short is not False:
            context[short] = value
    return context


def unpack_context(message: dict[str, Any]) -> dict[str, Any]:
    """Remove the ``_context_*`` keys from ``message`` and return them as a dict."""
    context = context_of(message)
    for key in context:
        del message[CONTEXT_PREFIX + key]
    return context


def request(
    method: str,
    args: dict[str, Any],
    context: dict[str, Any],
    namespace: str | None = None,
    version: str | None = None,
    reply_q: str | None = None,
    call_monitor_timeout: float | None = None,
) -> dict[str, Any]:
    """A request dict, keys in oslo.messaging's order (calls when ``reply_q`` is set)."""
    message: dict[str, Any] = {"method": method, "args": args}
    if namespace is not None:
        message["namespace"] = namespace
    if version is not None:
        message["version"] = version
    if reply_q is not None:
        message["_msg_id"] = new_id()
        message["_reply_q"] = reply_q
        message["_timeout"] = call_monitor_timeout
    message["_unique_id"] = new_id()
    pack_context(message, context)
    return message


def reply(msg_id: str, result: Any = None, failure: str | None = None,
          ending: bool = True) -> dict[str, Any]:
    """A reply dict (``ending=False``: a call-monitor heartbeat)."""
    return {
        "result": result,
        "failure": failure,
        "ending": ending,
        "_msg_id": msg_id,
        "_unique_id": new_id(),
    }


def version_is_compatible(implemented: str | None, requested: str | None) -> bool:
    """True when an endpoint at ``implemented`` can serve ``requested``.

    Same major, requested minor (and revision) not above the implemented one. ``None``
    implemented accepts everything; ``None`` requested is refused by a versioned side.
    Raises ValueError for versions that are not ``major.minor[.rev]`` integers.
    """
    if implemented is None:
        return True
    if requested is None:
        return False
    want = [int(part) for part in str(requested).split(".")]
    have = [int(part) for part in str(implemented).split(".")]
    if len(want) < 2 or len(have) < 2:
        raise ValueError(f"version must be major.minor: {requested!r} / {implemented!r}")
    want += [0] * (3 - len(want))
    have += [0] * (3 - len(have))
    if want[0] != have[0]:
        return False
    if want[1] != have[1]:
        return want[1] < have[1]
    return want[2] <= have[2]
