"""RPC exceptions, and how failures cross the wire.

Owns the exception classes of ``nova_sim.rpc`` and the *failure format* oslo.messaging
uses in replies: a JSON string ``{"class", "module", "message", "tb", "args", "kwargs"}``.
Our classes travel under the module names oslo.messaging gives its own (so an
oslo.messaging client sees ``oslo_messaging.rpc.dispatcher.NoSuchMethod``), and failures
naming those oslo modules come back as our classes. Must not know about transports,
the hub or Nova.
"""

from __future__ import annotations

import builtins
import importlib
import json
import logging
import sys
import traceback
from typing import Any

LOG = logging.getLogger(__name__)

REMOTE_POSTFIX = "_Remote"
BUILTINS_MODULES = ("builtins", "exceptions")


class MessagingException(Exception):
    """Base class of the RPC layer's exceptions."""


class MessagingTimeout(MessagingException):
    """No reply (or no call-monitor heartbeat) arrived before the call's timeout."""


class MessageDeliveryFailure(MessagingException):
    """The message could not be handed to the broker (connection lost and not back)."""


class InvalidTarget(MessagingException, ValueError):
    """The target cannot be used for this operation (e.g. a call with fanout=True)."""

    def __init__(self, msg: str, target: Any):
        super().__init__(msg + ":" + str(target))
        self.target = target


class RemoteError(MessagingException):
    """A remote exception that is not re-raised as its own class.

    Carries the remote class name (``exc_type``), its message (``value``) and the remote
    traceback text (``traceback``).
    """

    def __init__(self, exc_type: str | None = None, value: str | None = None,
                 traceback: str | None = None):
        self.exc_type = exc_type
        self.value = value
        self.traceback = traceback
        super().__init__(f"Remote error: {exc_type} {value}\n{traceback}.")


class RPCVersionCapError(MessagingException):
    """The requested message version is above the client's ``version_cap``."""

    def __init__(self, version: str | None, version_cap: str | None):
        self.version = version
        self.version_cap = version_cap
        super().__init__(
            f"Requested message version, {version} is incompatible.  It needs to be "
            f"equal in major version and less than or equal in minor version as the "
            f"specified version cap {version_cap}."
        )


class MessagingServerError(MessagingException):
    """Base class of the errors an RPC server raises about a message."""


class RPCDispatcherError(MessagingServerError):
    """Base class of the dispatcher's errors."""


class NoSuchMethod(RPCDispatcherError, AttributeError):
    """No endpoint exposes the requested method (or the method is private)."""

    def __init__(self, method: str):
        super().__init__(f"Endpoint does not support RPC method {method}")
        self.method = method


class UnsupportedVersion(RPCDispatcherError):
    """No endpoint in the requested namespace supports the requested version."""

    def __init__(self, version: str | None, method: str | None = None):
        msg = f"Endpoint does not support RPC version {version}"
        if method:
            msg = f"{msg}. Attempted method: {method}"
        super().__init__(msg)
        self.version = version
        self.method = method


class InvalidMessage(MessagingServerError):
    """A request that cannot be dispatched at all (bad JSON, missing keys...)."""


class ExpectedException(Exception):
    """Wraps an error an endpoint method expects to raise (raise it in an ``except``).

    The server sends the wrapped error (``exc_info[1]``, with its traceback) to the
    caller as a failure reply, as it would the error itself, but logs it at debug
    only: it is an answer, not a fault of the server. It never crosses the wire
    itself. See :func:`nova_sim.rpc.expected_exceptions`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.exc_info = sys.exc_info()


# Our class -> the module oslo.messaging defines its namesake in.
OSLO_MODULES: dict[type, str] = {
    MessagingException: "oslo_messaging.exceptions",
    MessagingTimeout: "oslo_messaging.exceptions",
    MessageDeliveryFailure: "oslo_messaging.exceptions",
    InvalidTarget: "oslo_messaging.exceptions",
    RemoteError: "oslo_messaging.rpc.client",
    RPCVersionCapError: "oslo_messaging.rpc.client",
    MessagingServerError: "oslo_messaging.server",
    RPCDispatcherError: "oslo_messaging.rpc.dispatcher",
    NoSuchMethod: "oslo_messaging.rpc.dispatcher",
    UnsupportedVersion: "oslo_messaging.rpc.dispatcher",
}
# (oslo module, class name) -> our class, for failures coming back.
_FROM_OSLO: dict[tuple[str, str], type] = {
    (module, cls.__name__): cls for cls, module in OSLO_MODULES.items()
}
_FROM_OSLO[("oslo_messaging.server", "InvalidMessage")] = InvalidMessage
OSLO_MODULES[InvalidMessage] = "oslo_messaging.server"


def serialize_failure(error: BaseException, with_traceback: bool = True) -> str:
    """The failure JSON string for ``error`` (as oslo.messaging writes it).

    ``kwargs`` is the exception's ``kwargs`` attribute when it has one (NovaException
    does), so the receiver can rebuild it with ``cls(*args, **kwargs)``. Arguments that
    are not JSON-able are sent as their ``str()``.
    """
    cls = type(error)
    cls_name = cls.__name__
    module = OSLO_MODULES.get(cls) or cls.__module__
    if cls_name.endswith(REMOTE_POSTFIX) and module.endswith(REMOTE_POSTFIX):
        cls_name = cls_name[: -len(REMOTE_POSTFIX)]
        module = module[: -len(REMOTE_POSTFIX)]
    tb = (
        traceback.format_exception(cls, error, error.__traceback__)
        if with_traceback
        else []
    )
    kwargs = getattr(error, "kwargs", None)
    data = {
        "class": cls_name,
        "module": module,
        "message": str(error),
        "tb": tb,
        "args": list(error.args),
        "kwargs": kwargs if isinstance(kwargs, dict) else {},
    }
    return json.dumps(data, default=str)


def _remote_class(cls: type, module: str, message: str) -> type:
    """A subclass of ``cls`` named ``<Name>_Remote`` whose str() is the remote text."""
    text = message

    def __str__(self):  # noqa: N807 (the method str() calls)
        return text

    remote = type(cls.__name__ + REMOTE_POSTFIX, (cls,), {"__str__": __str__})
    remote.__module__ = module + REMOTE_POSTFIX
    return remote


def deserialize_failure(data: str | dict, allowed_remote_exmods: tuple | list = ()) -> Exception:
    """Rebuild the exception a failure reply describes (never raises).

    Builtins and classes from ``allowed_remote_exmods`` come back as their own class
    (made a ``<Name>_Remote`` subclass whose ``str()`` carries the remote message and
    traceback, as oslo.messaging does); oslo.messaging's own errors (``NoSuchMethod``,
    ``UnsupportedVersion``, ``MessagingTimeout``...) come back as ours; anything else, or
    anything that cannot be rebuilt, as :class:`RemoteError`.
    """
    try:
        failure = json.loads(data) if isinstance(data, str) else dict(data)
        if not isinstance(failure, dict):
            raise TypeError("failure is not a JSON object")
    except (TypeError, ValueError) as error:
        return RemoteError("InvalidFailure", f"undecodable failure reply: {error}", "")
    trace = failure.get("tb") or []
    if not isinstance(trace, list):
        trace = [str(trace)]
    name = str(failure.get("class"))
    module = str(failure.get("module"))
    remote_message = str(failure.get("message", ""))
    text = remote_message + "\n" + "\n".join(str(line) for line in trace)
    args = failure.get("args") or []
    kwargs = failure.get("kwargs") or {}

    klass = _FROM_OSLO.get((module, name))
    if klass is None and module in BUILTINS_MODULES:
        klass = getattr(builtins, name, None)
        module = "builtins"
    elif klass is None and module in allowed_remote_exmods:
        try:
            klass = getattr(importlib.import_module(module), name, None)
        except ImportError as error:
            LOG.warning("Failed to rebuild remote exception %s.%s: %s", module, name, error)
            klass = None
    if klass is None or not (isinstance(klass, type) and issubclass(klass, Exception)):
        return RemoteError(name, remote_message, "".join(str(line) for line in trace))

    try:
        if klass in OSLO_MODULES:
            error = klass.__new__(klass)
            Exception.__init__(error, *args)
            if klass is NoSuchMethod:
                error.method = kwargs.get("method")
            if klass is UnsupportedVersion:
                error.version = kwargs.get("version")
                error.method = kwargs.get("method")
        else:
            error = klass(*args, **kwargs)
    except Exception as problem:  # a constructor that does not take its own args
        LOG.warning("Failed to rebuild remote exception %s.%s: %s", module, name, problem)
        return RemoteError(name, remote_message, "".join(str(line) for line in trace))
    try:
        error.__class__ = _remote_class(type(error), module, text)
    except TypeError:
        # builtins cannot change class: carry the remote text in args[0] instead
        error.args = (text,) + tuple(error.args[1:])
    return error
