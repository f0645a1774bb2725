"""The registry's data model, field for field the one Go Micro uses.

Keeping the same JSON names (``name``, ``version``, ``metadata``, ``endpoints``,
``nodes``…) lets a Go Micro service and a Python one read each other's entries.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Value(msgspec.Struct, omit_defaults=True):
    """One field of a request or response shape; ``values`` holds nested fields."""

    name: str
    type: str
    values: list[Value] = msgspec.field(default_factory=list)


class Endpoint(msgspec.Struct, omit_defaults=True):
    """A callable endpoint ``Type.Method`` with the shapes of what it takes and returns."""

    name: str
    request: Value | None = None
    response: Value | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class Node(msgspec.Struct, omit_defaults=True):
    """One running instance of a service, reachable at ``address`` ("host:port")."""

    id: str
    address: str
    metadata: dict[str, str] = msgspec.field(default_factory=dict)


class Service(msgspec.Struct, omit_defaults=True):
    """A named, versioned service with the nodes that currently run it."""

    name: str
    version: str = ""
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    endpoints: list[Endpoint] = msgspec.field(default_factory=list)
    nodes: list[Node] = msgspec.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.to_builtins(self)
        return result

    @classmethod
    def from_dict(cls, data: Any) -> Service:
        """Build a Service from decoded JSON; raises ``msgspec.ValidationError`` on bad shapes."""
        return msgspec.convert(data, cls)


def encode_service(service: Service) -> bytes:
    return msgspec.json.encode(service)


def decode_service(data: bytes | str) -> Service:
    """Decode one Service from JSON; raises ``msgspec.DecodeError`` (a ValueError) if malformed."""
    return msgspec.json.decode(data, type=Service)


def merge_services(services: list[Service]) -> list[Service]:
    """Fold entries of the same name and version into one, with all their nodes."""
    merged: dict[tuple[str, str], Service] = {}
    for service in services:
        key = (service.name, service.version)
        if key not in merged:
            merged[key] = msgspec.structs.replace(service, nodes=list(service.nodes))
            continue
        into = merged[key]
        known = {node.id for node in into.nodes}
        into.nodes.extend(node for node in service.nodes if node.id not in known)
    return list(merged.values())


def split_nodes(service: Service, ttl: float) -> list[Service]:
    """One copy of ``service`` per node, each holding only that node; ``ValueError`` on bad input.

    A registration is stored per node so that nodes of one service renew and expire
    independently; copies (not the caller's objects) go into the store, so a caller
    mutating its Service afterwards changes nothing registered.
    """
    if not service.name:
        raise ValueError("cannot register a service without a name")
    if not service.nodes:
        raise ValueError(f"cannot register service {service.name!r} without a node")
    if not ttl > 0:
        raise ValueError(f"ttl must be positive seconds, got {ttl!r}")
    for node in service.nodes:
        if not node.id:
            raise ValueError(f"node of service {service.name!r} at {node.address!r} has no id")
    copy = decode_service(encode_service(service))
    return [msgspec.structs.replace(copy, nodes=[node]) for node in copy.nodes]


def list_versions(services: list[Service]) -> list[Service]:
    """Name and version of each distinct service, sorted: what ``list_services`` answers."""
    keys = sorted({(service.name, service.version) for service in services})
    return [Service(name, version) for name, version in keys]
