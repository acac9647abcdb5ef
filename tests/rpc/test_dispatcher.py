"""Endpoint selection: namespaces, versions, private methods."""

from __future__ import annotations

import pytest

from nova_sim.rpc import NoSuchMethod, RPCDispatcher, Target, UnsupportedVersion


class Compute:
    target = Target(version="6.2")

    def ping(self, ctxt, arg):
        return ("compute", ctxt, arg)

    def _secret(self, ctxt):
        return "leaked"


class ComputeTask:
    target = Target(namespace="compute_task", version="1.25")

    def ping(self, ctxt, arg):
        return ("compute_task", arg)


class Plain:  # no target: version 1.0, no namespace
    def hello(self, ctxt):
        return "hi"


@pytest.fixture
def dispatcher():
    return RPCDispatcher([Compute(), ComputeTask(), Plain()])


def dispatch(dispatcher, method, namespace=None, version=None, **args):
    message = {"method": method, "args": args}
    if namespace:
        message["namespace"] = namespace
    if version:
        message["version"] = version
    return dispatcher.dispatch(message, {"user": "u"})


def test_selects_by_namespace_and_version(dispatcher):
    assert dispatch(dispatcher, "ping", version="6.0", arg=1) == ("compute", {"user": "u"}, 1)
    assert dispatch(dispatcher, "ping", namespace="compute_task", version="1.3", arg=2) == (
        "compute_task", 2)
    assert dispatch(dispatcher, "hello") == "hi"  # no version means 1.0


@pytest.mark.parametrize("version", ["6.3", "7.0", "5.0"])
def test_unsupported_version(dispatcher, version):
    with pytest.raises(UnsupportedVersion) as raised:
        dispatch(dispatcher, "ping", version=version, arg=1)
    assert str(raised.value) == (
        f"Endpoint does not support RPC version {version}. Attempted method: ping")


def test_unknown_namespace_is_unsupported_version(dispatcher):
    with pytest.raises(UnsupportedVersion):
        dispatch(dispatcher, "ping", namespace="nope", version="1.0", arg=1)


@pytest.mark.parametrize("method", ["nothere", "_secret", "__init__", "target"])
def test_no_such_method_and_private_never_dispatched(dispatcher, method):
    with pytest.raises(NoSuchMethod) as raised:
        dispatch(dispatcher, method, version="6.0")
    assert raised.value.method == method


def test_bad_args_and_bad_version(dispatcher):
    with pytest.raises(TypeError):
        dispatcher.dispatch({"method": "ping", "version": "6.0", "args": [1]}, {})
    with pytest.raises(UnsupportedVersion):
        dispatch(dispatcher, "ping", version="six")
    with pytest.raises(NoSuchMethod):
        dispatcher.dispatch({"method": None}, {})


def test_reserved_target_attribute():
    class Bad:
        target = "nope"

    with pytest.raises(TypeError):
        RPCDispatcher([Bad()])


def test_serializer_is_applied():
    class Doubling:
        def serialize_entity(self, ctxt, entity):
            return ("out", entity)

        def deserialize_entity(self, ctxt, entity):
            return ("in", entity)

        def serialize_context(self, ctxt):
            return ctxt

        def deserialize_context(self, ctxt):
            return ctxt

    dispatcher = RPCDispatcher([Plain(), Compute()], Doubling())
    result = dispatcher.dispatch({"method": "ping", "version": "6.0", "args": {"arg": 1}}, "c")
    assert result == ("out", ("compute", "c", ("in", 1)))


@pytest.mark.parametrize("method,version,error", [
    ("nothere", "6.0", NoSuchMethod),
    ("ping", "9.0", UnsupportedVersion),
    ("ping", "six", UnsupportedVersion),
])
def test_each_failed_lookup_raises_a_new_exception(dispatcher, method, version, error):
    """An exception object raised again grows its traceback: failure replies would grow
    with every bad request."""
    from nova_sim.rpc.exceptions import serialize_failure

    raised = []
    for _ in range(100):
        with pytest.raises(error) as info:
            dispatch(dispatcher, method, version=version)
        raised.append(info.value)
    assert len({id(exc) for exc in raised}) == 100
    sizes = {len(serialize_failure(exc)) for exc in raised}
    assert len(sizes) == 1, sizes


def test_the_lookup_cache_is_bounded(dispatcher, monkeypatch):
    from nova_sim.rpc import dispatcher as dispatcher_module

    monkeypatch.setattr(dispatcher_module, "CACHE_SIZE", 8)
    for zeros in range(1, 30):  # "6.0", "6.00"...: each a new key that finds ping
        assert dispatch(dispatcher, "ping", version="6." + "0" * zeros, arg=zeros)[2] == zeros
        with pytest.raises(NoSuchMethod):
            dispatch(dispatcher, f"junk{zeros}", version="6.0")
        assert 1 <= len(dispatcher._cache) <= 8
