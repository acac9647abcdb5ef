"""``wire.copy_message`` gives what the JSON round trip gives, and fails as it fails."""

from __future__ import annotations

import collections
import enum
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nova_sim.rpc import wire


def round_trip(message):
    return wire.decode(wire.encode(message))


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


class Ratio(float):
    pass


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(),
    st.floats(allow_nan=False), st.sampled_from([Color.RED, Name("n"), Ratio(0.5)]),
)
keys = st.one_of(st.text(), st.integers(), st.booleans(), st.none(),
                 st.floats(allow_nan=True), st.sampled_from([Name("k"), Color.RED]))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(st.text(), children, max_size=3).map(collections.OrderedDict),
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_copy_equals_the_json_round_trip(message):
    copy = wire.copy_message(message)
    expected = round_trip(message)
    assert copy == expected
    assert repr(copy) == repr(expected)  # same types (int, not IntEnum) and key order


def test_copy_shares_nothing_with_the_message():
    inner = {"a": [1, {"b": 2}]}
    message = {"args": inner, "twice": [inner, inner]}
    copy = wire.copy_message(message)
    copy["args"]["a"][1]["b"] = 3
    copy["twice"][0]["a"].append(4)
    assert message == {"args": {"a": [1, {"b": 2}]}, "twice": [inner, inner]}
    assert copy["twice"][1] == {"a": [1, {"b": 2}]}  # each occurrence is its own copy


def test_special_floats_and_keys():
    copy = wire.copy_message({"nan": math.nan, 1.5: "x", float("inf"): 1, True: 0, None: 1})
    assert math.isnan(copy["nan"])
    assert list(copy)[1:] == ["1.5", "Infinity", "true", "null"]


@pytest.mark.parametrize("message", [
    {"args": {"when": object()}},
    {"args": [1, {2, 3}]},
    {"args": b"bytes"},
    {(1, 2): "tuple key"},
])
def test_copy_refuses_what_json_refuses(message):
    with pytest.raises(TypeError) as expected:
        wire.encode(message)
    with pytest.raises(TypeError) as got:
        wire.copy_message(message)
    assert str(got.value) == str(expected.value)


def test_circular_references_are_refused_as_json_refuses_them():
    looped: dict = {"a": []}
    looped["a"].append(looped)
    for function in (wire.encode, wire.copy_message):
        with pytest.raises(ValueError, match="Circular reference detected"):
            function({"args": looped})


def _nested(depth: int, leaf: object) -> dict:
    message: dict = {"leaf": leaf}
    for level in range(depth):
        message = {"level": level, "inner": [message]}
    return message


def test_deep_messages_copy_as_the_json_round_trip_gives_them():
    # deeper than the untracked first pass: copied again with tracking, same result
    message = _nested(wire._UNTRACKED_DEPTH + 10, (1, "x"))
    assert wire.copy_message(message) == wire.decode(wire.encode(message))


def test_the_first_problem_met_is_the_one_raised_at_any_depth():
    looped: dict = {"a": []}
    looped["a"].append(looped)
    # a circular reference met before a bad value: ValueError, as json says
    circular_first = {"args": [looped, object()]}
    # a bad value met before a circular reference: TypeError, as json says
    bad_first = {"args": [_nested(wire._UNTRACKED_DEPTH + 5, object()), looped]}
    for message, error in ((circular_first, ValueError), (bad_first, TypeError)):
        with pytest.raises(error) as expected:
            wire.encode(message)
        with pytest.raises(error) as got:
            wire.copy_message(message)
        assert str(got.value) == str(expected.value)
