"""Errors that cross the wire in Go Micro's shape ``{id, code, detail, status}``.

A handler raises one of these; the client re-raises the same typed exception, so
callers catch ``NotFound`` whether the failure was local or three services away.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec


class MicroError(Exception):
    """Base of every error the framework raises or carries between services."""

    #: The HTTP-style status code; each subclass sets its own.
    code: int = 500

    def __init__(self, detail: str = "", *, id: str = "", code: int | None = None, status: str = "") -> None:
        self.id = id
        self.code = code if code is not None else type(self).code
        self.detail = detail
        self.status = status or _status_text(self.code)
        super().__init__(detail)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "detail": self.detail, "status": self.status}

    def to_json(self) -> bytes:
        return msgspec.json.encode(self.to_dict())

    def __str__(self) -> str:
        where = f"{self.id}: " if self.id else ""
        return f"{where}{self.detail} ({self.code} {self.status})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, code={self.code}, detail={self.detail!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MicroError) and self.to_dict() == other.to_dict()

    __hash__ = Exception.__hash__


class BadRequest(MicroError):
    code = 400


class Unauthorized(MicroError):
    code = 401


class Forbidden(MicroError):
    code = 403


class NotFound(MicroError):
    code = 404


class MethodNotAllowed(MicroError):
    code = 405


class Timeout(MicroError):
    code = 408


class Conflict(MicroError):
    code = 409


class PayloadTooLarge(MicroError):
    code = 413


class UnsupportedMediaType(MicroError):
    code = 415


class TooManyRequests(MicroError):
    code = 429


class InternalServerError(MicroError):
    code = 500


class BadGateway(MicroError):
    code = 502


class ServiceUnavailable(MicroError):
    code = 503


class GatewayTimeout(MicroError):
    code = 504


_BY_CODE: dict[int, type[MicroError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Timeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyRequests,
        InternalServerError,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
    )
}

#: Codes a client may retry on another node: the request never reached a handler,
#: or the node is going away. A handler's own failure (500) is not retried.
RETRIABLE_CODES: frozenset[int] = frozenset({408, 502, 503, 504})


def _status_text(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def from_code(code: int, detail: str = "", *, id: str = "", status: str = "") -> MicroError:
    """Build the typed error for ``code`` (``MicroError`` for codes without a class)."""
    cls = _BY_CODE.get(code, MicroError)
    return cls(detail, id=id, code=code, status=status)


def attributed(error: MicroError, id: str) -> MicroError:
    """``error``, its ``id`` set to ``id`` if the raiser gave none.

    Every error that crosses the wire names the service or component that raised it: a
    handler's ``NotFound("…")`` or a codec's 400 leaves the server under the service's name.
    """
    if not error.id:
        error.id = id
    return error


def parse(data: bytes | str) -> MicroError:
    """Decode an error from its JSON form; text that is not one becomes a 500 with that text."""
    try:
        fields = msgspec.json.decode(data)
    except msgspec.DecodeError:
        fields = None
    if not isinstance(fields, dict) or "code" not in fields:
        text = data.decode(errors="replace") if isinstance(data, bytes) else data
        return InternalServerError(text)
    return from_code(
        int(fields.get("code") or 500),
        str(fields.get("detail", "")),
        id=str(fields.get("id", "")),
        status=str(fields.get("status", "")),
    )


def is_retriable(error: BaseException) -> bool:
    """True when a call that failed this way may be tried again on another node."""
    if isinstance(error, MicroError):
        return error.code in RETRIABLE_CODES
    return isinstance(error, (ConnectionError, OSError))


__all__ = [
    "RETRIABLE_CODES",
    "BadGateway",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "InternalServerError",
    "MethodNotAllowed",
    "MicroError",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Timeout",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "attributed",
    "from_code",
    "is_retriable",
    "parse",
]
