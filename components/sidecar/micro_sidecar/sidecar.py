"""The sidecar put together: the app's registration and inbound calls, and the HTTP API beside it.

:func:`build` makes the aiohttp application from a connected kernel service. Without
an app (no ``--name``) the sidecar serves only its API, e.g. as the proxy of a CLI on
a machine that should not reach the registry. Stopping (SIGTERM) deregisters the app
before anything else, then ends the subscriptions, stops taking calls for the app,
and closes the HTTP client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import aiohttp
from aiohttp import web

from micro_core import Service
from micro_core.registry import Endpoint
from micro_http import HttpSettings, application
from micro_sidecar import endpoints as endpoint_sources
from micro_sidecar import openapi
from micro_sidecar.api import Api
from micro_sidecar.app import App, Health, Registration
from micro_sidecar.delivery import DEFAULT_TEMPLATE, Delivery
from micro_sidecar.events import Events

log = logging.getLogger("micro.sidecar")

#: Seconds the sidecar keeps asking for the app's OpenAPI document while the app starts.
OPENAPI_WAIT = 10.0


@dataclass(frozen=True)
class Settings:
    """What ``micro sidecar`` was told about the app and its deliveries."""

    #: The app it stands beside; None: the API only.
    app: App | None = None
    #: Path or URL of the app's OpenAPI document, read for the endpoints at start.
    openapi: str = ""
    #: Where calls go on the app: ``{endpoint}`` and ``{service}`` are filled in.
    template: str = DEFAULT_TEMPLATE
    #: Seconds between health checks of the app.
    check_interval: float = 5.0
    #: Seconds a call to the app may take when the caller sent no deadline.
    app_timeout: float = 30.0
    #: Seconds a push endpoint has to answer before its message is handed back.
    push_timeout: float = 10.0
    #: Push subscriptions made at start: (topic, queue or None, URL or a path on the app).
    pushes: tuple[tuple[str, str | None, str], ...] = ()


def absolute(base: str, where: str) -> str:
    """``where`` if it is a URL, else that path on ``base``."""
    return where if "://" in where else base.rstrip("/") + "/" + where.lstrip("/")


async def read_openapi(http: aiohttp.ClientSession, url: str) -> list[Endpoint]:
    """The endpoints of the app's OpenAPI document at ``url``, waiting up to ``OPENAPI_WAIT`` for the app."""
    deadline = time.monotonic() + OPENAPI_WAIT
    while True:
        try:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
            return endpoint_sources.from_openapi(document, url)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if isinstance(exc, endpoint_sources.EndpointsError) or time.monotonic() > deadline:
                raise endpoint_sources.EndpointsError(
                    f"cannot read the app's OpenAPI document {url}: {exc}"
                ) from exc
            await asyncio.sleep(0.2)


async def build(service: Service, settings: Settings, http_settings: HttpSettings) -> web.Application:
    """The sidecar's application over ``service`` (connected); its cleanup stops everything it started."""
    opts = service.options
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300), auto_decompress=False
    )
    app_settings = settings.app
    registration: Registration | None = None
    listener = None
    try:
        if app_settings is not None and settings.openapi:
            found = await read_openapi(http, absolute(app_settings.url, settings.openapi))
            app_settings = dataclasses.replace(app_settings, endpoints=found)
        if app_settings is not None:
            delivery = Delivery(
                app_settings.name,
                app_settings.url,
                app_settings.endpoints,
                http,
                template=settings.template,
                timeout=settings.app_timeout,
                health=lambda: registration is not None and registration.status.health is not Health.FAILING,
            )
            listener = await service.transport.listen(opts["server_address"], delivery)
            registration = Registration(
                app_settings,
                opts["server_advertise"] or listener.address,
                f"{app_settings.name}-{uuid.uuid4()}",
                service.registry,
                ttl=opts["register_ttl"],
                renew_interval=opts["register_interval"],
                check_interval=settings.check_interval,
                http=http,
                node_metadata={
                    "transport": service.transport.name,
                    "broker": service.broker.name,
                    "registry": service.registry.name,
                    "server": "micro-sidecar",
                    "protocol": "mucp",
                },
            )
            await registration.start()
            log.info("calls for %s arrive on %s", app_settings.name, listener.address)
    except BaseException:
        if listener is not None:
            await listener.close()
        await http.close()
        raise

    def app_status() -> tuple[bool, dict[str, Any]]:
        if registration is None:
            return False, {"health": str(Health.UNKNOWN), "registered": False, "detail": "no app"}
        return registration.status.registered, registration.status.to_dict()

    secured = bool(http_settings.tokens or http_settings.jwt_key)
    if secured:  # a token given means every route needs it
        http_settings = dataclasses.replace(http_settings, auth_required=True)
    document = openapi.document(version("micro-sidecar"), secured=secured)
    api = Api(
        service.registry,
        service.client,
        ttl=opts["register_ttl"],
        app_status=app_status,
        document=lambda: document,
    )
    events = Events(
        service.broker,
        service.client,
        http,
        app_url=app_settings.url if app_settings else "",
        push_timeout=settings.push_timeout,
        max_message=http_settings.max_body,
    )
    for topic, queue, url in settings.pushes:
        await events.push(topic, queue, url)
    web_app = application(http_settings, service.plugins)
    web_app.add_routes(events.routes())
    web_app.add_routes(api.routes())

    async def stopping(_: web.Application) -> None:
        if registration is not None:
            await registration.stop()  # first: callers stop being sent to the app
        await events.close()
        if listener is not None:
            await listener.close()
            log.info("stopped taking calls for %s", app_settings.name if app_settings else "")

    async def closing(_: web.Application) -> None:
        await http.close()

    web_app.on_shutdown.append(stopping)
    web_app.on_cleanup.append(closing)
    return web_app


__all__ = ["OPENAPI_WAIT", "Settings", "absolute", "build", "read_openapi"]
