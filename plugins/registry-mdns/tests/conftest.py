"""Fixtures: mDNS registries confined to this host.

Every registry a host-side test opens uses 127.0.0.1 only, so nothing is multicast off
the machine; the namespace test is the one place "all interfaces" is used, inside
network namespaces that have no way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from micro_registry_mdns import MDNSRegistry

LOOPBACK = ["127.0.0.1"]

RegistryFactory = Callable[[], Awaitable[MDNSRegistry]]


@pytest.fixture
async def open_mdns() -> AsyncIterator[RegistryFactory]:
    """Opens connected loopback-only registries and closes them after the test."""
    opened: list[MDNSRegistry] = []

    async def open_() -> MDNSRegistry:
        registry = MDNSRegistry(interfaces=LOOPBACK)
        await registry.connect()
        opened.append(registry)
        return registry

    yield open_
    for registry in reversed(opened):
        await registry.close()
