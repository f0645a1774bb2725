"""The sidecar's HTTP API for the app: the registry, calls by name, and its own health.

Routes kept compatible with the original sidecar: ``GET /registry`` (all services, or
``?service=NAME`` for one with its nodes), ``POST /registry`` and ``DELETE /registry``
(a service definition as JSON; ``?ttl=`` seconds), ``POST /rpc`` (``service``,
``endpoint`` or ``method``, ``request``, and optionally ``address``, ``metadata`` and
``timeout``), and the path form ``POST /<service>/<endpoint>`` whose body is the
request. Errors are micro errors rendered by the shared edge: the status is the
error's code and the body ``{id, code, detail, status}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from micro_core import Client, Registry, errors
from micro_core.registry import Service as Entry
from micro_http import candidates, metadata, parse_json, read_value, set_timeout

_ID = "micro.sidecar"


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(value), status=status, content_type="application/json")


def _definition(body: bytes) -> Entry:
    try:
        return Entry.from_dict(parse_json(body))
    except msgspec.ValidationError as exc:
        raise errors.BadRequest(f"not a service definition: {exc}", id=_ID) from None


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise errors.BadRequest(f"{key!r} must be a string, not {type(value).__name__}", id=_ID)
    return value


class Api:
    """Registry, call and health routes over a connected kernel's registry and client."""

    def __init__(
        self,
        registry: Registry,
        client: Client,
        *,
        ttl: float,
        app_status: Callable[[], tuple[bool, dict[str, Any]]],
        document: Callable[[], dict[str, Any]],
    ) -> None:
        self.registry = registry
        self.client = client
        self.ttl = ttl
        self._app_status = app_status
        self._document = document

    def routes(self) -> list[web.RouteDef]:
        """The routes; the path form comes last, since it matches any two-segment POST."""
        return [
            web.get("/health", self.health),
            web.get("/health/app", self.app_health),
            web.get("/openapi.json", self.openapi),
            web.get("/registry", self.services),
            web.post("/registry", self.register),
            web.delete("/registry", self.deregister),
            web.post("/rpc", self.rpc),
            web.post("/{service}/{endpoint:.+}", self.by_path),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def app_health(self, request: web.Request) -> web.Response:
        """200 while the app is registered (its check passes), else 503 with what the check said."""
        ready, status = self._app_status()
        return _json(status, 200 if ready else 503)

    async def openapi(self, request: web.Request) -> web.Response:
        return _json(self._document())

    # --- registry -----------------------------------------------------------------------

    async def services(self, request: web.Request) -> web.Response:
        name = request.query.get("service")
        entries = await self.registry.get_service(name) if name else await self.registry.list_services()
        return _json([entry.to_dict() for entry in entries])

    async def register(self, request: web.Request) -> web.Response:
        entry = _definition(await request.read())
        try:
            ttl = float(request.query.get("ttl", self.ttl))
        except ValueError:
            raise errors.BadRequest(f"ttl {request.query['ttl']!r} is not seconds", id=_ID) from None
        try:
            await self.registry.register(entry, ttl)
        except ValueError as exc:  # no name, no node, a node without id, a bad TTL
            raise errors.BadRequest(str(exc), id=_ID) from None
        return web.Response(status=204)

    async def deregister(self, request: web.Request) -> web.Response:
        await self.registry.deregister(_definition(await request.read()))
        return web.Response(status=204)

    # --- calls --------------------------------------------------------------------------

    async def rpc(self, request: web.Request) -> web.Response:
        body = parse_json(await request.read())
        if not isinstance(body, dict):
            raise errors.BadRequest('expected {"service": ..., "endpoint": ..., "request": ...}', id=_ID)
        service = _text(body, "service")
        endpoint = _text(body, "endpoint") or _text(body, "method")
        if not service or not endpoint:
            raise errors.BadRequest("the call needs a 'service' and an 'endpoint'", id=_ID)
        value = body.get("request")
        if isinstance(value, str):  # the original sidecar took the request as JSON text too
            value = parse_json(value.encode())
        extra = body.get("metadata") or {}
        if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
            raise errors.BadRequest("'metadata' must be an object of strings", id=_ID)
        timeout = body.get("timeout")
        if timeout is not None:
            if not isinstance(timeout, int | float) or timeout <= 0:
                raise errors.BadRequest("'timeout' must be positive seconds", id=_ID)
            set_timeout(request, float(timeout))
        reply = await self.client.call(
            service,
            endpoint,
            value,
            metadata={**metadata(request), **extra},
            address=_text(body, "address") or None,
        )
        return _json(reply)

    async def by_path(self, request: web.Request) -> web.Response:
        """``POST /greeter/Greeter.Hello``, or ``/greeter/say/hello`` resolved as the gateway does."""
        service, endpoint = request.match_info["service"], request.match_info["endpoint"]
        value = await read_value(request)
        meta = metadata(request)
        if "." in endpoint and "/" not in endpoint:
            return _json(await self.client.call(service, endpoint, value, metadata=meta))
        tried = candidates(request.path)
        for candidate in tried:
            try:
                reply = await self.client.call(candidate.service, candidate.endpoint, value, metadata=meta)
            except errors.NotFound:
                continue
            return _json(reply)
        raise errors.NotFound(
            f"{request.path} names no registered endpoint (tried {', '.join(map(str, tried))})", id=_ID
        )


__all__ = ["Api"]
