"""A real aiohttp server on loopback for each test, with the shared edge installed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from micro_http import HttpSettings, application, http_plugins

Serve = Callable[..., Awaitable[tuple[str, aiohttp.ClientSession]]]


@pytest.fixture
async def edge_app() -> AsyncIterator[Serve]:
    """``await edge_app(routes, settings, plugins)`` -> (base URL, session) of a running app."""
    servers: list[TestServer] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(
        routes: list[web.RouteDef],
        settings: HttpSettings | None = None,
        plugins: Any = None,
        public: tuple[str, ...] = (),
    ) -> tuple[str, aiohttp.ClientSession]:
        app = application(settings or HttpSettings(), plugins or http_plugins(autoload=False), public=public)
        app.add_routes(routes)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        session = aiohttp.ClientSession()
        sessions.append(session)
        return str(server.make_url("")).rstrip("/"), session

    yield start
    for session in sessions:
        await session.close()
    for server in servers:
        await server.close()
