"""The ``api`` handler's request and reply, field for field Go Micro's ``api.Request``/``api.Response``.

A service whose endpoint has ``handler: api`` receives the whole HTTP request as a
:class:`Request` and answers with a :class:`Response` that becomes the HTTP
response (status, headers, body)::

    class Shop:
        async def item(self, req: Request) -> Response:
            return Response(status_code=200, header={"Content-Type": Pair("Content-Type", ["text/plain"])},
                            body=f"item {req.get['id'].values[0]}")

The ``event`` handler publishes an :class:`Event`. The JSON names are Go Micro's
(``statusCode``), so a Go service behind this gateway reads the same request.
"""

from __future__ import annotations

import msgspec

#: How the gateway serves an endpoint (endpoint metadata ``handler``, or ``--handler``).
HANDLERS = ("rpc", "api", "http", "event")


class Pair(msgspec.Struct, omit_defaults=True):
    """A header, query or form field: its name and every value it was given."""

    key: str
    values: list[str] = msgspec.field(default_factory=list)


class Request(msgspec.Struct, omit_defaults=True):
    """The HTTP request as the service sees it; ``get`` is the query, ``post`` the form fields."""

    method: str = ""
    path: str = ""
    header: dict[str, Pair] = msgspec.field(default_factory=dict)
    get: dict[str, Pair] = msgspec.field(default_factory=dict)
    post: dict[str, Pair] = msgspec.field(default_factory=dict)
    body: str = ""
    url: str = ""


class Response(msgspec.Struct, omit_defaults=True, rename="camel"):
    """The HTTP response the service wants sent: status (default 200), headers, body."""

    status_code: int = 200
    header: dict[str, Pair] = msgspec.field(default_factory=dict)
    body: str = ""


class Event(msgspec.Struct, omit_defaults=True):
    """What the ``event`` handler publishes: Go Micro's ``api.Event``; ``data`` is the request body."""

    name: str
    id: str
    timestamp: int
    header: dict[str, Pair] = msgspec.field(default_factory=dict)
    data: str = ""


__all__ = ["HANDLERS", "Event", "Pair", "Request", "Response"]
