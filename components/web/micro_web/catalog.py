"""What the dashboard knows of the registry: every service, kept fresh by one watch, and a log.

Loaded once at start (one ``list_services``, then each service's entries), then
changed only by watch events: a page asks for the list without a registry round
trip, so the list and its JSON stay fast with hundreds of services. Each change is
pushed to the open pages (server-sent events) and kept in a bounded event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

from micro_core import Registry
from micro_core.registry import Event, EventType, Service, ServiceNotFound, Watcher
from micro_web.webservice import WEB_METADATA

log = logging.getLogger("micro.web.catalog")

#: How the log names what happened. The registry's watch does not say why a node left:
#: a deregistration and an expired TTL are both a delete.
_WHAT = {EventType.CREATE: "registered", EventType.UPDATE: "updated", EventType.DELETE: "deregistered"}
_LOADING = 16  # services fetched at once at start
_RETRY = 1.0


class Catalog:
    """Every registered service, their summary rows, and listeners for changes."""

    def __init__(self, registry: Registry, namespace: str, log_size: int = 500) -> None:
        self.registry = registry
        self.prefix = f"{namespace}." if namespace else ""
        self._entries: dict[str, list[Service]] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._listeners: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None

    # --- reading -------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """One summary per service, sorted by name."""
        return [self._rows[name] for name in sorted(self._rows)]

    def entries(self, name: str) -> list[Service] | None:
        return self._entries.get(name)

    def web_names(self) -> list[str]:
        """The web services by the name they are proxied under (namespace left out)."""
        return sorted(row["path"].strip("/") for row in self._rows.values() if row["path"])

    def web_path(self, name: str, entries: list[Service]) -> str | None:
        if self.prefix and name.startswith(self.prefix):
            return f"/{name[len(self.prefix) :]}/"
        return None

    def _row(self, name: str, entries: list[Service]) -> dict[str, Any]:
        return {
            "name": name,
            "versions": sorted({entry.version for entry in entries}),
            "nodes": sum(len(entry.nodes) for entry in entries),
            "endpoints": len({e.name for entry in entries for e in entry.endpoints}),
            "web": any(entry.metadata.get(WEB_METADATA) == "true" for entry in entries),
            "path": self.web_path(name, entries),
        }

    # --- listening -----------------------------------------------------------------------

    def listen(self, backlog: int = 10_000) -> asyncio.Queue[tuple[str, Any]]:
        """A queue of ``("service", row or {"name", "gone": True})`` and ``("log", entry)`` (and
        ``("snapshot", …)`` when it overflowed)."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=backlog)
        self._listeners.add(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        self._listeners.discard(queue)

    def _tell(self, kind: str, data: Any) -> None:
        for queue in self._listeners:
            try:
                queue.put_nowait((kind, data))
            except asyncio.QueueFull:  # a page that fell behind gets the whole picture again instead
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(("snapshot", self.snapshot()))

    def snapshot(self) -> dict[str, Any]:
        """Every service's row and the log, as a page starts from."""
        return {"services": self.rows(), "log": list(self.log)}

    # --- keeping fresh -------------------------------------------------------------------

    async def start(self) -> None:
        """Load every service, then follow the registry's watch in the background."""
        watcher = self.registry.watch()  # opened first, so nothing after the load is missed
        names = sorted({service.name for service in await self.registry.list_services()})
        limit = asyncio.Semaphore(_LOADING)

        async def load(name: str) -> None:
            async with limit:
                await self._refresh(name, announce=False)

        await asyncio.gather(*(load(name) for name in names))
        self._task = asyncio.create_task(self._follow(watcher), name="micro web catalog")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _refresh(self, name: str, announce: bool = True) -> None:
        """Ask the registry for ``name`` again: an event carries only the nodes it is about."""
        try:
            entries = await self.registry.get_service(name)
        except ServiceNotFound:
            entries = []
        if entries:
            self._entries[name] = entries
            self._rows[name] = row = self._row(name, entries)
        else:
            self._entries.pop(name, None)
            self._rows.pop(name, None)
            row = {"name": name, "gone": True}
        if announce:
            self._tell("service", row)

    def _record(self, event: Event) -> None:
        service = event.service
        for node in service.nodes:
            entry = {
                "time": time.time(),
                "what": _WHAT[event.type],
                "service": service.name,
                "version": service.version,
                "node": node.id,
                "address": node.address,
            }
            self.log.append(entry)
            self._tell("log", entry)

    async def _follow(self, watcher: Watcher) -> None:
        while True:
            try:
                async for event in watcher:
                    self._record(event)
                    await self._refresh(event.service.name)
                log.warning("registry watch ended; watching again")
            except Exception as exc:
                log.warning("registry watch failed (%s); watching again in %.0fs", exc, _RETRY)
            finally:
                with contextlib.suppress(Exception):
                    await watcher.close()
            await asyncio.sleep(_RETRY)
            try:
                watcher = self.registry.watch()
                listed = {service.name for service in await self.registry.list_services()}
            except Exception as exc:
                log.warning("registry unavailable (%s); trying again in %.0fs", exc, _RETRY)
                watcher = _Ended()
                continue
            for name in sorted(listed | set(self._entries)):  # catch up on what the watch missed
                await self._refresh(name)


class _Ended(Watcher):
    """A watch that could not be opened: ends at once, so the loop tries again."""

    async def __anext__(self) -> Event:
        raise StopAsyncIteration

    async def close(self) -> None:
        pass


__all__ = ["Catalog"]
