"""Selectors that answer from a cache the registry's watch keeps fresh.

The first call to a service asks the registry; after that a call costs a dict lookup
and a pick from a node list computed when the cache last changed. One watch (for all
services) applies every change as it happens; a TTL on each entry is the backstop for
a change the watch missed, and a watch that fails drops the cache and starts again.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import msgspec

from micro_core import errors
from micro_core.registry.base import Event, EventType, Registry, Watcher
from micro_core.registry.model import Node, Service
from micro_core.selector.base import Filter, Selector, Unreachable
from micro_core.selector.readiness import ready_only

log = logging.getLogger(__name__)

#: Seconds a cached service is trusted without a watch event (Go Micro's cache uses a minute too).
DEFAULT_CACHE_TTL = 60.0
#: Seconds a node that failed to answer is passed over.
DEFAULT_COOLDOWN = 5.0
_FIRST_RETRY = 0.1
_LAST_RETRY = 5.0
#: Seconds between probes of an unreachable node: from the first to the longest pause.
_FIRST_PROBE = 0.25
_LAST_PROBE = 2.0


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the registry said about one service, with its nodes flattened once for picking."""

    services: list[Service]
    nodes: list[Node]
    expires: float


def _entry(services: list[Service], ttl: float) -> _Entry:
    services = ready_only(services)
    return _Entry(services, [node for service in services for node in service.nodes], time.monotonic() + ttl)


def _apply(services: list[Service], event: Event) -> list[Service]:
    """``services`` after ``event``: its nodes leave every version, then join theirs unless deleted."""
    changed = event.service
    gone = {node.id for node in changed.nodes}
    joined = event.type is EventType.DELETE  # a deleted node joins nothing
    result: list[Service] = []
    for service in services:
        nodes = [node for node in service.nodes if node.id not in gone]
        if not joined and service.version == changed.version:
            service, nodes, joined = changed, nodes + changed.nodes, True
        if nodes:
            result.append(msgspec.structs.replace(service, nodes=nodes))
    if not joined:
        result.append(changed)
    return result


class CacheSelector(Selector):
    """The cache, the watch and the failure marks; subclasses say only how to pick a node."""

    def __init__(
        self, registry: Registry, *, ttl: float = DEFAULT_CACHE_TTL, cooldown: float = DEFAULT_COOLDOWN
    ) -> None:
        super().__init__(registry)
        self.ttl = ttl
        self.cooldown = cooldown
        self._cache: dict[str, _Entry] = {}
        self._loading: dict[str, asyncio.Future[_Entry]] = {}
        self._marks: dict[str, dict[str, float]] = {}  # service → node id → monotonic end of cooldown
        #: Unreachable nodes, kept out until they are known to be back: service → node id → its probe.
        self._out: dict[str, dict[str, asyncio.Task[None]]] = {}
        self._watching: asyncio.Task[None] | None = None

    # --- picking -------------------------------------------------------------------------

    async def select(
        self, service: str, *, filters: Sequence[Filter] = (), exclude: Collection[str] = ()
    ) -> Node:
        entry = self._cache.get(service)
        if entry is None or entry.expires < time.monotonic():
            entry = await self._load(service)
        nodes = entry.nodes
        if filters:
            services = entry.services
            for keep in filters:
                services = keep(services)
            nodes = [node for s in services for node in s.nodes]
        if exclude:
            nodes = [node for node in nodes if node.id not in exclude]
        out = self._out.get(service)
        if out:
            nodes = [node for node in nodes if node.id not in out]
        marks = self._marks.get(service)
        if marks:
            nodes = self._healthy(service, marks, nodes)
        if not nodes:
            raise errors.ServiceUnavailable(
                f"no node of {service!r} is left to try: {len(entry.nodes)} registered, "
                f"{len(exclude)} excluded, {len(out or ())} unreachable, {len(filters)} filters applied",
                id="micro.selector",
            )
        return self._pick(service, nodes)

    def _healthy(self, service: str, marks: dict[str, float], nodes: list[Node]) -> list[Node]:
        """``nodes`` without those cooling down, unless that leaves none; forgets ended cooldowns."""
        now = time.monotonic()
        for node_id in [node_id for node_id, until in marks.items() if until <= now]:
            del marks[node_id]
        if not marks:
            del self._marks[service]
            return nodes
        healthy = [node for node in nodes if node.id not in marks]
        return healthy or nodes

    @abc.abstractmethod
    def _pick(self, service: str, nodes: list[Node]) -> Node:
        """One of ``nodes`` (never empty) for the next call to ``service``."""

    def mark(self, service: str, node: Node, error: BaseException | None) -> None:
        if error is None:
            marks = self._marks.get(service)
            if marks and marks.pop(node.id, None) is not None and not marks:
                del self._marks[service]
        elif isinstance(error, Unreachable):
            out = self._out.setdefault(service, {})
            if node.id not in out:
                probing = asyncio.get_running_loop().create_task(self._probe_until_back(service, node))
                out[node.id] = probing
        elif errors.is_retriable(error):
            self._marks.setdefault(service, {})[node.id] = time.monotonic() + self.cooldown

    async def _probe_until_back(self, service: str, node: Node) -> None:
        """Probe an unreachable node, pausing longer each time, until it answers; then let it in.

        Without a probe only the registry lets it back (see :meth:`_update`); a node that
        is gone for good leaves with its registration.
        """
        pause = _FIRST_PROBE
        while self.probe is not None:
            await asyncio.sleep(pause)
            try:
                if await self.probe(node):
                    log.info("node %s of %s answers again", node.id, service)
                    self._let_in(service, node.id)
                    return
            except Exception:
                log.debug("probing %s failed", node.address, exc_info=True)
            pause = min(pause * 2, _LAST_PROBE)

    def _let_in(self, service: str, node_id: str) -> None:
        out = self._out.get(service)
        probing = out.pop(node_id, None) if out else None
        if probing is not None and probing is not asyncio.current_task():
            probing.cancel()
        if out is not None and not out:
            del self._out[service]

    # --- the cache -----------------------------------------------------------------------

    async def _load(self, service: str) -> _Entry:
        """Fetch ``service`` from the registry; concurrent first calls share one fetch."""
        self._watch()
        loading = self._loading.get(service)
        if loading is None:
            loading = asyncio.ensure_future(self._fetch(service))
            self._loading[service] = loading
            loading.add_done_callback(lambda _: self._loading.pop(service, None))
        return await asyncio.shield(loading)

    async def _fetch(self, service: str) -> _Entry:
        entry = _entry(await self.registry.get_service(service), self.ttl)
        self._cache[service] = entry
        return entry

    def _update(self, event: Event) -> None:
        name = event.service.name
        if name in self._out:  # registered again, or gone: either way it needs no keeping out
            for node in event.service.nodes:
                self._let_in(name, node.id)
        entry = self._cache.get(name)
        if entry is None:
            return  # nobody asked for this service yet: nothing to keep fresh
        services = _apply(entry.services, event)
        if services:
            self._cache[name] = _entry(services, self.ttl)
        else:
            del self._cache[name]  # the next select asks the registry, which says "not found"

    def _watch(self) -> None:
        if self._watching is None or self._watching.done():
            watcher = self._open_watch()  # opened now, so no change after the first fetch is missed
            self._watching = asyncio.get_running_loop().create_task(self._follow(watcher))

    def _open_watch(self) -> Watcher:
        try:
            return self.registry.watch()
        except Exception as exc:
            return _Failed(exc)

    async def _follow(self, watcher: Watcher) -> None:
        """Apply every event; when the watch fails, drop the cache and watch again after a pause."""
        pause = _FIRST_RETRY
        while True:
            try:
                async for event in watcher:
                    self._update(event)
                    pause = _FIRST_RETRY
                log.warning("registry watch ended; watching again in %.1fs", pause)
            except Exception as exc:
                log.warning("registry watch failed (%s); watching again in %.1fs", exc, pause)
            finally:
                with contextlib.suppress(Exception):
                    await watcher.close()
            self._cache.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_RETRY)
            watcher = self._open_watch()

    async def close(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            await asyncio.gather(self._watching, return_exceptions=True)
            self._watching = None
        self._cache.clear()
        probes = [probe for out in self._out.values() for probe in out.values()]
        self._out.clear()
        for probe in probes:
            probe.cancel()
        await asyncio.gather(*probes, return_exceptions=True)


class _Failed(Watcher):
    """A watch that could not start: fails at once, so the retry loop has one shape."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def __anext__(self) -> Event:
        raise self.error

    async def close(self) -> None:
        pass


class RandomSelector(CacheSelector):
    """Picks a node at random: no shared state, spreads load well over many clients."""

    name = "random"

    def _pick(self, service: str, nodes: list[Node]) -> Node:
        return nodes[int(random.random() * len(nodes))]  # random.choice, at a third of the cost


class RoundRobinSelector(CacheSelector):
    """Cycles through the nodes of each service in turn: even spread from a single client."""

    name = "roundrobin"

    def __init__(
        self, registry: Registry, *, ttl: float = DEFAULT_CACHE_TTL, cooldown: float = DEFAULT_COOLDOWN
    ) -> None:
        super().__init__(registry, ttl=ttl, cooldown=cooldown)
        self._turns: dict[str, int] = {}

    def _pick(self, service: str, nodes: list[Node]) -> Node:
        turn = self._turns.get(service, 0)
        self._turns[service] = turn + 1
        return nodes[turn % len(nodes)]
