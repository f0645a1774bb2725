"""What the dashboard knows of the registry: every service's summary row, and a log.

The services come from :class:`micro_http.catalog.RegistryMirror` (listed once, then kept
by one watch): a page asks for the list without a registry round trip, so the list and
its JSON stay fast with hundreds of services. Each change is pushed to the open pages
(server-sent events) and kept in a bounded event log.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from micro_core import Registry
from micro_core.registry import Event, EventType, Service
from micro_http.catalog import RegistryMirror
from micro_web.webservice import WEB_METADATA

#: How the log names what happened; a delete whose TTL ran out unrenewed is "expired".
_WHAT = {EventType.CREATE: "registered", EventType.UPDATE: "updated", EventType.DELETE: "deregistered"}


class Catalog:
    """Every registered service, their summary rows, and listeners for changes."""

    def __init__(self, registry: Registry, namespace: str, log_size: int = 500) -> None:
        self.prefix = f"{namespace}." if namespace else ""
        self._mirror = RegistryMirror(
            registry, on_event=self._on_event, on_listed=self._on_listed, name="micro web catalog"
        )
        self._rows: dict[str, dict[str, Any]] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=log_size)
        self._listeners: set[asyncio.Queue[tuple[str, Any]]] = set()

    # --- reading -------------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """One summary per service, sorted by name."""
        return [self._rows[name] for name in sorted(self._rows)]

    def entries(self, name: str) -> list[Service] | None:
        """``name``'s registry entries (one per version), or None when it is not registered."""
        return self._mirror.service(name) or None

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
        await self._mirror.start()

    async def close(self) -> None:
        await self._mirror.close()

    def _update(self, name: str) -> None:
        """Make ``name``'s row again from the mirror and tell the pages."""
        entries = self._mirror.service(name)
        if entries:
            self._rows[name] = row = self._row(name, entries)
        else:
            self._rows.pop(name, None)
            row = {"name": name, "gone": True}
        self._tell("service", row)

    def _on_event(self, event: Event, changed: bool) -> None:
        service = event.service
        for node in service.nodes:
            entry = {
                "time": time.time(),
                "what": "expired" if event.expired else _WHAT[event.type],
                "service": service.name,
                "version": service.version,
                "node": node.id,
                "address": node.address,
            }
            self.log.append(entry)
            self._tell("log", entry)
        if changed:  # a renewal leaves the row as it was: the pages need not hear of it again
            self._update(service.name)

    def _on_listed(self, names: set[str]) -> None:
        for name in sorted(names):
            self._update(name)


__all__ = ["Catalog"]
