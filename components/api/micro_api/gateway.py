"""The gateway's aiohttp application: its own endpoints, then every other path routed to a service.

Own endpoints: ``/health`` (the process answers), ``/ready`` (the registry answers),
``/routes`` (the route table), ``/openapi.json`` and ``/docs`` (Swagger UI from the
``swagger-ui-py`` package's bundled files: no CDN), and ``/rpc`` when enabled. Every
other request is resolved against the route table that the registry watch keeps
(:mod:`micro_api.catalogue`), never by asking the registry.
"""

from __future__ import annotations

import asyncio
import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from micro_api.catalogue import Catalogue
from micro_api.handlers import Handlers, PassThrough
from micro_api.openapi import document
from micro_api.routes import Route, Table
from micro_api.types import HANDLERS
from micro_core import Service, errors
from micro_core.registry import Service as Entry
from micro_http import HttpSettings, application, read_value, set_timeout
from micro_http.proxy import Proxy

#: Paths that answer without authentication.
PUBLIC = (
    "/health",
    "/ready",
    "/routes",
    "/openapi.json",
    "/docs",
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-ui.css",
)
_READY_TIMEOUT = 2.0
_SWAGGER = Path(str(importlib.resources.files("swagger_ui") / "static"))
_DOCS_PAGE = (importlib.resources.files("micro_api") / "docs.html").read_bytes()
_CATALOGUE = web.AppKey("micro_api.catalogue", Catalogue)


@dataclass(frozen=True)
class GatewayOptions:
    """What only the gateway has: the default handler, the namespace, the ``/rpc`` switch."""

    handler: str = "rpc"
    namespace: str = ""
    enable_rpc: bool = False

    def __post_init__(self) -> None:
        if self.handler not in HANDLERS:
            raise ValueError(f"handler {self.handler!r} is not one of {', '.join(HANDLERS)}")


class Gateway:
    """One running gateway: the catalogue, the handlers, and the dispatch of each request."""

    def __init__(self, service: Service, settings: HttpSettings, options: GatewayOptions) -> None:
        self.service = service
        self.settings = settings
        self.options = options
        self.catalogue = Catalogue(service.registry, self._table)
        self.proxy = Proxy(service.selector, timeout=settings.timeout, known=self._known)
        self.handlers = Handlers(service.client, self.proxy, options.namespace)

    def _table(self, entries: list[Entry]) -> Table:
        return Table(entries, handler=self.options.handler, namespace=self.options.namespace)

    async def _known(self) -> Iterable[str]:
        return list(self.catalogue.table.services)

    def app(self) -> web.Application:
        self.service.plugins.register(PassThrough(), name="micro-api-passthrough")
        app = application(self.settings, self.service.plugins, public=PUBLIC)
        app[_CATALOGUE] = self.catalogue
        app.router.add_get("/health", self.health)
        app.router.add_get("/ready", self.ready)
        app.router.add_get("/routes", self.routes)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_get("/docs", self.docs)
        app.router.add_static("/docs/", _SWAGGER, append_version=False)
        app.router.add_route("*", "/rpc", self.rpc)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        await self.catalogue.start()

    async def _stop(self, app: web.Application) -> None:
        await self.catalogue.close()
        await self.proxy.close()

    # --- the gateway's own endpoints ---------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        """Ready when the registry answers now (one round trip, for the prober only)."""
        try:
            async with asyncio.timeout(_READY_TIMEOUT):
                await self.service.registry.list_services()
        except Exception as exc:
            raise errors.ServiceUnavailable(f"registry not reachable: {exc}", id="micro.api") from None
        return web.json_response({"status": "ready", "services": len(self.catalogue.table.services)})

    async def routes(self, request: web.Request) -> web.Response:
        body = self.catalogue.derived("routes", lambda table: msgspec.json.encode(table.listing()))
        return web.Response(body=body, content_type="application/json")

    async def openapi(self, request: web.Request) -> web.Response:
        body = self.catalogue.derived("openapi", lambda table: msgspec.json.encode(document(table)))
        return web.Response(body=body, content_type="application/json")

    async def docs(self, request: web.Request) -> web.Response:
        return web.Response(body=_DOCS_PAGE, content_type="text/html")

    async def rpc(self, request: web.Request) -> web.StreamResponse:
        """``POST /rpc {"service", "endpoint", "request"}``: any endpoint, when ``--enable-rpc``."""
        if not self.options.enable_rpc:
            raise errors.NotFound("/rpc is off: start micro api with --enable-rpc", id="micro.api")
        if request.method != "POST":
            raise errors.MethodNotAllowed(f"/rpc takes POST, not {request.method}", id="micro.api")
        body = await read_value(request)
        if not isinstance(body, dict) or not body.get("service") or not body.get("endpoint"):
            raise errors.BadRequest('/rpc needs {"service": …, "endpoint": …, "request": …}', id="micro.api")
        route = Route(str(body["service"]), str(body["endpoint"]), "rpc")
        reply = await self.handlers.call(request, route, body.get("request"))
        return web.Response(body=msgspec.json.encode(reply), content_type="application/json")

    # --- every other path ---------------------------------------------------------------------

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        try:
            route = self.catalogue.table.resolve(request.method, request.host, request.path)
        except errors.NotFound:
            if self.options.handler == "event":  # a topic needs no registered service
                return await self._event(request)
            raise
        if route.timeout is not None:
            set_timeout(request, route.timeout)
        handler = route.handler
        if handler == "event":
            return await self._event(request)
        if handler == "http":
            return await self.handlers.http(request, route)
        if route.stream:
            return await self.handlers.stream(request, route)
        if handler == "api":
            return await self.handlers.api(request, route)
        return await self.handlers.rpc(request, route)

    async def _event(self, request: web.Request) -> web.StreamResponse:
        segment = next((part for part in request.path.split("/") if part), "")
        if not segment:
            raise errors.NotFound(f"no route for {request.method} /: an event needs /<topic>", id="micro.api")
        return await self.handlers.event(request, segment)


def print_routes(table: Table, address: str) -> None:
    """The start-up banner: where the gateway listens and every route it serves."""
    rows: list[dict[str, Any]] = table.listing()
    print(f"micro api listening on http://{address} ({len(table.services)} services, {len(rows)} routes)")
    for row in rows:
        methods = ",".join(row["methods"])
        target = f"{row['service']} {row['endpoint']}".strip()
        print(f"  {methods:<10} {row['path']:<40} -> {row['handler']:<5} {target}")
    print(flush=True, end="")


__all__ = ["PUBLIC", "Gateway", "GatewayOptions", "print_routes"]
