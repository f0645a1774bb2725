"""Readiness: a node whose health checks fail says ``ready=false`` and is passed over.

Applied once when the selector's cache changes, never per call. A node without the
key (no checks, or a Go Micro node) is ready.
"""

from __future__ import annotations

import msgspec

from micro_core.health import READY
from micro_core.registry.model import Service


def ready_only(services: list[Service]) -> list[Service]:
    """``services`` without their not-ready nodes (a service left with none is dropped)."""
    if all(node.metadata.get(READY) != "false" for service in services for node in service.nodes):
        return services  # the usual case: nothing copied
    kept = [
        msgspec.structs.replace(
            service, nodes=[node for node in service.nodes if node.metadata.get(READY) != "false"]
        )
        for service in services
    ]
    return [service for service in kept if service.nodes]


__all__ = ["ready_only"]
