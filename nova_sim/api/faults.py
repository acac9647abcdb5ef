"""Nova fault bodies: every error the API answers, in Nova's shape.

Owns the HTTP error exceptions raised by controllers (``BadRequest``, ``NotFound``...),
the mapping from a status code to Nova's fault name (400 ``badRequest``, 404
``itemNotFound``, 409 ``conflictingRequest``...) and ``fault_body``, which renders
``{"<name>": {"code": <status>, "message": "..."}}``. A ``nova_sim.exception.NovaException``
is turned into a fault by its ``code``. Must not know about routing or the WSGI server.
"""

from __future__ import annotations

import http
import json

from nova_sim import exception

# Nova's names (nova/api/openstack/wsgi.py Fault); any other status is a computeFault.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def fault_name(code: int) -> str:
    """Nova's fault name for an HTTP status (``computeFault`` for the unknown ones)."""
    return FAULT_NAMES.get(code, "computeFault")


def fault_body(code: int, message: str) -> bytes:
    """The JSON bytes of Nova's fault body for ``code``."""
    return json.dumps({fault_name(code): {"code": code, "message": message}}).encode()


def status_line(code: int) -> str:
    """``"404 Not Found"`` for 404 (a WSGI status string)."""
    line = _STATUS_LINES.get(code)
    if line is None:
        try:
            line = f"{code} {http.HTTPStatus(code).phrase}"
        except ValueError:
            line = f"{code} {REASONS.get(code, 'Error')}"
        _STATUS_LINES[code] = line
    return line


_STATUS_LINES: dict[int, str] = {}


class Fault(Exception):
    """An HTTP error answer: raise it anywhere under a controller.

    ``code`` is the status, ``message`` the human-readable text of the fault body, and
    ``headers`` extra response headers (for example ``Allow`` on a 405).
    """

    code = 500
    default_message = "An unknown error occurred."

    def __init__(self, message: str | None = None, headers: list[tuple[str, str]] | None = None):
        self.message = message or self.default_message
        self.headers = headers or []
        super().__init__(self.message)


class BadRequest(Fault):
    code = 400
    default_message = "Bad request."


class Unauthorized(Fault):
    code = 401
    default_message = "Authentication required."


class Forbidden(Fault):
    code = 403
    default_message = "Policy doesn't allow this operation to be performed."


class NotFound(Fault):
    code = 404
    default_message = "The resource could not be found."


class MethodNotAllowed(Fault):
    code = 405
    default_message = "The method specified is not allowed for this resource."


class NotAcceptable(Fault):
    code = 406
    default_message = "Not acceptable."


class Conflict(Fault):
    code = 409
    default_message = "There was a conflict when trying to complete your request."


class RequestEntityTooLarge(Fault):
    code = 413
    default_message = "Request is too large."


class UnsupportedMediaType(Fault):
    code = 415
    default_message = "Unsupported Content-Type"


class NotImplementedFault(Fault):
    code = 501
    default_message = "Not implemented."


def from_exception(error: BaseException) -> tuple[int, str, list[tuple[str, str]]]:
    """``(status, message, headers)`` for an error raised while handling a request.

    ``Fault`` keeps its code; a ``NovaException`` maps by its ``code`` (an unexpected code
    outside 4xx becomes a 500 ``computeFault``, as in Nova); anything else is a 500 whose
    message names the exception class but carries no traceback.
    """
    if isinstance(error, Fault):
        return error.code, error.message, list(error.headers)
    if isinstance(error, exception.NovaException):
        code = getattr(error, "code", 500) or 500
        try:
            code = int(code)
        except (TypeError, ValueError):
            code = 500
        if code < 400 or code > 599:
            code = 500
        return code, error.format_message(), []
    return (
        500,
        "Unexpected API Error. Please report this at the nova-sim issue tracker and "
        f"attach the API log if possible. {type(error).__name__}",
        [],
    )


def server_error_body(code: int, message: str) -> tuple[str, bytes]:
    """The green WSGI server's ``error_body`` hook: its own errors (413, 414, malformed
    requests...) in Nova's fault format too."""
    return "application/json", fault_body(code, message)
