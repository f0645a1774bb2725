"""The mDNS registry passes the registry conformance suite: one AsyncZeroconf per registry."""

from __future__ import annotations

import pytest

from micro_core.registry import Registry
from micro_core.testing.conformance.registry import RegistryConformance, RegistryFactory
from micro_registry_mdns import MDNSRegistry

from .conftest import LOOPBACK


class TestMDNSRegistry(RegistryConformance):
    @pytest.fixture
    def registry_factory(self) -> RegistryFactory:
        async def new() -> Registry:
            registry = MDNSRegistry(interfaces=LOOPBACK)
            await registry.connect()
            return registry

        return new
