"""An ASGI app (FastAPI, Starlette, Django, a bare callable) behind the gate, served by uvicorn.

uvicorn is driven through its ``startup``/``main_loop``/``shutdown`` steps rather than
``serve()``, because ``serve()`` takes over SIGTERM and SIGINT: the web service must
decide the order of a stop itself (deregister, drain, then close the listener).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from micro_http.proxy import PREFIX_HEADER
from micro_web.gate import Gate, is_call

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PREFIX = PREFIX_HEADER.lower().encode()


class Front:
    """The ASGI app uvicorn runs: the gate, then the user's app.

    The base path the proxy sends (``X-Forwarded-Prefix``) becomes the scope's
    ``root_path`` (and the front of ``path``, as uvicorn's own ``--root-path`` does), so
    Starlette's ``url_for`` and Django's ``reverse`` build links that go through the proxy.
    """

    def __init__(self, app: ASGIApp, gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        if kind == "http" and is_call(scope["method"], scope["path"], (n.decode("latin-1") for n, _ in raw)):
            await self._call(scope, receive, send)
            return
        if self.gate.draining:
            await self._refuse(kind, send)
            return
        prefix = next((v.decode("latin-1") for n, v in raw if n == _PREFIX), "").rstrip("/")
        if prefix:
            scope = dict(scope)
            scope["root_path"] = scope.get("root_path", "") + prefix
            scope["path"] = prefix + scope["path"]
            scope["raw_path"] = prefix.encode() + scope.get("raw_path", scope["path"].encode())
        self.gate.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()

    async def _refuse(self, kind: str, send: Send) -> None:
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1012, "reason": "draining"})
            return
        status, header, body = Gate.REFUSAL
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in header.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        header, body = await self.gate.call(
            ((n.decode("latin-1"), v.decode("latin-1")) for n, v in scope["headers"]), b"".join(chunks)
        )
        fields = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in header.items()]
        fields.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": fields})
        await send({"type": "http.response.body", "body": body})


class AsgiServer:
    """uvicorn serving one app on a socket bound beforehand (so the port is known at once)."""

    def __init__(self, app: ASGIApp, gate: Gate, grace: float) -> None:
        self._config = uvicorn.Config(
            Front(app, gate),
            lifespan="auto",
            # httptools (about twice as fast as h11) lower-cases reply header names; the
            # kernel's HTTP client reads Micro-Id and Micro-Error whatever their case.
            http="httptools",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=max(int(grace), 1),
        )
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._ticking: asyncio.Task[None] | None = None

    async def start(self, sock: socket.socket) -> None:
        """Run the app's startup (lifespan) and accept connections on ``sock``."""
        config, server = self._config, self._server
        if not config.loaded:
            config.load()
        server.lifespan = config.lifespan_class(config)
        self._socket = sock
        await server.startup(sockets=[sock])
        if server.should_exit:
            raise RuntimeError("the ASGI app failed to start (its lifespan startup failed)")
        # The loop that keeps the Date header fresh and watches for should_exit.
        self._ticking = asyncio.create_task(server.main_loop(), name="uvicorn main loop")

    async def stop(self) -> None:
        """Close the listener, let connections finish (up to the grace), run the app's shutdown."""
        server = self._server
        server.should_exit = True
        if self._ticking is not None:
            await self._ticking
            self._ticking = None
        if server.started:
            await server.shutdown(sockets=[self._socket] if self._socket else None)
