"""The in-process registry: services and clients of one process find each other with no I/O.

Registries built with the same address share one store, so a test (or a process that
hosts several services) can give each component its own instance and still see one
world; a distinct address is a distinct world.
"""

from __future__ import annotations

import logging
import time
import weakref

from micro_core.registry.base import (
    DEFAULT_TTL,
    Event,
    EventType,
    Registry,
    ServiceNotFound,
    Watcher,
)
from micro_core.registry.model import (
    Service,
    decode_service,
    encode_service,
    list_versions,
    merge_services,
    split_nodes,
)
from micro_core.registry.watchers import Watchers

log = logging.getLogger(__name__)


class _Store:
    """The registrations of one address: service name → node id → (entry, monotonic expiry)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, tuple[Service, float]]] = {}
        self.feeds: weakref.WeakSet[Watchers] = weakref.WeakSet()

    def emit(self, type_: EventType, service: Service, *, expired: bool = False) -> None:
        event = Event(type_, service, expired)
        for feed in list(self.feeds):
            feed.emit(event)

    def put(self, entry: Service, ttl: float) -> None:
        nodes = self.entries.setdefault(entry.name, {})
        node_id = entry.nodes[0].id
        previous = nodes.get(node_id)
        nodes[node_id] = (entry, time.monotonic() + ttl)
        if previous is None:
            self.emit(EventType.CREATE, entry)
        elif previous[0] != entry:
            self.emit(EventType.UPDATE, entry)

    def remove(self, name: str, node_id: str, *, expired: bool = False) -> None:
        nodes = self.entries.get(name, {})
        removed = nodes.pop(node_id, None)
        if not nodes:
            self.entries.pop(name, None)
        if removed is not None:
            self.emit(EventType.DELETE, removed[0], expired=expired)

    def expire(self) -> None:
        now = time.monotonic()
        gone = [
            (name, node_id)
            for name, nodes in self.entries.items()
            for node_id, (_, expires) in nodes.items()
            if expires <= now
        ]
        for name, node_id in gone:
            self.remove(name, node_id, expired=True)

    def live(self, name: str | None = None) -> list[Service]:
        self.expire()
        names = list(self.entries) if name is None else [name]
        return [entry for n in names for entry, _ in self.entries.get(n, {}).values()]


#: The stores of this process by address; what makes same-address instances one registry.
_STORES: dict[str, _Store] = {}


class MemoryRegistry(Registry):
    """A registry held in this process's memory, shared by every instance with the same address."""

    name = "memory"

    def __init__(self, address: str = "", *, expiry_interval: float = 0.2) -> None:
        super().__init__(address)
        self._store = _STORES.setdefault(address, _Store())
        self._watchers = Watchers(self._store.expire, expiry_interval)
        self._store.feeds.add(self._watchers)

    async def close(self) -> None:
        await self._watchers.close()

    async def register(self, service: Service, ttl: float = DEFAULT_TTL) -> None:
        for entry in split_nodes(service, ttl):
            self._store.put(entry, ttl)

    async def deregister(self, service: Service) -> None:
        for node in service.nodes:
            self._store.remove(service.name, node.id)

    async def get_service(self, name: str) -> list[Service]:
        entries = self._store.live(name)
        if not entries:
            raise ServiceNotFound(f"service {name!r} is not registered", id="micro.registry")
        return [decode_service(encode_service(s)) for s in merge_services(entries)]

    async def list_services(self) -> list[Service]:
        return list_versions(self._store.live())

    def watch(self, service: str | None = None) -> Watcher:
        return self._watchers.open(service)
