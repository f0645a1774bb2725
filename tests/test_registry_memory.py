"""The memory registry: the conformance suite, and one store per address within a process."""

from __future__ import annotations

import uuid

import pytest

from micro_core.registry import Node, Registry, Service, ServiceNotFound
from micro_core.registry.memory import MemoryRegistry
from micro_core.testing.conformance.registry import RegistryConformance, RegistryFactory


@pytest.fixture
def address() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


class TestMemoryRegistry(RegistryConformance):
    @pytest.fixture
    def registry_factory(self, address: str) -> RegistryFactory:
        async def new() -> Registry:
            registry = MemoryRegistry(address, expiry_interval=0.05)
            await registry.connect()
            return registry

        return new


async def test_same_address_shares_one_store_and_another_address_does_not(address: str) -> None:
    greeter = Service("greeter", nodes=[Node("g-1", "127.0.0.1:9001")])
    await MemoryRegistry(address).register(greeter)

    assert await MemoryRegistry(address).get_service("greeter") == [greeter]
    with pytest.raises(ServiceNotFound):
        await MemoryRegistry(address + "-elsewhere").get_service("greeter")


async def test_changing_a_registered_service_afterwards_changes_nothing_stored(address: str) -> None:
    registry = MemoryRegistry(address)
    greeter = Service("greeter", nodes=[Node("g-1", "127.0.0.1:9001")])
    await registry.register(greeter)
    greeter.nodes[0].address = "elsewhere:1"
    (found,) = await registry.get_service("greeter")
    found.version = "mutated"

    assert await registry.get_service("greeter") == [
        Service("greeter", nodes=[Node("g-1", "127.0.0.1:9001")])
    ]


@pytest.mark.parametrize(
    ("service", "ttl", "problem"),
    [
        (Service("", nodes=[Node("n", "127.0.0.1:1")]), 30, "without a name"),
        (Service("greeter", nodes=[Node("", "127.0.0.1:1")]), 30, "has no id"),
        (Service("greeter", nodes=[Node("n", "127.0.0.1:1")]), 0, "ttl must be positive"),
    ],
)
async def test_bad_registrations_are_clear_errors_and_store_nothing(
    address: str, service: Service, ttl: float, problem: str
) -> None:
    registry = MemoryRegistry(address)
    with pytest.raises(ValueError, match=problem):
        await registry.register(service, ttl)
    assert await registry.list_services() == []
