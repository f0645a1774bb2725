"""The app's endpoints, for its registry entry: from a JSON file or from the app's OpenAPI document.

A file holds a list of endpoint names (``["Greeter.Hello"]``) or of entries in the
registry's own shape (``{"name", "request", "response", "metadata"}``), optionally
under ``"endpoints"``. An OpenAPI document gives one endpoint per ``post`` operation:
named by its ``operationId`` (else by its path, ``/orders/create`` → ``Orders.Create``),
delivered to its own path, with request and response shapes from its JSON schemas, so
``micro describe`` shows an app in another language like any other service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from micro_core.registry import Endpoint, Value
from micro_sidecar.delivery import PATH

_SCALARS = {"string": "string", "integer": "int64", "number": "double", "boolean": "bool"}


class EndpointsError(ValueError):
    """The endpoints could not be read; the message names the file or URL and what is wrong."""


def from_file(path: str | Path) -> list[Endpoint]:
    """The endpoints listed in the JSON file at ``path``."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EndpointsError(f"cannot read endpoints from {path}: {exc}") from None
    if isinstance(data, dict) and "openapi" in data:
        return from_openapi(data, str(path))
    items = data.get("endpoints") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise EndpointsError(f"{path}: expected a list of endpoints, or an object with 'endpoints'")
    try:
        return [
            Endpoint(name=item) if isinstance(item, str) else msgspec.convert(item, Endpoint)
            for item in items
        ]
    except msgspec.ValidationError as exc:
        raise EndpointsError(f"{path}: not an endpoint: {exc}") from None


def from_openapi(document: Any, where: str) -> list[Endpoint]:
    """One endpoint per ``post`` operation of an OpenAPI 3 ``document`` (read from ``where``)."""
    paths = document.get("paths") if isinstance(document, dict) else None
    if not isinstance(paths, dict):
        raise EndpointsError(f"{where}: not an OpenAPI document (no 'paths')")
    schemas = document.get("components", {}).get("schemas", {})
    endpoints = []
    for path, operations in sorted(paths.items()):
        operation = operations.get("post") if isinstance(operations, dict) else None
        if not isinstance(operation, dict):
            continue
        name = operation.get("operationId") or _name_of(path)
        request = _json_schema(operation.get("requestBody", {}))
        replies = operation.get("responses", {})
        response = _json_schema(replies.get("200") or replies.get("201") or {})
        endpoints.append(
            Endpoint(
                name=name,
                request=_shape(request, "Request", schemas) if request else None,
                response=_shape(response, "Response", schemas) if response else None,
                metadata={PATH: path},
            )
        )
    if not endpoints:
        raise EndpointsError(f"{where}: the document has no POST operation to serve as an endpoint")
    return endpoints


def _name_of(path: str) -> str:
    """``/orders/create`` → ``Orders.Create``; ``/hello`` → ``Hello``."""
    parts = [p for p in path.strip("/").split("/") if p and not p.startswith("{")]
    return ".".join(p[:1].upper() + p[1:] for p in parts) or "Root"


def _json_schema(body: Any) -> Any:
    content = body.get("content", {}) if isinstance(body, dict) else {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if isinstance(media, dict) else None


def _shape(schema: Any, name: str, schemas: dict[str, Any], depth: int = 0) -> Value:
    """The registry's shape of a JSON schema; ``$ref`` resolved, nesting bounded (recursive schemas)."""
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    if ref:
        title = ref.rsplit("/", 1)[-1]
        schema = {"title": title, **schemas.get(title, {})}
    if not isinstance(schema, dict):
        return Value(name=name, type="object")
    kind = schema.get("type", "object")
    if kind in _SCALARS:
        return Value(name=name, type=_SCALARS[kind])
    if kind == "array":
        item = _shape(schema.get("items", {}), name, schemas, depth + 1)
        return Value(name=name, type=f"[]{item.type}", values=item.values)
    title = schema.get("title") or "object"
    properties = schema.get("properties", {}) if depth < 4 else {}
    return Value(
        name=name,
        type=title,
        values=[_shape(value, key, schemas, depth + 1) for key, value in properties.items()],
    )


__all__ = ["EndpointsError", "from_file", "from_openapi"]
