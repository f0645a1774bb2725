"""The in-process registry: services and clients of one process find each other with no I/O.

Registries built with the same address share one store, so a test (or a process that
hosts several services) can give each component its own instance and still see one
world; a distinct address is a distinct world.

This module also holds what the built-in drivers share: :func:`split_nodes` checks a
registration and cuts it into one entry per node, and :class:`Watchers` feeds the
watchers of a registry instance and runs its periodic check while any is open.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable

import msgspec

from micro_core.registry.base import (
    DEFAULT_TTL,
    Event,
    EventType,
    QueueWatcher,
    Registry,
    ServiceNotFound,
    Watcher,
)
from micro_core.registry.model import Service, decode_service, encode_service, merge_services

log = logging.getLogger(__name__)


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


class _Watcher(QueueWatcher):
    """A queue watcher that leaves its registry's set when closed."""

    def __init__(self, service: str | None, on_close: Callable[[_Watcher], None]) -> None:
        super().__init__(service)
        self._on_close = on_close

    async def close(self) -> None:
        self._on_close(self)
        await super().close()


class Watchers:
    """The open watchers of one registry instance, and a periodic ``check`` run while any is open.

    The check finds what no call announces (an expired node, a file another process
    wrote) and emits it; no task runs while nobody watches.
    """

    def __init__(self, check: Callable[[], None], interval: float) -> None:
        self._check = check
        self.interval = interval
        self._open: set[_Watcher] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        return bool(self._open)

    def open(self, service: str | None) -> Watcher:
        watcher = _Watcher(service, self._open.discard)
        self._open.add(watcher)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        return watcher

    def emit(self, event: Event) -> None:
        for watcher in list(self._open):
            watcher.put(event)

    async def _run(self) -> None:
        while self._open:
            await asyncio.sleep(self.interval)
            try:
                self._check()
            except Exception:  # a failed check must not end every watch of the process
                log.exception("registry watch check failed; retrying in %.1fs", self.interval)

    async def close(self) -> None:
        for watcher in list(self._open):
            await watcher.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class _Store:
    """The registrations of one address: service name → node id → (entry, monotonic expiry)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, tuple[Service, float]]] = {}
        self.feeds: weakref.WeakSet[Watchers] = weakref.WeakSet()

    def emit(self, type_: EventType, service: Service) -> None:
        event = Event(type_, service)
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

    def remove(self, name: str, node_id: str) -> None:
        nodes = self.entries.get(name, {})
        removed = nodes.pop(node_id, None)
        if not nodes:
            self.entries.pop(name, None)
        if removed is not None:
            self.emit(EventType.DELETE, removed[0])

    def expire(self) -> None:
        now = time.monotonic()
        gone = [
            (name, node_id)
            for name, nodes in self.entries.items()
            for node_id, (_, expires) in nodes.items()
            if expires <= now
        ]
        for name, node_id in gone:
            self.remove(name, node_id)

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
