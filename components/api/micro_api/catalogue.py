"""The registry as the gateway sees it, kept current by one watch: no registry round trip per request.

At start the gateway opens a watch for every service, then lists the registry once;
each event then updates the entry of one node. The route table and the OpenAPI
document are rebuilt from the entries only when something changed, and only when
next asked for, so a burst of registrations costs one rebuild. When the watch fails
the catalogue lists the registry again after a pause (doubling up to 5 s), and
``ready`` is false until that succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from micro_api.routes import Table
from micro_core import Registry
from micro_core.registry import EventType, ServiceNotFound, Watcher
from micro_core.registry import Service as Entry

log = logging.getLogger("micro.api")

_FIRST_RETRY = 0.1
_LAST_RETRY = 5.0


class Catalogue:
    """The registry's entries by service and node, the table built from them, and derived documents.

    :param build: makes a :class:`Table` from the current entries.
    """

    def __init__(self, registry: Registry, build: Callable[[list[Entry]], Table]) -> None:
        self.registry = registry
        self._build = build
        self._nodes: dict[str, dict[str, Entry]] = {}  # service -> node id -> that node's entry
        self._table: Table | None = None
        self._derived: dict[str, Any] = {}
        self.ready = False
        self._task: asyncio.Task[None] | None = None

    # --- reading -------------------------------------------------------------------------

    @property
    def table(self) -> Table:
        """The current table, rebuilt here if the registry changed since it was last built."""
        if self._table is None:
            self._table = self._build(self.entries())
            for problem in self._table.problems:
                log.warning("ignoring a route: %s", problem)
        return self._table

    def derived(self, key: str, make: Callable[[Table], Any]) -> Any:
        """``make(table)``, kept until the next change (the OpenAPI document, the listing)."""
        if key not in self._derived:
            self._derived[key] = make(self.table)
        return self._derived[key]

    def entries(self) -> list[Entry]:
        return [entry for nodes in self._nodes.values() for entry in nodes.values()]

    # --- keeping current -------------------------------------------------------------------

    async def start(self) -> None:
        """Watch, then list; returns once the first listing is in (or failed: see ``ready``)."""
        watcher = self._open_watch()
        try:
            await self._list()
        except Exception as exc:
            log.warning("registry not reachable at start (%s); retrying", exc)
        self._task = asyncio.create_task(self._follow(watcher), name="micro api registry watch")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _open_watch(self) -> Watcher | Exception:
        try:
            return self.registry.watch()
        except Exception as exc:
            return exc

    async def _list(self) -> None:
        nodes: dict[str, dict[str, Entry]] = {}
        for listed in await self.registry.list_services():
            if listed.name in nodes:
                continue
            try:
                found = await self.registry.get_service(listed.name)
            except ServiceNotFound:
                continue  # gone between the two questions
            nodes[listed.name] = {
                node.id: msgspec.structs.replace(entry, nodes=[node])
                for entry in found
                for node in entry.nodes
            }
        self._nodes = {name: found for name, found in nodes.items() if found}
        self.ready = True
        self._invalidate()

    def _invalidate(self) -> None:
        self._table = None
        self._derived = {}

    def apply(self, type: EventType, entry: Entry) -> None:
        """One registry event: the nodes it names join (create, update) or leave (delete).

        A renewal that changes nothing (every node re-registers every few seconds: with
        500 services, dozens a second) leaves the table and the document as they are.
        """
        nodes = self._nodes.setdefault(entry.name, {})
        changed = False
        for node in entry.nodes:
            if type is EventType.DELETE:
                changed |= nodes.pop(node.id, None) is not None
            else:
                new = msgspec.structs.replace(entry, nodes=[node])
                changed |= nodes.get(node.id) != new
                nodes[node.id] = new
        if not nodes:
            del self._nodes[entry.name]
        if changed:
            self._invalidate()

    async def _follow(self, watcher: Watcher | Exception) -> None:
        pause = _FIRST_RETRY
        while True:
            try:
                if isinstance(watcher, Exception):
                    raise watcher
                if not self.ready:
                    await self._list()
                async for event in watcher:
                    self.apply(event.type, event.service)
                    pause = _FIRST_RETRY
                log.warning("registry watch ended; watching again in %.1fs", pause)
            except Exception as exc:
                log.warning("registry watch failed (%s); watching again in %.1fs", exc, pause)
            finally:
                if not isinstance(watcher, Exception):
                    with contextlib.suppress(Exception):
                        await watcher.close()
            self.ready = False
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_RETRY)
            watcher = self._open_watch()


__all__ = ["Catalogue"]
