"""The OpenAPI 3.1 document of what the gateway serves, from the shapes the registry holds.

Only routes that answer are described: a resolver path is listed after resolving it
back to the same endpoint, and a metadata route with its own path and methods. Each
shape (Go Micro's ``Value{name, type, values}``) becomes a JSON Schema; a struct
lists every field as required, since a registry shape does not say which are
optional. Every operation documents the micro error body for its failures and
``application/problem+json`` as the alternative.
"""

from __future__ import annotations

from typing import Any

from micro_api.routes import Known, Table
from micro_core.registry import Endpoint, Value
from micro_http.render import ERROR_RESPONSE, ERROR_SCHEMAS

_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string", "contentEncoding": "base64"},
    "null": {"type": "null"},
    "any": {},
    "float32": {"type": "number"},
    "float64": {"type": "number"},
    "double": {"type": "number"},
    "float": {"type": "number"},
}
_INTEGERS = ("int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64")


def schema(shape: Value | None, required: bool = True) -> dict[str, Any]:
    """The JSON Schema of one registry shape (``{}``: anything, when the shape says nothing).

    :param required: list every field as required (requests). A reply may leave out fields
        at their defaults (proto3 JSON, ``omit_defaults`` structs), so replies require none.
    """
    if shape is None:
        return {}
    return _type_schema(shape.type, shape.values, required)


def _type_schema(type_: str, values: list[Value], required: bool = True) -> dict[str, Any]:
    if values:
        described = {
            "type": "object",
            "properties": {v.name: schema(v, required) for v in values},
        }
        if required:
            described["required"] = [v.name for v in values]
        return described
    if type_ in _SCALARS:
        return dict(_SCALARS[type_])
    if type_ in _INTEGERS:
        return {"type": "integer"}
    if type_.startswith("[]"):
        return {"type": "array", "items": _type_schema(type_[2:], [])}
    if type_.startswith("map[") and "]" in type_:
        return {"type": "object", "additionalProperties": _type_schema(type_.split("]", 1)[1], [])}
    if "|" in type_:
        return {"anyOf": [_type_schema(part, []) for part in type_.split("|")]}
    return {"type": "object"}  # a named type deeper than the shapes go


def _operation(known: Known, endpoint: Endpoint, handler: str) -> dict[str, Any]:
    body: dict[str, Any] = {"content": {"application/json": {"schema": schema(endpoint.request)}}}
    responses: dict[str, Any]
    if handler == "api":  # the service answers with its own status, headers and body: nothing to promise
        body = {"content": {"*/*": {"schema": {}}}}
        responses = {"default": {"description": "the service's own response: its status, headers and body"}}
    elif endpoint.metadata.get("stream") == "true":
        text = {"schema": {"type": "string"}}
        content = {"application/x-ndjson": text, "text/event-stream": text}
        ok = {"description": "one reply per line (NDJSON) or per event (SSE)", "content": content}
        responses = {"200": ok, "default": ERROR_RESPONSE}
    else:
        reply = {"application/json": {"schema": schema(endpoint.response, required=False)}}
        responses = {"200": {"description": "the reply", "content": reply}, "default": ERROR_RESPONSE}
    return {
        "operationId": f"{known.name}.{endpoint.name}",
        "tags": [known.name],
        "summary": f"{known.name} {endpoint.name} ({handler} handler)",
        "requestBody": body,
        "responses": responses,
    }


def document(table: Table, title: str = "micro API", server: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``table``: every rpc and api route that answers."""
    paths: dict[str, dict[str, Any]] = {}
    for route in table.routes:
        known = table.services[route.service]
        endpoint = known.endpoints[route.endpoint]
        if route.handler not in ("rpc", "api") or route.pattern.pattern.startswith("^"):
            continue
        methods = sorted(m.lower() for m in route.methods) or ["post"]
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in route.pattern.groupindex
        ]
        for method in methods:
            operation = _operation(known, endpoint, route.handler)
            operation["operationId"] += f".{method}"
            if params:
                operation["parameters"] = params
            if method in ("get", "head", "delete"):
                del operation["requestBody"]
            paths.setdefault(route.template, {})[method] = operation
    for known in table.services.values():
        if known.handler not in ("rpc", "api"):
            continue
        for endpoint in known.listed:
            path = table.path_of(known, endpoint)
            if path is not None and path not in paths:
                handler = endpoint.metadata.get("handler") or known.handler
                paths[path] = {"post": _operation(known, endpoint, handler)}
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": ERROR_SCHEMAS},
    }
    if server:
        doc["servers"] = [{"url": server}]
    return doc


__all__ = ["document", "schema"]
