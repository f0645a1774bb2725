"""The reverse proxy, in front of real backends on loopback ports.

Backends are aiohttp apps registered in a private memory registry; the ones a test
kills run in a child process (this file run as a script) so the kill is a real one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from micro_core import errors
from micro_core.registry import Node, Service
from micro_core.registry.memory import MemoryRegistry
from micro_core.selector import RoundRobinSelector
from micro_core.testing.processes import free_port, port_open, wait_until
from micro_http.proxy import DRAINING_HEADER, PREFIX_HEADER, Proxy
from micro_http.render import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def proxy_app(proxy: Proxy) -> web.Application:
    """``/<name>/<rest>`` forwarded to service ``<name>``, as ``micro web`` serves it."""

    async def forward(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        rest = request.raw_path.partition("?")[0][len(name) + 1 :]
        try:
            return await proxy.forward(request, name, rest, prefix=f"/{name}")
        except errors.MicroError as error:
            return error_response(error, request)

    app = web.Application()
    app.router.add_route("*", "/{name}/{rest:.*}", forward)
    return app


class World:
    """A private registry, backends registered in it, and the proxy in front of them."""

    def __init__(self) -> None:
        self.registry = MemoryRegistry(f"proxy-{uuid.uuid4().hex[:8]}")
        self.selector = RoundRobinSelector(self.registry)
        self.proxy = Proxy(self.selector, timeout=2.0, connect_timeout=1.0, hidden_cookies=["session"])
        self.runners: list[web.AppRunner] = []
        self.url = ""

    async def serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.runners.append(runner)
        host, port = runner.addresses[0][:2]
        return f"{host}:{port}"

    async def register(self, name: str, address: str, node_id: str | None = None) -> Node:
        node = Node(id=node_id or f"{name}-{uuid.uuid4().hex[:6]}", address=address)
        await self.registry.register(Service(name, "1", nodes=[node]))
        return node

    async def backend(self, name: str, routes: dict[str, Handler], node_id: str | None = None) -> Node:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_route("*", path, handler)
        return await self.register(name, await self.serve(app), node_id)

    async def close(self) -> None:
        await self.proxy.close()
        await self.selector.close()
        for runner in reversed(self.runners):
            await runner.cleanup()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    world = World()
    world.url = "http://" + await world.serve(proxy_app(world.proxy))
    yield world
    await world.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def echo_headers(request: web.Request) -> web.Response:
    return web.json_response(
        {"path": request.raw_path, "method": request.method, "headers": dict(request.headers)}
    )


# --- forwarding ---------------------------------------------------------------------------


async def test_a_request_reaches_the_service_with_forwarded_headers_and_its_base_path(
    world: World, http: aiohttp.ClientSession
) -> None:
    await world.backend("shop", {"/{tail:.*}": echo_headers})
    async with http.get(
        f"{world.url}/shop/cart/a%2Fb?x=1&y=2",
        headers={"Connection": "keep-alive, X-Secret", "X-Secret": "hop", "Cookie": "a=b; session=s3cr3t"},
    ) as response:
        seen = await response.json()
    assert seen["path"] == "/cart/a%2Fb?x=1&y=2"
    header = seen["headers"]
    assert header["X-Forwarded-For"] == "127.0.0.1"
    assert header["X-Forwarded-Proto"] == "http"
    assert header["X-Forwarded-Host"] == world.url.removeprefix("http://")
    assert header[PREFIX_HEADER] == "/shop"
    assert header["Cookie"] == "a=b", "the proxy's own session cookie is not passed on"
    assert "X-Secret" not in header, "a header named in Connection is hop-by-hop"


async def test_responses_keep_status_and_repeated_headers_and_are_not_redirected(
    world: World, http: aiohttp.ClientSession
) -> None:
    async def login(request: web.Request) -> web.Response:
        response = web.Response(status=303, headers={"Location": "/shop/home"})
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    await world.backend("shop", {"/login": login})
    async with http.post(f"{world.url}/shop/login", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/shop/home"
        assert len(response.headers.getall("Set-Cookie")) == 2


async def test_requests_are_spread_over_the_nodes(world: World, http: aiohttp.ClientSession) -> None:
    def named(node: str) -> Handler:
        async def answer(request: web.Request) -> web.Response:
            return web.Response(text=node)

        return answer

    for node in ("one", "two"):
        await world.backend("shop", {"/": named(node)}, node_id=node)
    seen = []
    for _ in range(4):
        async with http.get(f"{world.url}/shop/") as response:
            seen.append(await response.text())
    assert sorted(seen) == ["one", "one", "two", "two"]


async def test_bodies_stream_both_ways_without_being_buffered(
    world: World, http: aiohttp.ClientSession
) -> None:
    received = asyncio.Event()
    release = asyncio.Event()

    async def upload(request: web.Request) -> web.Response:
        first = await request.content.readexactly(5)
        received.set()  # the first chunk is here while the client has not sent the rest
        rest = await request.content.read()
        return web.Response(text=f"{first.decode()}+{len(rest)}")

    async def ticks(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first\n")
        await release.wait()
        await response.write(b"second\n")
        return response

    await world.backend("media", {"/upload": upload, "/ticks": ticks})

    async def body() -> AsyncIterator[bytes]:
        yield b"hello"
        await asyncio.wait_for(received.wait(), 5)
        yield b"x" * 200_000

    async with http.post(f"{world.url}/media/upload", data=body()) as response:
        assert await response.text() == "hello+200000"

    async with http.get(f"{world.url}/media/ticks") as response:
        assert await asyncio.wait_for(response.content.readline(), 5) == b"first\n"
        release.set()
        assert await response.content.readline() == b"second\n"


async def test_websockets_are_relayed_both_ways_and_a_clean_close_passes_through(
    world: World, http: aiohttp.ClientSession
) -> None:
    async def chat(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=["chat.v1"])
        await ws.prepare(request)
        async for message in ws:
            if message.data == "bye":
                await ws.close(code=4001, message=b"see you")
            elif message.type is aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
            else:
                await ws.send_str(f"{request.headers[PREFIX_HEADER]} heard {message.data}")
        return ws

    await world.backend("chat", {"/ws": chat})
    async with http.ws_connect(f"{world.url}/chat/ws", protocols=["chat.v1"]) as ws:
        assert ws.protocol == "chat.v1"
        await ws.send_str("hi")
        assert await ws.receive_str() == "/chat heard hi"
        await ws.send_bytes(b"abc")
        assert await ws.receive_bytes() == b"cba"
        await ws.send_str("bye")
        message = await ws.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (4001, "see you")


# --- bad conditions ------------------------------------------------------------------------


async def test_an_unknown_service_is_a_404_listing_the_known_ones(
    world: World, http: aiohttp.ClientSession
) -> None:
    await world.backend("shop", {"/": echo_headers})
    await world.backend("blog", {"/": echo_headers})
    async with http.get(f"{world.url}/nope/") as response:
        assert response.status == 404
        error = await response.json()
    assert error["detail"] == "no web service 'nope' is registered; known: blog, shop"


async def test_a_refusing_node_is_marked_and_the_request_goes_to_another(
    world: World, http: aiohttp.ClientSession
) -> None:
    await world.register("shop", f"127.0.0.1:{free_port()}", node_id="dead")
    await world.backend("shop", {"/": echo_headers}, node_id="alive")
    for _ in range(3):
        async with http.get(f"{world.url}/shop/") as response:
            assert response.status == 200


async def test_every_node_draining_is_a_503(world: World, http: aiohttp.ClientSession) -> None:
    async def draining(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={DRAINING_HEADER: "true"})

    await world.backend("shop", {"/": draining}, node_id="a")
    await world.backend("shop", {"/": draining}, node_id="b")
    async with http.get(f"{world.url}/shop/") as response:
        assert response.status == 503
        error = await response.json()
    assert error["detail"] == "no node of 'shop' can take the request (2 tried and failed or draining)"


async def test_a_slow_backend_is_a_504_naming_the_node(world: World, http: aiohttp.ClientSession) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response()

    await world.backend("slow", {"/": slow}, node_id="sloth")
    async with http.get(f"{world.url}/slow/") as response:
        assert response.status == 504
        error = await response.json()
    assert error["detail"].startswith("slow: node sloth at 127.0.0.1:")
    assert error["detail"].endswith("did not answer within 2s")


class Doomed:
    """A backend in a child process (this file as a script), killed with SIGKILL by the test."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__)), str(self.port)], start_new_session=True
        )
        wait_until(lambda: port_open(self.port), 20, "the doomed backend")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def doomed() -> Iterator[Doomed]:
    backend = Doomed()
    yield backend
    if backend.process.poll() is None:
        backend.kill()


async def test_a_backend_killed_mid_request_is_a_502_naming_the_service_and_node(
    world: World, http: aiohttp.ClientSession, doomed: Doomed
) -> None:
    await world.register("jobs", f"127.0.0.1:{doomed.port}", node_id="worker-1")
    async with asyncio.TaskGroup() as tasks:
        pending = tasks.create_task(http.get(f"{world.url}/jobs/hang"))
        await asyncio.sleep(0.3)  # the request is now inside the backend's handler
        doomed.kill()
    async with pending.result() as response:
        error = await response.json()
        assert response.status == 502, error
    assert error["detail"].startswith(
        f"jobs: node worker-1 at 127.0.0.1:{doomed.port} failed before answering"
    )


async def test_a_websocket_whose_backend_dies_is_closed_with_a_reason(
    world: World, http: aiohttp.ClientSession, doomed: Doomed
) -> None:
    await world.register("jobs", f"127.0.0.1:{doomed.port}", node_id="worker-1")
    async with http.ws_connect(f"{world.url}/jobs/ws") as ws:
        await ws.send_str("ping")
        assert await ws.receive_str() == "ping"
        doomed.kill()
        message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.CLOSE
    assert (message.data, message.extra) == (1011, "jobs node worker-1 went away")


def doomed_backend(port: int) -> None:
    """The child process: a page that never answers and an echoing websocket."""

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/hang", hang)
    app.router.add_get("/ws", echo)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    doomed_backend(int(sys.argv[1]))


async def test_a_request_on_an_idle_connection_the_node_just_closed_is_sent_again_on_a_new_one(
    world: World, http: aiohttp.ClientSession
) -> None:
    """A node may close an idle keep-alive connection just as the proxy reuses it (uvicorn does
    after 5 s); this node does it on every connection's second request."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")  # the second request: closed as if it had been idle
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await world.register("flaky", f"127.0.0.1:{port}")
    try:
        for _ in range(3):
            async with http.get(f"{world.url}/flaky/") as response:
                assert (response.status, await response.text()) == (200, "ok")
    finally:
        await world.proxy.close()  # its pooled connection, which the server waits for
        server.close()
        await server.wait_closed()
