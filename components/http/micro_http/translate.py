"""An HTTP request as the value of a call: JSON body, form fields or query parameters.

The rules, as Go Micro's gateway applies them: a JSON body (``application/json``, or
no content type at all) is the request; form fields (urlencoded or multipart) become
an object of strings; a GET, HEAD or DELETE without a body takes its query
parameters. A parameter given twice becomes a list. Malformed JSON is a 400 that
says where it broke; a well-formed body of the wrong shape is the service's to
refuse, with the path of the field (the kernel's codec names it).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web
from multidict import MultiMapping

from micro_core import errors

#: Content types read as JSON (``+json`` suffixes too).
JSON_TYPES = frozenset({"application/json", "text/json", "application/octet-stream", ""})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})

_decode_json = msgspec.json.Decoder().decode


def parse_json(body: bytes) -> Any:
    """``body`` decoded; :class:`~micro_core.errors.BadRequest` that names the problem if malformed."""
    try:
        return _decode_json(body)
    except msgspec.DecodeError as exc:
        raise errors.BadRequest(f"malformed JSON body: {exc}", id="micro.http.request") from None


def fields(pairs: MultiMapping[Any]) -> dict[str, Any]:
    """Query or form fields as an object; a name given more than once maps to a list."""
    result: dict[str, Any] = {}
    for name in pairs.keys():  # noqa: SIM118 - a multidict repeats a key once per value
        if name in result:
            continue
        values = pairs.getall(name)
        plain = [v if isinstance(v, str) else _file(v) for v in values]
        result[name] = plain[0] if len(plain) == 1 else plain
    return result


def _file(value: Any) -> str:
    """A multipart file field: its text (the request must be JSON-able)."""
    data = value.file.read()
    return data.decode(errors="replace") if isinstance(data, bytes) else str(data)


def is_json(content_type: str) -> bool:
    return content_type in JSON_TYPES or content_type.endswith("+json")


async def read_form(request: web.Request) -> MultiMapping[Any]:
    """The form fields of a urlencoded or multipart body; 400 saying why if it is malformed."""
    try:
        return await request.post()
    except web.HTTPException:
        raise  # the body limit (413)
    except Exception as exc:  # aiohttp's multipart reader raises several kinds on bad input
        raise errors.BadRequest(
            f"malformed {request.content_type} body: {type(exc).__name__}: {exc}", id="micro.http.request"
        ) from None


async def read_value(request: web.Request) -> Any:
    """The call's request value from ``request``; an empty body with no query is ``{}``.

    :raises errors.BadRequest: malformed JSON.
    :raises errors.UnsupportedMediaType: a body of a type that is neither JSON nor a form.
    """
    content_type = request.content_type if request.body_exists else ""
    if content_type in FORM_TYPES:
        return fields(await read_form(request))
    body = await request.read() if request.body_exists else b""
    if not body:
        return fields(request.query) if request.method in _BODYLESS or request.query else {}
    if is_json(content_type):
        return parse_json(body)
    raise errors.UnsupportedMediaType(
        f"cannot turn a {content_type} body into a request: send JSON or form fields", id="micro.http.request"
    )


__all__ = ["FORM_TYPES", "JSON_TYPES", "fields", "is_json", "parse_json", "read_form", "read_value"]
