"""The registry conformance suite: what every registry driver must do, tested the same way.

A driver's tests subclass :class:`RegistryConformance` and override ``registry_factory``:
an async factory that returns a new, connected registry on the same backend, as another
process would hold. The suite registers through one instance and reads or watches
through another, and closes every instance it opens::

    class TestConsulRegistry(RegistryConformance):
        @pytest.fixture
        def registry_factory(self, consul_agent):
            async def new() -> Registry:
                registry = ConsulRegistry(consul_agent.address)
                await registry.connect()
                return registry
            return new

Every test uses service names of its own, so a backend may be shared between tests.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from micro_core.registry import (
    Endpoint,
    Event,
    EventType,
    Node,
    Registry,
    Service,
    ServiceNotFound,
    Value,
    Watcher,
)

RegistryFactory = Callable[[], Awaitable[Registry]]


def node_ids(services: list[Service]) -> set[str]:
    return {node.id for service in services for node in service.nodes}


class RegistryConformance:
    """Subclass and override the ``registry_factory`` fixture."""

    #: Seconds a registration lives in the expiry tests.
    short_ttl = 1.5
    #: Seconds after a lapsed TTL within which a watch must report the expiry; a backend that
    #: learns of it late (a slow sweep, say) raises this.
    expiry_allowance = 5.0
    #: Seconds to wait for an event or an expiry: generous, test machines are busy.
    patience = 15.0

    @pytest.fixture
    def registry_factory(self) -> RegistryFactory:
        raise NotImplementedError("override the registry_factory fixture")

    @pytest.fixture
    async def open_registry(self, registry_factory: RegistryFactory) -> AsyncIterator[RegistryFactory]:
        """``registry_factory``, with every registry it made closed after the test."""
        opened: list[Registry] = []

        async def open_() -> Registry:
            opened.append(await registry_factory())
            return opened[-1]

        yield open_
        for registry in reversed(opened):
            await registry.close()

    @pytest.fixture
    async def registry(self, open_registry: RegistryFactory) -> Registry:
        """The registry a service registers with."""
        return await open_registry()

    @pytest.fixture
    async def peer(self, open_registry: RegistryFactory) -> Registry:
        """Another registry on the same backend: what a client in another process holds."""
        return await open_registry()

    @pytest.fixture
    def name(self) -> str:
        return f"conformance-{uuid.uuid4().hex[:8]}"

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def service(name: str, *node_ids: str, version: str = "1.0", **node_metadata: str) -> Service:
        return Service(
            name,
            version,
            nodes=[
                Node(node_id, f"127.0.0.1:{9000 + i}", dict(node_metadata))
                for i, node_id in enumerate(node_ids)
            ],
        )

    async def next_event(self, watcher: Watcher, name: str, within: float | None = None) -> Event:
        """The next event about service ``name`` (others on a shared backend are skipped), which
        must come ``within`` seconds (``patience`` unless given)."""
        async with asyncio.timeout(self.patience if within is None else within):
            async for event in watcher:
                if event.service.name == name:
                    return event
        raise AssertionError("the watch ended")

    async def gone(self, registry: Registry, name: str) -> None:
        """Wait until ``registry`` no longer knows ``name``."""
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            try:
                await registry.get_service(name)
            except ServiceNotFound:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{name} still registered after {self.patience}s")

    # --- register and read ---------------------------------------------------------------

    async def test_register_then_get_round_trips_every_field(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        request = Value(
            "HelloRequest",
            "HelloRequest",
            [Value("name", "string"), Value("tags", "[]Tag", [Value("k", "string")])],
        )
        service = Service(
            name,
            "2.1.0",
            metadata={"team": "core"},
            endpoints=[
                Endpoint("Greeter.Hello", request, Value("HelloReply", "HelloReply"), {"stream": "false"}),
                Endpoint("Greeter.Ping"),
            ],
            nodes=[Node("greeter-1", "127.0.0.1:9001", {"transport": "http", "zone": "eu"})],
        )
        await registry.register(service)
        assert await peer.get_service(name) == [service]

    async def test_nodes_of_one_version_are_merged(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a"))
        await peer.register(self.service(name, "b"))
        (found,) = await registry.get_service(name)
        assert found.version == "1.0"
        assert node_ids([found]) == {"a", "b"}

    async def test_versions_are_kept_apart(self, registry: Registry, peer: Registry, name: str) -> None:
        await registry.register(self.service(name, "old", version="1"))
        await registry.register(self.service(name, "new", version="2"))
        found = {s.version: node_ids([s]) for s in await peer.get_service(name)}
        assert found == {"1": {"old"}, "2": {"new"}}

    async def test_deregister_one_node_leaves_the_other(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a", "b"))
        await registry.deregister(self.service(name, "a"))
        assert node_ids(await peer.get_service(name)) == {"b"}

    async def test_deregister_last_node_forgets_the_service(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a"))
        await registry.deregister(self.service(name, "a"))
        with pytest.raises(ServiceNotFound):
            await peer.get_service(name)

    async def test_reregister_refreshes_without_duplicating(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a", zone="eu"))
        await registry.register(self.service(name, "a", zone="us"))
        (found,) = await peer.get_service(name)
        assert [node.metadata["zone"] for node in found.nodes] == ["us"]

    async def test_list_services_names_each_version(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a", version="1"))
        await registry.register(self.service(name, "b", version="2"))
        await registry.register(self.service(name + "-other", "c"))
        listed = {(s.name, s.version) for s in await peer.list_services()}
        assert {(name, "1"), (name, "2"), (name + "-other", "1.0")} <= listed

    async def test_unknown_service_is_service_not_found(self, peer: Registry, name: str) -> None:
        with pytest.raises(ServiceNotFound) as raised:
            await peer.get_service(name)
        assert raised.value.code == 404

    async def test_register_without_a_node_is_a_clear_error(self, registry: Registry, name: str) -> None:
        with pytest.raises(ValueError, match="node"):
            await registry.register(Service(name))
        with pytest.raises(ServiceNotFound):
            await registry.get_service(name)

    # --- expiry --------------------------------------------------------------------------

    async def test_registration_expires_after_its_ttl(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        await registry.register(self.service(name, "a"), ttl=self.short_ttl)
        assert node_ids(await peer.get_service(name)) == {"a"}
        await self.gone(peer, name)

    async def test_renewal_keeps_a_registration_alive(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        ttl = 2 * self.short_ttl
        started = time.monotonic()
        while time.monotonic() - started < 2 * ttl:  # outlive the ttl twice, renewing
            await registry.register(self.service(name, "a"), ttl=ttl)
            assert node_ids(await peer.get_service(name)) == {"a"}
            await asyncio.sleep(ttl / 6)

    # --- watch ---------------------------------------------------------------------------

    async def test_watch_sees_create_update_delete(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        watcher = peer.watch()
        try:
            await registry.register(self.service(name, "a", zone="eu"))
            created = await self.next_event(watcher, name)
            assert created.type is EventType.CREATE
            assert [(n.id, n.metadata) for n in created.service.nodes] == [("a", {"zone": "eu"})]

            await registry.register(self.service(name, "a", zone="us"))
            updated = await self.next_event(watcher, name)
            assert updated.type is EventType.UPDATE
            assert [(n.id, n.metadata) for n in updated.service.nodes] == [("a", {"zone": "us"})]

            await registry.deregister(self.service(name, "a"))
            deleted = await self.next_event(watcher, name)
            assert deleted.type is EventType.DELETE
            assert node_ids([deleted.service]) == {"a"}
            assert not deleted.expired, "a deregistered node did not expire"
        finally:
            await watcher.close()

    async def test_watch_sees_a_lapsed_ttl_as_an_expired_delete(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        watcher = peer.watch()
        try:
            registered = time.monotonic()
            await registry.register(self.service(name, "a"), ttl=self.short_ttl)
            assert (await self.next_event(watcher, name)).type is EventType.CREATE
            lapsed = registered + self.short_ttl
            deleted = await self.next_event(watcher, name, lapsed + self.expiry_allowance - time.monotonic())
            assert time.monotonic() >= lapsed, "reported before its TTL ran out"
            assert (deleted.type, node_ids([deleted.service])) == (EventType.DELETE, {"a"})
            assert deleted.expired, "not renewed, not deregistered: expired"
        finally:
            await watcher.close()

    async def test_watch_of_one_service_skips_the_others(
        self, registry: Registry, peer: Registry, name: str
    ) -> None:
        watcher = peer.watch(name)
        try:
            await registry.register(self.service(name + "-other", "x"))
            await registry.register(self.service(name, "a"))
            async with asyncio.timeout(self.patience):
                event = await anext(watcher)
            assert (event.service.name, event.type) == (name, EventType.CREATE)
        finally:
            await watcher.close()

    async def test_closed_watch_ends_iteration(self, peer: Registry) -> None:
        watcher = peer.watch()
        await watcher.close()
        async with asyncio.timeout(self.patience):
            assert [event async for event in watcher] == []
