"""The sidecar's own API as an OpenAPI 3.1 document, served at ``/openapi.json``.

Written out by hand rather than generated: the API is small and fixed, and a test
checks that every route the sidecar serves is in the document and nothing else is.
"""

from __future__ import annotations

from typing import Any

from micro_http.render import ERROR_RESPONSE, ERROR_SCHEMAS

_ERROR = {"$ref": "#/components/responses/Error"}
_JSON_BODY: dict[str, Any] = {"content": {"application/json": {"schema": {}}}}


def _op(summary: str, *, body: dict[str, Any] | None = None, ok: str = "200", **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {ok: {"description": "done", **({} if ok == "204" else _JSON_BODY)}, "default": _ERROR},
        **extra,
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _query(*names: str, required: bool = False) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": required, "schema": {"type": "string"}} for n in names]


_SERVICE = {"$ref": "#/components/schemas/Service"}
_TOPIC = [{"name": "topic", "in": "path", "required": True, "schema": {"type": "string"}}]

PATHS: dict[str, dict[str, Any]] = {
    "/health": {"get": _op("The sidecar is up")},
    "/health/app": {"get": _op("The app's health check and registration (503 while it is not registered)")},
    "/openapi.json": {"get": _op("This document")},
    "/registry": {
        "get": _op("Every registered service, or one with its nodes", parameters=_query("service")),
        "post": _op("Register a service", body=_SERVICE, ok="204", parameters=_query("ttl")),
        "delete": _op("Deregister a service's nodes", body=_SERVICE, ok="204"),
    },
    "/rpc": {
        "post": _op(
            "Call an endpoint of a service by name",
            body={
                "type": "object",
                "required": ["service"],
                "properties": {
                    "service": {"type": "string"},
                    "endpoint": {"type": "string", "description": "Type.Method"},
                    "method": {"type": "string", "description": "the original sidecar's name for endpoint"},
                    "request": {"description": "the request: JSON, or JSON text"},
                    "address": {"type": "string", "description": "host:port of one node, skipping discovery"},
                    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                    "timeout": {"type": "number", "description": "seconds"},
                },
            },
        )
    },
    "/publish/{topic}": {
        "post": _op(
            "Publish the JSON body to a topic; each Micro-Metadata-<Key> header is metadata <Key>",
            body={},
            ok="204",
            parameters=_TOPIC,
        )
    },
    "/broker": {
        "get": _op(
            "Websocket: messages on the topic as text frames; each text frame sent is published to it",
            ok="101",
            parameters=_query("topic", required=True) + _query("queue"),
        )
    },
    "/events": {
        "get": _op(
            "Server-Sent Events: one event per message on the topic",
            parameters=_query("topic", required=True) + _query("queue"),
        )
    },
    "/subscriptions": {
        "get": _op("The push subscriptions"),
        "post": _op(
            "Push each message on a topic to a URL (acked only on a 2xx answer)",
            ok="201",
            body={
                "type": "object",
                "required": ["topic", "url"],
                "properties": {
                    "topic": {"type": "string"},
                    "queue": {"type": "string"},
                    "url": {"type": "string", "description": "absolute, or a path on the app"},
                },
            },
        ),
    },
    "/subscriptions/{id}": {
        "delete": _op(
            "End a push subscription",
            ok="204",
            parameters=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
        )
    },
    "/{service}/{endpoint}": {
        "post": _op(
            "Call ENDPOINT (Type.Method, or a path the gateway's resolver reads) of SERVICE with the body",
            body={},
            parameters=[
                {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "endpoint", "in": "path", "required": True, "schema": {"type": "string"}},
            ],
        )
    },
}


def document(version: str, *, secured: bool) -> dict[str, Any]:
    """The OpenAPI document; ``secured`` when every route needs the bearer token."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "micro sidecar", "version": version},
        "paths": PATHS,
        "components": {
            "schemas": {
                "Service": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
                        "endpoints": {"type": "array", "items": {"type": "object"}},
                        "nodes": {"type": "array", "items": {"type": "object"}},
                    },
                },
                **ERROR_SCHEMAS,
            },
            "responses": {"Error": ERROR_RESPONSE},
        },
    }
    if secured:
        doc["components"]["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"token": []}]
    return doc


__all__ = ["PATHS", "document"]
