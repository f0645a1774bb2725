"""Filters that narrow the services a selector picks from: by version, node metadata or endpoint.

Pass them per call, e.g. ``client.call("greeter", "Greeter.Hello", req, filters=[by_version("2")])``
for a canary, or ``by_metadata(zone="eu")`` to stay in one zone.
"""

from __future__ import annotations

import msgspec

from micro_core.registry.model import Service
from micro_core.selector.base import Filter


def by_version(*versions: str) -> Filter:
    """Keep the services whose version is one of ``versions``."""
    wanted = frozenset(versions)

    def keep(services: list[Service]) -> list[Service]:
        return [service for service in services if service.version in wanted]

    return keep


def by_metadata(**pairs: str) -> Filter:
    """Keep the nodes whose metadata holds every ``key=value`` of ``pairs``."""
    wanted = pairs.items()

    def keep(services: list[Service]) -> list[Service]:
        kept = [
            msgspec.structs.replace(
                service, nodes=[node for node in service.nodes if wanted <= node.metadata.items()]
            )
            for service in services
        ]
        return [service for service in kept if service.nodes]

    return keep


def by_endpoint(name: str) -> Filter:
    """Keep the services that declare the endpoint ``name`` (``"Greeter.Hello"``)."""

    def keep(services: list[Service]) -> list[Service]:
        return [service for service in services if any(e.name == name for e in service.endpoints)]

    return keep
