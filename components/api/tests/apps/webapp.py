"""An HTTP service behind the gateway's ``http`` handler: an aiohttp app with a websocket echo,
registered by hand as a node with ``protocol: http``. ``python webapp.py PORT``."""

from __future__ import annotations

import asyncio
import sys
import uuid

from aiohttp import WSMsgType, web

from micro_core import Options, Plugins, run
from micro_core.registry import Node
from micro_core.registry import Service as Entry

NAME = "storefront"


async def hello(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "path": request.path_qs,
            "forwarded_for": request.headers.get("X-Forwarded-For"),
            "forwarded_host": request.headers.get("X-Forwarded-Host"),
            "body": (await request.read()).decode(),
        }
    )


async def echo(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        if message.type is WSMsgType.TEXT:
            await socket.send_str(f"echo: {message.data}")
    return socket


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_route("*", f"/{NAME}/hello", hello)
    app.router.add_get(f"/{NAME}/ws", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    plugins = Plugins()
    options = Options()
    plugins.add_options(options)
    registry = plugins.registry(options["registry"], options)
    await registry.connect()
    node = Node(id=f"{NAME}-{uuid.uuid4()}", address=f"127.0.0.1:{port}", metadata={"protocol": "http"})
    entry = Entry(name=NAME, version="1", nodes=[node])
    print("serving on", port, flush=True)
    try:
        while True:
            await registry.register(entry, options["register_ttl"])
            await asyncio.sleep(options["register_interval"])
    finally:
        await registry.deregister(entry)
        await registry.close()
        await runner.cleanup()


if __name__ == "__main__":
    run(main(int(sys.argv[1])))
