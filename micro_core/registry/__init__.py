"""Service discovery: the data model, the driver interface and the built-in drivers."""

from micro_core.registry.base import (
    DEFAULT_TTL,
    Event,
    EventType,
    QueueWatcher,
    Registry,
    RegistryUnavailable,
    ServiceNotFound,
    Watcher,
)
from micro_core.registry.model import (
    Endpoint,
    Node,
    Service,
    Value,
    decode_service,
    encode_service,
    merge_services,
)

__all__ = [
    "DEFAULT_TTL",
    "Endpoint",
    "Event",
    "EventType",
    "Node",
    "QueueWatcher",
    "Registry",
    "RegistryUnavailable",
    "Service",
    "ServiceNotFound",
    "Value",
    "Watcher",
    "decode_service",
    "encode_service",
    "merge_services",
]
