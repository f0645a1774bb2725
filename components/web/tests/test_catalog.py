"""The dashboard's catalog: loaded once, then kept by the registry's watch, with a log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from micro_core.registry import Node, Service
from micro_core.registry.memory import MemoryRegistry
from micro_web.catalog import Catalog


@pytest.fixture
async def registry() -> AsyncIterator[MemoryRegistry]:
    registry = MemoryRegistry(f"catalog-{uuid.uuid4().hex[:8]}", expiry_interval=0.05)
    yield registry
    await registry.close()


def entry(name: str, node: str, version: str = "1", **metadata: str) -> Service:
    return Service(
        name, version, metadata=metadata, nodes=[Node(node, f"127.0.0.1:{abs(hash(node)) % 60000}")]
    )


async def until(predicate: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_rows_summarise_each_service_and_name_web_services_by_their_path(
    registry: MemoryRegistry,
) -> None:
    await registry.register(entry("greeter", "g1", "1"))
    await registry.register(entry("greeter", "g2", "2"))
    await registry.register(entry("micro.web.shop", "s1", web="true"))
    catalog = Catalog(registry, "micro.web")
    await catalog.start()
    try:
        assert catalog.rows() == [
            {
                "name": "greeter",
                "versions": ["1", "2"],
                "nodes": 2,
                "endpoints": 0,
                "web": False,
                "path": None,
            },
            {
                "name": "micro.web.shop",
                "versions": ["1"],
                "nodes": 1,
                "endpoints": 0,
                "web": True,
                "path": "/shop/",
            },
        ]
        assert catalog.web_names() == ["shop"]
    finally:
        await catalog.close()


async def test_changes_reach_listeners_and_the_log_and_a_listener_that_falls_behind_gets_a_snapshot(
    registry: MemoryRegistry,
) -> None:
    catalog = Catalog(registry, "micro.web")
    await catalog.start()
    queue = catalog.listen()
    behind = catalog.listen(backlog=3)  # a page that stopped reading
    try:
        await registry.register(entry("greeter", "g1"))
        await until(lambda: queue.qsize() >= 2)
        assert [queue.get_nowait()[0] for _ in range(2)] == ["log", "service"]
        await registry.deregister(entry("greeter", "g1"))
        await until(lambda: catalog.rows() == [])
        assert [(e["what"], e["service"], e["node"]) for e in catalog.log] == [
            ("registered", "greeter", "g1"),
            ("deregistered", "greeter", "g1"),
        ]
        kind, snapshot = behind.get_nowait()
        assert kind == "snapshot" and snapshot["services"] == [] and len(snapshot["log"]) == 2
    finally:
        catalog.unlisten(queue)
        catalog.unlisten(behind)
        await catalog.close()
