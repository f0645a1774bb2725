"""Watching Consul with blocking queries: the agent answers when something changed, no polling.

A watch of one service runs one blocking query on its instances. A watch of every
service also runs one on the catalog's list of names and follows each micro service it
names, as Go Micro's watcher does. Each answer's passing instances are compared with
the last: a new node is a create, a changed one an update, a missing one a delete. The
delete is expired when the instance is still in the answer with its TTL check critical
(not renewed in time), a deregistration when it is gone from the catalog. Consul reaps
an instance critical for ``DeregisterCriticalServiceAfter``; that is no second delete,
as the watch had already dropped the node.

Events are from the watch's start on. ``watch()`` cannot wait for Consul, so the
start is the newest Consul index the registry had seen: an instance changed after it
is news, one changed before it is not. (A registry that has read nothing yet starts
at 0, and its watches report what exists as creates.)

Errors never end a watch: it logs, waits (1 s, doubling up to 10 s) and starts over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from micro_core.registry import Event, EventType, QueueWatcher, Service
from micro_registry_consul._instances import all_passing, changed_at, ttl_lapsed

if TYPE_CHECKING:
    from micro_registry_consul.registry import ConsulRegistry

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds the agent may hold one blocking query before it answers "no change".
WAIT = 30.0
_RETRY_FIRST, _RETRY_MAX = 1.0, 10.0


async def blocking(
    query: Callable[[int, float], Awaitable[tuple[int, T]]], what: str
) -> AsyncIterator[tuple[int, T]]:
    """Each new answer of ``query(index, wait)`` with its index: the first at once, the next
    when the index moves."""
    index, delay = 0, _RETRY_FIRST
    while True:
        try:
            found, answer = await query(index, WAIT)
        except Exception as exc:  # a failed query must not end the watch: retry
            log.warning("consul registry: watching %s failed (%s); retrying in %.0fs", what, exc, delay)
            await asyncio.sleep(delay)
            index, delay = 0, min(2 * delay, _RETRY_MAX)
            continue
        delay = _RETRY_FIRST
        if index and found == index:
            continue  # the wait ran out with no change
        # An index going backwards means a new cluster state (say, the agent restarted).
        index = max(found, 1) if found >= index else 0
        yield found, answer


class ConsulWatcher(QueueWatcher):
    """Events for one service (or all) from blocking queries on the registry's agents."""

    def __init__(self, registry: ConsulRegistry, service: str | None, *, since: int) -> None:
        super().__init__(service)
        self._registry = registry
        self._since = since
        #: service name -> node id -> the entry last seen passing.
        self._known: dict[str, dict[str, Service]] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._closed_callbacks: list[Callable[[ConsulWatcher], None]] = []
        work = self._follow(service) if service is not None else self._follow_catalog()
        self._task = asyncio.get_running_loop().create_task(work, name=f"consul watch {service or '*'}")

    def on_close(self, callback: Callable[[ConsulWatcher], None]) -> None:
        self._closed_callbacks.append(callback)

    async def close(self) -> None:
        tasks = [self._task, *self._followers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._followers.clear()
        for callback in self._closed_callbacks:
            callback(self)
        await super().close()

    async def _follow_catalog(self) -> None:
        async for _, names in blocking(self._registry.catalog, "the catalog"):
            for name in names:
                if name not in self._followers:
                    self._followers[name] = asyncio.get_running_loop().create_task(self._follow(name))
            for name in self._followers.keys() - set(names):
                task = self._followers.pop(name)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                for entry in self._known.pop(name, {}).values():
                    self.put(Event(EventType.DELETE, entry))

    async def _follow(self, name: str) -> None:
        known = self._known.setdefault(name, {})
        first = True

        def query(index: int, wait: float) -> Awaitable[tuple[int, list[dict[str, Any]]]]:
            return self._registry.health(name, index, wait, passing=False)

        async for index, items in blocking(query, f"service {name!r}"):
            if index < self._since:
                # The agent restarted (indexes start over): everything it holds is news.
                self._since = 0
            current: dict[str, Service] = {}
            lapsed: set[str] = set()
            for item in items:
                if not all_passing(item):
                    if ttl_lapsed(item):
                        lapsed.add(item["Service"]["ID"])
                    continue
                entry = self._registry.decode(item)
                if entry is None:
                    continue
                node_id = entry.nodes[0].id
                current[node_id] = entry
                before = known.get(node_id)
                if before is None:
                    if not (first and changed_at(item) <= self._since):
                        self.put(Event(EventType.CREATE, entry))
                elif before != entry:
                    self.put(Event(EventType.UPDATE, entry))
            for node_id in known.keys() - current.keys():
                self.put(Event(EventType.DELETE, known[node_id], expired=node_id in lapsed))
            known.clear()
            known.update(current)
            first = False
