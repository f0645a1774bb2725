"""What every registry driver does: keep the list of running services and tell watchers of changes."""

from __future__ import annotations

import abc
import asyncio
import enum
from dataclasses import dataclass
from typing import ClassVar

from micro_core.errors import NotFound
from micro_core.options import Options
from micro_core.registry.model import Service

#: Seconds a registration lives unless renewed; the server renews it every ``TTL / 3``.
DEFAULT_TTL = 30.0


class ServiceNotFound(NotFound):
    """No registered service by that name."""


class RegistryUnavailable(ConnectionError):
    """The registry backend cannot be reached; the message names the address tried."""


class EventType(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Event:
    """A change to one service entry; ``service`` carries the nodes the change is about.

    A delete says why the nodes left, for people reading a log of events: ``expired`` is
    True when their registration stopped being renewed and its TTL ran out (the process
    died, hung or lost the registry), False when they were deregistered. Every consumer
    that only needs to drop the nodes handles one ``DELETE`` and can ignore the flag.
    """

    type: EventType
    service: Service
    expired: bool = False

    def __post_init__(self) -> None:
        if self.expired and self.type is not EventType.DELETE:
            raise ValueError(f"only a delete can be expired, not a {self.type.value}")


class Watcher(abc.ABC):
    """An async iterator of registry events; ``close()`` ends it."""

    def __aiter__(self) -> Watcher:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> Event: ...

    @abc.abstractmethod
    async def close(self) -> None: ...


class QueueWatcher(Watcher):
    """A watcher fed by its driver through ``put``; most drivers need nothing more."""

    def __init__(self, service: str | None = None) -> None:
        self.service = service
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._closed = False

    def wants(self, name: str) -> bool:
        return self.service is None or self.service == name

    def put(self, event: Event) -> None:
        if not self._closed and self.wants(event.service.name):
            self._queue.put_nowait(event)

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)


class Registry(abc.ABC):
    """Service discovery: register nodes with a TTL, look them up, watch for changes."""

    #: The driver's name, as selected with ``--registry`` / ``MICRO_REGISTRY``.
    name: ClassVar[str]

    def __init__(self, address: str = "") -> None:
        self.address = address

    @classmethod
    def from_options(cls, options: Options) -> Registry:
        """Build the driver from settings; drivers with more settings override this."""
        return cls(options["registry_address"])

    async def connect(self) -> None:
        """Open connections; raise :class:`RegistryUnavailable` naming the address if it fails."""

    async def close(self) -> None:
        """Release connections and stop background work."""

    @abc.abstractmethod
    async def register(self, service: Service, ttl: float = DEFAULT_TTL) -> None:
        """Add or refresh the nodes of ``service``; they expire ``ttl`` seconds after the last call."""

    @abc.abstractmethod
    async def deregister(self, service: Service) -> None:
        """Remove the nodes of ``service`` (other nodes of the same service stay)."""

    @abc.abstractmethod
    async def get_service(self, name: str) -> list[Service]:
        """All versions of ``name`` with their live nodes; raise :class:`ServiceNotFound` if none."""

    @abc.abstractmethod
    async def list_services(self) -> list[Service]:
        """Every known service (nodes may be omitted)."""

    @abc.abstractmethod
    def watch(self, service: str | None = None) -> Watcher:
        """Events for ``service`` (or for all services when None), from now on."""
