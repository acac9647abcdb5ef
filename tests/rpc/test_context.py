"""The request context's dict form: to_dict, and from_dict's two ways of rebuilding."""

from __future__ import annotations

import contextvars

import pytest

from nova_sim import context as nova_context
from nova_sim import green
from nova_sim.context import RequestContext


def _by_init(values: dict, overwrite: bool = False) -> RequestContext:
    """What from_dict makes, spelt as the constructor call it stands for."""
    kwargs = {key: value for key, value in values.items()
              if key not in nova_context._NOT_KWARGS}
    return RequestContext(user_id=values.get("user_id") or values.get("user"),
                          project_id=values.get("project_id") or values.get("tenant"),
                          overwrite=overwrite, **kwargs)


@pytest.mark.parametrize("values", [
    {"user_id": "u", "project_id": "p", "is_admin": False, "request_id": "req-1",
     "global_request_id": "req-g", "roles": ["member", "reader"], "read_deleted": "yes",
     "user_name": "un", "project_name": "pn", "user": "u", "tenant": "p"},
    {"user": "u2", "tenant": "p2", "request_id": "req-2"},
    {"is_admin": True, "request_id": "req-3"},
    {"is_admin": None, "roles": None, "request_id": "req-4", "auth_token": "secret",
     "user_identity": "u p - - -"},
    # keys that are no field: the general way, into extra, in their order
    {"user_id": "u", "request_id": "req-5", "trace_id": "t", "domain": "d"},
])
def test_from_dict_is_the_constructor_call(values):
    with green.virtual_time(seed=1):
        assert vars(RequestContext.from_dict(values)) == vars(_by_init(values))


def test_from_dict_makes_a_request_id_and_current_only_when_asked():
    def check() -> None:
        with green.virtual_time(seed=1):
            first = RequestContext.from_dict({"user_id": "u"})
            second = RequestContext.from_dict({"user_id": "u"})
            assert first.request_id.startswith("req-")
            assert first.request_id != second.request_id
            assert nova_context.get_current() is None
            third = RequestContext.from_dict({"user_id": "u"}, overwrite=True)
            assert nova_context.get_current() is third

    # in a copy of the context: the current request context must not leak into other tests
    contextvars.copy_context().run(check)
    assert nova_context.get_current() is None


def test_to_dict_round_trip_with_and_without_extra():
    with green.virtual_time(seed=1):
        plain = RequestContext(user_id="u", project_id="p", overwrite=False)
        extra = RequestContext(user_id="u", project_id="p", overwrite=False, trace_id="t")
        assert list(plain.to_dict()) == [
            "user_id", "project_id", "is_admin", "request_id", "global_request_id", "roles",
            "read_deleted", "user_name", "project_name", "user", "tenant"]
        assert list(extra.to_dict()) == ["trace_id", *plain.to_dict()]
        for ctxt in (plain, extra):
            assert vars(RequestContext.from_dict(ctxt.to_dict())) == vars(ctxt)
        roles = plain.to_dict()["roles"]
        roles.append("x")  # the dict's list is its own
        assert plain.roles == ["member"]
