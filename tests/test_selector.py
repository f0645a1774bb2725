"""The selectors over real registries: spread, filters, failure marks, and a cache the watch keeps fresh."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from micro_core.errors import BadRequest, ServiceUnavailable
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import (
    Endpoint,
    Event,
    Node,
    Registry,
    RegistryUnavailable,
    Service,
    ServiceNotFound,
    Watcher,
)
from micro_core.registry.local import LocalRegistry
from micro_core.registry.memory import MemoryRegistry
from micro_core.selector import (
    RandomSelector,
    RoundRobinSelector,
    Selector,
    by_endpoint,
    by_metadata,
    by_version,
)

PATIENCE = 15.0


class CountingRegistry(MemoryRegistry):
    """A real memory registry that counts the lookups the selector makes."""

    lookups = 0

    async def get_service(self, name: str) -> list[Service]:
        self.lookups += 1
        return await super().get_service(name)


@pytest.fixture
async def registry() -> AsyncIterator[CountingRegistry]:
    registry = CountingRegistry(f"test-{uuid.uuid4().hex[:8]}")
    yield registry
    await registry.close()


MakeSelector = Callable[..., Selector]


@pytest.fixture
async def selectors() -> AsyncIterator[MakeSelector]:
    """Builds selectors; each is closed after the test."""
    made: list[Selector] = []

    def make(
        kind: type[RandomSelector | RoundRobinSelector], registry: Registry, **settings: float
    ) -> Selector:
        made.append(kind(registry, **settings))
        return made[-1]

    yield make
    for selector in made:
        await selector.close()


def nodes(*ids: str, **metadata: str) -> list[Node]:
    return [Node(node_id, f"127.0.0.1:{9000 + i}", dict(metadata)) for i, node_id in enumerate(ids)]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {PATIENCE}s")
        await asyncio.sleep(0.05)


async def picks(selector: Selector, count: int, service: str = "greeter", **kwargs: Any) -> list[str]:
    return [(await selector.select(service, **kwargs)).id for _ in range(count)]


# --- how nodes are picked ---------------------------------------------------------------------


async def test_random_spreads_calls_over_every_node(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b", "c")))
    counts = Counter(await picks(selectors(RandomSelector, registry), 600))
    assert set(counts) == {"a", "b", "c"}
    assert min(counts.values()) > 100  # 200 expected each


async def test_round_robin_cycles_through_the_nodes(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b", "c")))
    order = await picks(selectors(RoundRobinSelector, registry), 9)
    assert sorted(order[:3]) == ["a", "b", "c"]
    assert order == order[:3] * 3


async def test_warm_cache_asks_the_registry_once(registry: CountingRegistry, selectors: MakeSelector) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b")))
    selector = selectors(RandomSelector, registry)
    await asyncio.gather(*(selector.select("greeter") for _ in range(20)))  # concurrent cold calls share
    await picks(selector, 1000)
    assert registry.lookups == 1


async def test_selectors_are_found_by_name_through_their_entry_points(registry: CountingRegistry) -> None:
    plugins = Plugins(autoload=False)
    for name, kind in (("random", RandomSelector), ("roundrobin", RoundRobinSelector)):
        selector = plugins.selector(name, registry, Options())
        assert type(selector) is kind
        assert selector.name == name


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
async def two_versions(registry: CountingRegistry) -> CountingRegistry:
    hello = [Endpoint("Greeter.Hello")]
    await registry.register(Service("greeter", "1", endpoints=hello, nodes=nodes("v1-eu", zone="eu")))
    await registry.register(
        Service("greeter", "2", endpoints=[*hello, Endpoint("Greeter.Wave")], nodes=nodes("v2-us", zone="us"))
    )
    return registry


async def test_filters_narrow_the_candidates(two_versions: CountingRegistry, selectors: MakeSelector) -> None:
    selector = selectors(RoundRobinSelector, two_versions)
    assert set(await picks(selector, 4)) == {"v1-eu", "v2-us"}
    assert set(await picks(selector, 4, filters=[by_version("2")])) == {"v2-us"}
    assert set(await picks(selector, 4, filters=[by_version("1", "2")])) == {"v1-eu", "v2-us"}
    assert set(await picks(selector, 4, filters=[by_metadata(zone="eu")])) == {"v1-eu"}
    assert set(await picks(selector, 4, filters=[by_endpoint("Greeter.Wave")])) == {"v2-us"}
    assert set(await picks(selector, 4, filters=[by_endpoint("Greeter.Hello"), by_version("1")])) == {"v1-eu"}


async def test_a_filter_that_leaves_nothing_is_service_unavailable(
    two_versions: CountingRegistry, selectors: MakeSelector
) -> None:
    selector = selectors(RandomSelector, two_versions)
    with pytest.raises(ServiceUnavailable, match="greeter"):
        await selector.select("greeter", filters=[by_version("3")])
    with pytest.raises(ServiceUnavailable):
        await selector.select("greeter", filters=[by_metadata(zone="eu", rack="7")])


# --- failures ---------------------------------------------------------------------------------


async def test_a_failed_node_is_avoided_until_its_cooldown_ends(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b")))
    selector = selectors(RandomSelector, registry, cooldown=0.5)
    a = await registry.get_service("greeter")
    selector.mark("greeter", a[0].nodes[0], ConnectionRefusedError())

    assert set(await picks(selector, 50)) == {"b"}
    await asyncio.sleep(0.6)
    assert set(await picks(selector, 100)) == {"a", "b"}


async def test_a_success_clears_the_mark(registry: CountingRegistry, selectors: MakeSelector) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b")))
    selector = selectors(RandomSelector, registry)
    (a, _) = nodes("a", "b")
    selector.mark("greeter", a, ServiceUnavailable("going away"))
    assert set(await picks(selector, 50)) == {"b"}

    selector.mark("greeter", a, None)
    assert set(await picks(selector, 100)) == {"a", "b"}


async def test_a_non_retriable_error_does_not_mark_the_node(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b")))
    selector = selectors(RoundRobinSelector, registry)
    selector.mark("greeter", nodes("a")[0], BadRequest("the caller's fault, not the node's"))
    assert set(await picks(selector, 4)) == {"a", "b"}


async def test_the_only_node_is_tried_even_while_cooling_down(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a")))
    selector = selectors(RandomSelector, registry)
    selector.mark("greeter", nodes("a")[0], ConnectionResetError())
    assert await picks(selector, 3) == ["a", "a", "a"]


async def test_exclude_moves_a_retry_to_another_node(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a", "b")))
    selector = selectors(RandomSelector, registry)
    assert set(await picks(selector, 50, exclude={"a"})) == {"b"}
    with pytest.raises(ServiceUnavailable, match="2 excluded"):
        await selector.select("greeter", exclude={"a", "b"})


async def test_unknown_service_is_service_not_found(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    with pytest.raises(ServiceNotFound):
        await selectors(RandomSelector, registry).select("nobody")


# --- keeping the cache fresh ------------------------------------------------------------------


@pytest.fixture(params=["memory", "local"])
async def watched(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Registry]:
    """A real registry of each built-in kind, counting its lookups."""

    class CountingLocal(LocalRegistry):
        lookups = 0

        async def get_service(self, name: str) -> list[Service]:
            self.lookups += 1
            return await super().get_service(name)

    registry: Registry = (
        CountingRegistry(f"test-{uuid.uuid4().hex[:8]}")
        if request.param == "memory"
        else CountingLocal(str(tmp_path / "registry"), poll_interval=0.05)
    )
    await registry.connect()
    yield registry
    await registry.close()


async def test_the_watch_updates_the_cache_without_another_lookup(
    watched: Registry, selectors: MakeSelector
) -> None:
    await watched.register(Service("greeter", nodes=nodes("a")))
    selector = selectors(RoundRobinSelector, watched)
    assert await picks(selector, 2) == ["a", "a"]

    await watched.register(Service("greeter", nodes=[Node("b", "127.0.0.1:9100")]))

    async def sees_b() -> bool:
        return "b" in await picks(selector, 2)

    await eventually(sees_b, "node b")
    await watched.deregister(Service("greeter", nodes=nodes("a")))

    async def only_b() -> bool:
        return set(await picks(selector, 4)) == {"b"}

    await eventually(only_b, "node a gone")
    assert watched.lookups == 1  # type: ignore[attr-defined]


async def test_when_the_last_node_leaves_the_service_is_not_found(
    watched: Registry, selectors: MakeSelector
) -> None:
    await watched.register(Service("greeter", nodes=nodes("a")))
    selector = selectors(RandomSelector, watched)
    await selector.select("greeter")
    await watched.deregister(Service("greeter", nodes=nodes("a")))

    async def not_found() -> bool:
        try:
            await selector.select("greeter")
        except ServiceNotFound:
            return True
        return False

    await eventually(not_found, "ServiceNotFound")


async def test_cached_entries_expire_after_the_ttl(
    registry: CountingRegistry, selectors: MakeSelector
) -> None:
    await registry.register(Service("greeter", nodes=nodes("a")))
    selector = selectors(RandomSelector, registry, ttl=0.2)
    await selector.select("greeter")
    await asyncio.sleep(0.3)
    await selector.select("greeter")
    assert registry.lookups == 2


class FlakyWatchRegistry(CountingRegistry):
    """A real memory registry whose first watch fails, as a lost connection to a backend would."""

    watches = 0

    def watch(self, service: str | None = None) -> Watcher:
        self.watches += 1
        return _Broken() if self.watches == 1 else super().watch(service)


class _Broken(Watcher):
    async def __anext__(self) -> Event:
        await asyncio.sleep(0.05)
        raise RegistryUnavailable("fake: connection to the registry lost")

    async def close(self) -> None:
        pass


async def test_a_failed_watch_drops_the_cache_and_watches_again_with_a_fake_failing_watcher(
    selectors: MakeSelector,
) -> None:
    registry = FlakyWatchRegistry(f"test-{uuid.uuid4().hex[:8]}")
    await registry.register(Service("greeter", nodes=nodes("a")))
    selector = selectors(RandomSelector, registry)
    await selector.select("greeter")

    async def rewatched() -> bool:
        return registry.watches == 2

    await eventually(rewatched, "a second watch")
    await selector.select("greeter")
    assert registry.lookups == 2  # the cache was dropped with the failed watch

    await registry.register(Service("greeter", nodes=[Node("b", "127.0.0.1:9100")]))

    async def sees_b() -> bool:
        return "b" in await picks(selector, 20)

    await eventually(sees_b, "node b through the new watch")
    assert registry.lookups == 2
    await registry.close()
