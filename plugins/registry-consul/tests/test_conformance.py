"""The registry conformance suite, run against a real Consul agent."""

from __future__ import annotations

import pytest

from micro_core.testing.conformance.registry import RegistryConformance, RegistryFactory

from .conftest import NewRegistry


class TestConsulRegistry(RegistryConformance):
    @pytest.fixture
    def registry_factory(self, new_registry: NewRegistry) -> RegistryFactory:
        return new_registry
