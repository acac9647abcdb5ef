"""The dispatcher: which endpoint method a request runs, and running it.

Owns endpoint selection (namespace, version, method name, privacy) and the call of the
endpoint method with the rebuilt context and arguments. Must not know about transports,
replies or the hub: the server calls :meth:`RPCDispatcher.dispatch` on its own
greenthread and turns a raised exception into a failure reply.

Selection, as oslo.messaging's: an endpoint serves a request when the request's
``namespace`` is one its ``target`` accepts (``None`` by default) and its version
(``target.version``, default ``"1.0"``) has the same major and a minor not below the
requested one (a request with no version asks for ``"1.0"``). Among those, the first
endpoint with a public method of that name runs it. If some endpoint matched but none
has the method, :class:`NoSuchMethod`; if none matched, :class:`UnsupportedVersion`.
A name starting with ``_`` is never dispatched.

:func:`expected_exceptions` marks the errors an endpoint method raises as answers
(the server then logs them at debug, not as its own failure).

Lookups that found a method are cached (the cache is bounded: junk from the wire cannot
grow it for ever). A failed lookup is not: each raises a new exception, because an
exception object raised again keeps its old traceback and grows it, and a failure
reply carries that traceback.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from nova_sim.rpc.exceptions import ExpectedException, NoSuchMethod, UnsupportedVersion
from nova_sim.rpc.serializer import NoOpSerializer, Serializer, passes_entities
from nova_sim.rpc.target import Target
from nova_sim.rpc.wire import version_is_compatible

_DEFAULT_TARGET = Target()
#: How many successful lookups the dispatcher remembers (the cache is emptied beyond).
CACHE_SIZE = 1024


_Function = TypeVar("_Function", bound=Callable[..., Any])


def expected_exceptions(*exceptions: type[BaseException]) -> Callable[[_Function], _Function]:
    """Mark an endpoint method whose ``exceptions`` are answers, not faults.

    When the method, dispatched by RPC, raises one of them (or a subclass), the caller
    still gets it back as that error with its remote traceback, but the server logs it
    at debug instead of as an exception during message handling (the dispatcher
    re-raises it wrapped in :class:`ExpectedException`). Other errors pass unchanged.
    Unlike oslo.messaging's decorator of that name, the method itself is not wrapped:
    called directly (in-process, in a test) it raises its own errors. Example::

        @rpc.expected_exceptions(exception.NoValidHost)
        def select_destinations(self, ctxt, ...): ...
    """

    def mark(function: _Function) -> _Function:
        function.rpc_expected_exceptions = (  # type: ignore[attr-defined]
            *getattr(function, "rpc_expected_exceptions", ()), *exceptions)
        return function

    return mark


class RPCDispatcher:
    """Finds and calls endpoint methods for decoded requests."""

    def __init__(self, endpoints: list[Any], serializer: Serializer | None = None):
        for endpoint in endpoints:
            target = getattr(endpoint, "target", None)
            if target is not None and not isinstance(target, Target):
                raise TypeError(
                    f"'target' is a reserved endpoint attribute and must be a Target: "
                    f"endpoint={endpoint!r}"
                )
        self.endpoints = list(endpoints)
        self.serializer = serializer or NoOpSerializer()
        self._plain_entities = passes_entities(self.serializer)
        self._cache: dict[tuple, Any] = {}

    def lookup(self, method: Any, namespace: Any, version: Any) -> Any:
        """The bound endpoint method for a request.

        Raises a new NoSuchMethod or UnsupportedVersion on every call that finds none
        (also for malformed versions and method names).
        """
        key = (method, namespace, version)
        try:
            return self._cache[key]
        except (KeyError, TypeError):  # TypeError: unhashable junk from the wire
            pass
        found = self._find(method, namespace, version)
        if isinstance(found, Exception):
            raise found
        cache = self._cache
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        try:
            cache[key] = found
        except TypeError:
            pass
        return found

    def _find(self, method: Any, namespace: Any, version: Any) -> Any:
        """The endpoint method, or a new exception saying why there is none."""
        if not isinstance(method, str) or not method:
            return NoSuchMethod(str(method))
        if version is None:
            version = "1.0"
        found_compatible = False
        for endpoint in self.endpoints:
            target = getattr(endpoint, "target", None) or _DEFAULT_TARGET
            if namespace not in target.accepted_namespaces:
                continue
            try:
                if not version_is_compatible(target.version or "1.0", version):
                    continue
            except (ValueError, TypeError, AttributeError):
                return UnsupportedVersion(version, method=method)
            found_compatible = True
            if method.startswith("_") or method == "target":
                continue
            function = getattr(endpoint, method, None)
            if callable(function):
                return function
        if found_compatible:
            return NoSuchMethod(method)
        return UnsupportedVersion(version, method=method)

    def dispatch(self, message: dict[str, Any], ctxt: Any) -> Any:
        """Run the request's method and return its serialized result.

        ``message`` is the decoded request (only its method, namespace, version and
        args are read: the ``_context_*`` and other ``_`` keys are not); ``ctxt``
        is the context as rebuilt by the serializer. Raises what the endpoint raises
        (an error its ``expected_exceptions`` names wrapped in ExpectedException), or
        NoSuchMethod / UnsupportedVersion; a non-dict ``args`` raises TypeError.
        """
        function = self.lookup(
            message.get("method"), message.get("namespace"), message.get("version")
        )
        args = message.get("args") or {}
        if not isinstance(args, dict):
            raise TypeError(f"args must be an object, not {type(args).__name__}")
        serializer = self.serializer
        plain = self._plain_entities
        if plain:
            kwargs = args
        else:
            kwargs = {
                name: serializer.deserialize_entity(ctxt, value) for name, value in args.items()
            }
        try:
            result = function(ctxt, **kwargs)
        except Exception as error:
            expected = getattr(function, "rpc_expected_exceptions", None)
            if expected and isinstance(error, expected):
                raise ExpectedException() from None
            raise
        return result if plain else serializer.serialize_entity(ctxt, result)
