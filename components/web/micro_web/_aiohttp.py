"""An aiohttp app behind the gate: one middleware put in front of the app's own."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from micro_web.gate import Gate, is_call

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _middleware(gate: Gate) -> Middleware:
    @web.middleware
    async def gate_keeper(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_call(request.method, request.path, request.headers.keys()):
            header, body = await gate.call(request.headers.items(), await request.read())
            return web.Response(body=body, headers=header)
        if gate.draining:
            status, header, text = Gate.REFUSAL
            return web.Response(status=status, headers=header, body=text)
        gate.enter()
        try:
            return await handler(request)
        finally:
            gate.leave()

    return gate_keeper


class AiohttpServer:
    """An aiohttp application served on a socket bound beforehand."""

    def __init__(self, app: web.Application, gate: Gate, grace: float) -> None:
        app.middlewares.insert(0, _middleware(gate))
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=grace)

    async def start(self, sock: socket.socket) -> None:
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
