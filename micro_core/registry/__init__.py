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
    list_versions,
    merge_services,
    split_nodes,
)
from micro_core.registry.watchers import Watchers

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
    "Watchers",
    "decode_service",
    "encode_service",
    "list_versions",
    "merge_services",
    "split_nodes",
]
