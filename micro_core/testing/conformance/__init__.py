"""Conformance suites: the same tests for every driver of a kind.

A driver's test module subclasses the suite and provides its fixture::

    class TestConsulRegistry(RegistryConformance):
        @pytest.fixture
        async def registry_factory(self, consul_agent):
            ...
"""
