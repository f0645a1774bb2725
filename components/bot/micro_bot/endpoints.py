"""Requests built from ``field=value`` words, typed and checked by the endpoint's published shape.

Every service publishes the request shape of each endpoint in the registry (Go
Micro's ``Value`` tree), so ``call greeter Greeter.Hello name=Ada`` can be turned into
``{"name": "Ada"}``, with ``age=x`` refused for an ``int64`` field and an unknown field
refused with the list of known ones, all before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from micro_bot.commands.base import UsageError
from micro_core.registry import Endpoint, Value

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _bool(text: str) -> bool:
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise ValueError(f"not a bool: {text!r} (true or false)")


def _json(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise ValueError(f"not JSON: {text!r}") from None


def _scalar(type_: str) -> Callable[[str], Any]:
    """How text becomes a value of the Go Micro type name ``type_``."""
    if type_ == "string":
        return str
    if type_.startswith(("int", "uint")):
        return int
    if type_.startswith("float"):
        return float
    if type_ == "bool":
        return _bool
    return _json  # structs, maps, any: written as JSON


def parse_value(field: Value, text: str) -> Any:
    """``text`` as a value of ``field``'s type; a list type takes comma-separated items."""
    type_ = field.type.removesuffix("|null")
    if type_.startswith("[]") and not text.startswith("["):
        item = _scalar(type_[2:])
        return [item(part.strip()) for part in text.split(",") if part.strip()]
    return _scalar("json" if type_.startswith("[]") else type_)(text)


def field_help(endpoint: Endpoint) -> str:
    """One line per request field, ``name  type``, nested fields indented: the per-field help."""
    request = endpoint.request
    if request is None or not request.values:
        return f"{endpoint.name} takes no documented fields (send JSON if it needs a body)"
    lines = [f"{endpoint.name} takes {request.type}:"]

    def walk(values: Sequence[Value], depth: int) -> None:
        for value in values:
            lines.append(f"{'  ' * depth}{value.name}  {value.type}")
            walk(value.values, depth + 1)

    walk(request.values, 1)
    lines.append("write them as field=value (lists as a,b,c; nested fields as JSON)")
    return "```\n" + "\n".join(lines) + "\n```"


def build_request(endpoint: Endpoint, words: Sequence[str]) -> dict[str, Any]:
    """The request for ``endpoint`` from ``field=value`` words; :class:`UsageError` names what is wrong."""
    fields = {value.name: value for value in (endpoint.request.values if endpoint.request else [])}
    request: dict[str, Any] = {}
    for word in words:
        name, sep, text = word.partition("=")
        if not sep or not name:
            raise UsageError(f"{word!r} is not field=value")
        if name not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise UsageError(f"{endpoint.name} has no field {name!r} (its fields: {known})")
        try:
            request[name] = parse_value(fields[name], text)
        except ValueError as exc:
            raise UsageError(f"{name} is {fields[name].type}: {exc}") from None
    return request


def find_endpoint(endpoints: Sequence[Endpoint], name: str, service: str) -> Endpoint:
    """The endpoint called ``name`` (case-insensitive); :class:`UsageError` lists the others."""
    for endpoint in endpoints:
        if endpoint.name.lower() == name.lower():
            return endpoint
    known = ", ".join(sorted(e.name for e in endpoints)) or "none"
    raise UsageError(f"{service} has no endpoint {name!r} (its endpoints: {known})")


__all__ = ["build_request", "field_help", "find_endpoint", "parse_value"]
