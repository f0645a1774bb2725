"""A micro error as an HTTP response: its status with the ``{id, code, detail, status}`` body.

A raw micro node answers every error as HTTP 200 with the error in a header; at the HTTP
edge the error's code becomes the response status instead, and the body keeps Go
Micro's shape so that clients of a Go Micro gateway read it unchanged. A client that
asks for RFC 9457 (``Accept: application/problem+json``) gets a problem document with
the same facts.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from micro_core import errors

#: The RFC 9457 media type.
PROBLEM_JSON = "application/problem+json"

#: The JSON Schemas of what :func:`error_body` writes, for an OpenAPI document's
#: ``components.schemas``: ``Error`` (the micro body) and ``Problem`` (RFC 9457).
ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "code": {"type": "integer"},
            "detail": {"type": "string"},
            "status": {"type": "string"},
        },
        "required": ["id", "code", "detail", "status"],
    },
    "Problem": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "id": {"type": "string"},
        },
        "required": ["type", "title", "status", "detail"],
    },
}

#: An OpenAPI response object for any failure at the HTTP edge, referring to :data:`ERROR_SCHEMAS`.
ERROR_RESPONSE: dict[str, Any] = {
    "description": "a micro error: its code is the HTTP status",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}},
        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
    },
}


def wants_problem(accept: str) -> bool:
    """True when the ``Accept`` header names ``application/problem+json``."""
    return PROBLEM_JSON in accept


def http_status(error: errors.MicroError) -> int:
    """The error's code when it is a valid HTTP status, else 500 (Go Micro uses codes like 0 or -1)."""
    return error.code if 400 <= error.code <= 599 else 500


def error_body(error: errors.MicroError, accept: str = "", instance: str = "") -> tuple[bytes, str]:
    """The body and content type for ``error``, as the ``Accept`` header asks."""
    if wants_problem(accept):
        problem = {
            "type": "about:blank",
            "title": error.status,
            "status": http_status(error),
            "detail": error.detail,
            "instance": instance,
            "id": error.id,
        }
        return msgspec.json.encode(problem), PROBLEM_JSON
    return error.to_json(), "application/json"


def error_response(error: errors.MicroError, request: web.BaseRequest | None = None) -> web.Response:
    """The response for ``error``; ``request`` (if given) decides micro body or problem+json."""
    accept = request.headers.get("Accept", "") if request is not None else ""
    instance = request.path if request is not None else ""
    body, content_type = error_body(error, accept, instance)
    return web.Response(status=http_status(error), body=body, content_type=content_type)


def as_error(exc: BaseException, id: str = "micro.http") -> errors.MicroError:
    """Any failure at the HTTP edge as a micro error: aiohttp's HTTP errors keep their
    status and text, an upstream timeout becomes 504, anything else a 500 that names it."""
    if isinstance(exc, errors.MicroError):
        if exc.code == errors.Timeout.code:
            # Seen from the edge, an upstream that ran out of time is a gateway timeout.
            return errors.GatewayTimeout(exc.detail, id=exc.id or id)
        return exc
    if isinstance(exc, web.HTTPException):
        return errors.from_code(exc.status, exc.text or exc.reason, id=id)
    if isinstance(exc, TimeoutError):
        return errors.GatewayTimeout("the request ran out of time", id=id)
    return errors.InternalServerError(f"{type(exc).__name__}: {exc}", id=id)


__all__ = [
    "ERROR_RESPONSE",
    "ERROR_SCHEMAS",
    "PROBLEM_JSON",
    "as_error",
    "error_body",
    "error_response",
    "http_status",
    "wants_problem",
]
