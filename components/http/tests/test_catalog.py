"""The registry mirror: listed once, then kept by the watch, node by node."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from micro_core.registry import Event, EventType, Node, Service
from micro_core.registry.memory import MemoryRegistry
from micro_http.catalog import RegistryMirror


@pytest.fixture
async def registry() -> AsyncIterator[MemoryRegistry]:
    registry = MemoryRegistry(f"mirror-{uuid.uuid4().hex[:8]}")
    yield registry
    await registry.close()


def entry(node: str, version: str = "1") -> Service:
    return Service("greeter", version, nodes=[Node(node, f"127.0.0.1:{9000 + len(node)}")])


async def test_a_service_reads_as_the_registry_gives_it_and_renewals_change_nothing(
    registry: MemoryRegistry,
) -> None:
    await registry.register(entry("g1", "1"))
    listed: list[set[str]] = []
    events: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    def on_event(event: Event, changed: bool) -> None:
        events.put_nowait((event.service.nodes[0].id, changed))

    mirror = RegistryMirror(registry, on_event=on_event, on_listed=listed.append)
    await mirror.start()
    try:
        assert (mirror.ready, listed) == (True, [{"greeter"}])
        await registry.register(entry("g2", "1"))
        await registry.register(entry("g3", "2"))
        assert [await asyncio.wait_for(events.get(), 5) for _ in range(2)] == [("g2", True), ("g3", True)]
        # One entry per version with its nodes, as get_service answers; one per node for routing.
        assert sorted(
            (version.version, sorted(n.id for n in version.nodes)) for version in mirror.service("greeter")
        ) == [("1", ["g1", "g2"]), ("2", ["g3"])]
        assert sorted(e.nodes[0].id for e in mirror.entries()) == ["g1", "g2", "g3"]

        # A renewal as registries that report every one (Consul) send it: nothing changed.
        assert mirror.apply(EventType.UPDATE, entry("g2", "1")) is False

        await registry.deregister(entry("g3", "2"))
        assert await asyncio.wait_for(events.get(), 5) == ("g3", True)
        assert [version.version for version in mirror.service("greeter")] == ["1"]
        assert mirror.service("nosuch") == []
    finally:
        await mirror.close()
