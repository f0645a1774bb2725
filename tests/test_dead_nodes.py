"""Dead nodes: a call rides out nodes that are gone, and a node that refused connections stays out.

A killed process stays registered until its TTL runs out. Its callers must retry on other
nodes within their deadline, and pass the node over until the registry shows it again or
a probe finds it answering; a fixed cooldown would let it back in while it is still dead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from micro_core import Options, Plugins, Service
from micro_core.client import Client
from micro_core.registry import Node
from micro_core.registry import Service as Entry
from micro_core.registry.memory import MemoryRegistry
from micro_core.selector import RandomSelector
from micro_core.testing.processes import free_port
from micro_core.transport.http import HTTPListener, HTTPTransport


class Echo:
    async def call(self, text: str) -> str:
        return text


@pytest.fixture
async def echo(micro_settings) -> AsyncIterator[Service]:
    """One live node of ``echo`` over HTTP, in a private memory registry."""
    settings = {**micro_settings, "transport": "http", "server_address": "127.0.0.1:0"}
    service = Service(
        "echo", handlers=[Echo()], plugins=Plugins(autoload=False), options=Options(code=settings, environ={})
    )
    await service.start()
    yield service
    await service.stop()


def dead_node() -> Node:
    """A registered node whose process is gone: nothing listens at its address."""
    return Node(id=f"echo-dead-{uuid.uuid4().hex[:6]}", address=f"127.0.0.1:{free_port()}")


async def register(registry: MemoryRegistry, *nodes: Node) -> None:
    await registry.register(Entry(name="echo", version="latest", nodes=list(nodes)), ttl=60)


def new_client(echo: Service, selector: RandomSelector | None = None) -> Client:
    return Client(
        selector=selector or RandomSelector(echo.registry),
        transport=HTTPTransport(),
        plugins=echo.plugins,
        options=echo.options,
    )


async def test_a_call_tries_node_after_node_within_its_deadline(echo: Service) -> None:
    """Two of three registered nodes are dead: every fresh client's first call still succeeds."""
    assert isinstance(echo.registry, MemoryRegistry)
    await register(echo.registry, dead_node(), dead_node())
    for n in range(20):  # a fresh client each time: no marks learnt from the calls before
        client = new_client(echo)
        try:
            assert await client.call("echo", "Echo.Call", str(n), timeout=5) == str(n)
        finally:
            await client.close()
            await client.selector.close()


async def test_a_node_that_refused_stays_out_until_a_probe_finds_it_answering(echo: Service) -> None:
    assert isinstance(echo.registry, MemoryRegistry)
    dead = dead_node()
    await register(echo.registry, dead)
    selector = RandomSelector(echo.registry, cooldown=0.05)
    client = new_client(echo, selector)
    revived: HTTPListener | None = None
    try:
        for n in range(10):
            assert await client.call("echo", "Echo.Call", str(n)) == str(n)
        await asyncio.sleep(0.3)  # long past the cooldown
        picked = {(await selector.select("echo")).id for _ in range(50)}
        assert dead.id not in picked

        listener = await HTTPTransport().listen(dead.address, echo.server)  # the node answers again
        revived = listener if isinstance(listener, HTTPListener) else None
        async with asyncio.timeout(10):
            while dead.id not in {(await selector.select("echo")).id for _ in range(20)}:
                await asyncio.sleep(0.1)
    finally:
        if revived is not None:
            await revived.close()
        await client.close()
        await selector.close()


async def test_a_node_that_refused_comes_back_when_the_registry_shows_it_registered_again(
    echo: Service,
) -> None:
    assert isinstance(echo.registry, MemoryRegistry)
    dead = dead_node()
    await register(echo.registry, dead)
    selector = RandomSelector(echo.registry, cooldown=0.05)
    client = new_client(echo, selector)
    try:
        for n in range(10):
            assert await client.call("echo", "Echo.Call", str(n)) == str(n)
        await asyncio.sleep(0.3)
        assert dead.id not in {(await selector.select("echo")).id for _ in range(50)}

        await echo.registry.deregister(Entry(name="echo", version="latest", nodes=[dead]))
        await register(echo.registry, dead)
        async with asyncio.timeout(10):
            while dead.id not in {(await selector.select("echo")).id for _ in range(20)}:
                await asyncio.sleep(0.05)
    finally:
        await client.close()
        await selector.close()
