"""The wire format, checked against oslo.messaging's own functions."""

from __future__ import annotations

import json

import pytest
from oslo_messaging._drivers import common as oslo_common

from nova_sim import green
from nova_sim.rpc import exceptions, wire


def test_encode_is_byte_identical_to_oslo_messaging():
    message = wire.request("ping", {"arg": "héllo", "n": [1, 2]}, {"user": "u", "roles": ["a"]},
                           version="6.0", reply_q="reply_x", call_monitor_timeout=None)
    assert wire.encode(message) == json.dumps(oslo_common.serialize_msg(message))


def test_request_keys_in_oslo_order():
    with green.virtual_time(seed=3):
        call = wire.request("ping", {"a": 1}, {"user": "u"}, namespace="ns", version="6.0",
                            reply_q="reply_q1", call_monitor_timeout=10)
        cast = wire.request("ping", {"a": 1}, {"user": "u"})
    assert list(call) == ["method", "args", "namespace", "version", "_msg_id", "_reply_q",
                          "_timeout", "_unique_id", "_context_user"]
    assert list(cast) == ["method", "args", "_unique_id", "_context_user"]
    assert len(call["_msg_id"]) == 32 and int(call["_msg_id"], 16) >= 0
    assert call["_timeout"] == 10


def test_ids_repeat_under_a_seed():
    def ids():
        with green.virtual_time(seed=42):
            return [wire.new_id() for _ in range(3)]

    assert ids() == ids()


def test_decode_round_trip_and_oslo_body():
    message = {"method": "m", "args": {}, "_context_user": "u"}
    assert wire.decode(wire.encode(message)) == message
    assert wire.decode(json.dumps(oslo_common.serialize_msg(message)).encode()) == message
    # envelope 1.0: a bare dict is the message
    assert wire.decode('{"method": "m"}') == {"method": "m"}


@pytest.mark.parametrize("body", [
    b"not json", "[1, 2]", '{"oslo.version": "2.0", "oslo.message": "{broken"}',
    '{"oslo.version": "2.0", "oslo.message": "[1]"}',
    '{"oslo.version": "3.0", "oslo.message": "{}"}',
])
def test_decode_rejects_bad_bodies(body):
    with pytest.raises(wire.WireError):
        wire.decode(body)


def test_unpack_context():
    message = {"method": "m", "_context_user": "u", "_context_roles": ["r"]}
    assert wire.unpack_context(message) == {"user": "u", "roles": ["r"]}
    assert message == {"method": "m"}


def test_context_keys_are_the_same_when_learnt():
    # the first message teaches the key tables, the second reads them: same answers
    message = {"method": "m", "_context_": 0, "_context_user": "u", "_contexts": 1,
               "_context_roles": ["r"], "args": {}}
    first, second = wire.context_of(message), wire.context_of(message)
    assert first == second == {"": 0, "user": "u", "roles": ["r"]}
    assert list(first) == ["", "user", "roles"]
    packed: dict = {}
    wire.pack_context(packed, first)
    wire.pack_context(packed, {"roles": ["s"], "tenant": "t"})
    assert packed == {"_context_": 0, "_context_user": "u", "_context_roles": ["s"],
                      "_context_tenant": "t"}


def test_context_keys_beyond_the_tables_size(monkeypatch):
    monkeypatch.setattr(wire, "_CONTEXT_KEYS", {})
    monkeypatch.setattr(wire, "_PREFIXED_KEYS", {})
    monkeypatch.setattr(wire, "_CONTEXT_KEYS_SIZE", 2)
    message = {f"_context_k{n}": n for n in range(5)} | {"method": "m"}
    assert wire.context_of(message) == {f"k{n}": n for n in range(5)}
    assert wire.context_of(message) == {f"k{n}": n for n in range(5)}
    packed: dict = {}
    wire.pack_context(packed, {f"k{n}": n for n in range(5)})
    assert packed == {f"_context_k{n}": n for n in range(5)}
    assert len(wire._CONTEXT_KEYS) == len(wire._PREFIXED_KEYS) == 2


@pytest.mark.parametrize("implemented,requested,ok", [
    ("6.0", "6.0", True), ("6.2", "6.1", True), ("6.1", "6.2", False), ("6.0", "5.0", False),
    ("5.9", "6.0", False), ("1.2.3", "1.2.2", True), ("1.2.3", "1.2.4", False),
    (None, "9.9", True), ("1.0", None, False),
])
def test_version_is_compatible_matches_oslo(implemented, requested, ok):
    from oslo_messaging._utils import version_is_compatible

    assert wire.version_is_compatible(implemented, requested) is ok
    assert version_is_compatible(implemented, requested) is ok


def test_failure_of_our_errors_uses_oslo_modules():
    failure = json.loads(exceptions.serialize_failure(exceptions.NoSuchMethod("nope")))
    assert failure["class"] == "NoSuchMethod"
    assert failure["module"] == "oslo_messaging.rpc.dispatcher"
    assert failure["message"] == "Endpoint does not support RPC method nope"
    assert failure["args"] == ["Endpoint does not support RPC method nope"]
    assert set(failure) == {"class", "module", "message", "tb", "args", "kwargs"}


def test_oslo_failures_map_back_to_our_classes():
    import oslo_messaging
    from oslo_messaging.rpc import dispatcher as oslo_dispatcher

    for oslo_error, ours in [
        (oslo_dispatcher.NoSuchMethod("m"), exceptions.NoSuchMethod),
        (oslo_dispatcher.UnsupportedVersion("9.0", method="m"), exceptions.UnsupportedVersion),
        (oslo_messaging.MessagingTimeout("slow"), exceptions.MessagingTimeout),
    ]:
        try:
            raise oslo_error
        except Exception as error:
            data = oslo_common.serialize_remote_exception((type(error), error, None))
        rebuilt = exceptions.deserialize_failure(data)
        assert isinstance(rebuilt, ours), rebuilt
        assert str(oslo_error) in str(rebuilt)


def test_our_failures_read_by_oslo():
    import oslo_messaging
    from oslo_messaging.rpc import dispatcher as oslo_dispatcher

    data = exceptions.serialize_failure(exceptions.NoSuchMethod("m"))
    allowed = ["oslo_messaging.rpc.dispatcher"]
    rebuilt = oslo_common.deserialize_remote_exception(data, allowed)
    assert isinstance(rebuilt, oslo_dispatcher.NoSuchMethod)
    # not allowed: RemoteError naming the class
    remote = oslo_common.deserialize_remote_exception(data, [])
    assert isinstance(remote, oslo_messaging.RemoteError)
    assert remote.exc_type == "NoSuchMethod"


def test_builtins_allowed_modules_and_remote_error():
    try:
        raise KeyError("k")
    except KeyError as error:
        data = exceptions.serialize_failure(error)
    rebuilt = exceptions.deserialize_failure(data)
    assert type(rebuilt) is KeyError and "Traceback" in rebuilt.args[0]

    data = exceptions.serialize_failure(_Custom("boom", code=7))
    remote = exceptions.deserialize_failure(data)
    assert isinstance(remote, exceptions.RemoteError)
    assert remote.exc_type == "_Custom" and remote.value == "boom"
    allowed = exceptions.deserialize_failure(data, allowed_remote_exmods=[__name__])
    assert isinstance(allowed, _Custom) and allowed.kwargs == {"code": 7}
    assert type(allowed).__name__ == "_Custom_Remote"
    # a _Remote exception re-sent keeps its original name
    again = json.loads(exceptions.serialize_failure(allowed))
    assert (again["class"], again["module"]) == ("_Custom", __name__)


def test_undecodable_failure_becomes_remote_error():
    assert isinstance(exceptions.deserialize_failure("{nope"), exceptions.RemoteError)
    assert isinstance(exceptions.deserialize_failure('{"class": "Nope", "module": "x"}'),
                      exceptions.RemoteError)


class _Custom(Exception):
    def __init__(self, message, code=0):
        super().__init__(message)
        self.kwargs = {"code": code}
