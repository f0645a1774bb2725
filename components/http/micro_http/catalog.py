"""The registry mirrored in memory, kept current by one watch: no registry round trip per request.

The API gateway's routes and the web dashboard's service list both read the whole
registry on every request; asking the registry each time would make them as slow as
it is. :class:`RegistryMirror` opens a watch first (so nothing after the listing is
missed), lists the registry once, then applies each event to the entry of each node it
names. When the watch fails it lists again after a pause (doubling up to 5 s);
``ready`` is false until that succeeds. Its owner hears of changes through two
callbacks and derives what it shows from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import msgspec

from micro_core import Registry
from micro_core.registry import Event, EventType, ServiceNotFound, Watcher, merge_services
from micro_core.registry import Service as Entry

log = logging.getLogger("micro.http.catalog")

_FIRST_RETRY = 0.1
_LAST_RETRY = 5.0
#: Services fetched at once while listing (500 services one at a time took seconds on Consul).
_LISTING = 16

#: Told each watch event once it is applied, and whether it changed any node's entry (a
#: renewal that changes nothing: every node re-registers every few seconds).
OnEvent = Callable[[Event, bool], None]
#: Told the names of the services whose entries a listing changed (at start: every one).
OnListed = Callable[[set[str]], None]


def _ignore_event(event: Event, changed: bool) -> None:
    pass


def _ignore_listed(names: set[str]) -> None:
    pass


class RegistryMirror:
    """The registry's entries by service and node.

    :param on_event: called after each watch event is applied.
    :param on_listed: called after each listing (at start, and after the watch failed).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        on_event: OnEvent = _ignore_event,
        on_listed: OnListed = _ignore_listed,
        name: str = "registry mirror",
    ) -> None:
        self.registry = registry
        self.ready = False
        self._on_event = on_event
        self._on_listed = on_listed
        self._name = name
        self._nodes: dict[str, dict[str, Entry]] = {}  # service -> node id -> that node's entry
        self._task: asyncio.Task[None] | None = None

    # --- reading -------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """One entry per node of every service."""
        return [entry for nodes in self._nodes.values() for entry in nodes.values()]

    def service(self, name: str) -> list[Entry]:
        """``name``'s entries as the registry gives them: one per version, with its nodes
        (empty when it is not registered)."""
        return merge_services(list(self._nodes.get(name, {}).values()))

    # --- keeping current -----------------------------------------------------------------

    async def start(self) -> None:
        """Watch, then list; returns once the first listing is in (or failed: see ``ready``)."""
        watcher = self._open_watch()
        try:
            await self._list()
        except Exception as exc:
            log.warning("registry not reachable at start (%s); retrying", exc)
        self._task = asyncio.create_task(self._follow(watcher), name=self._name)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def apply(self, type: EventType, entry: Entry) -> bool:
        """One registry event: the nodes it names join (create, update) or leave (delete).
        Whether any node's entry changed."""
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
        return changed

    def _open_watch(self) -> Watcher | Exception:
        try:
            return self.registry.watch()
        except Exception as exc:
            return exc

    async def _list(self) -> None:
        listed = {service.name for service in await self.registry.list_services()}
        limit = asyncio.Semaphore(_LISTING)

        async def nodes_of(name: str) -> dict[str, Entry]:
            async with limit:
                try:
                    found = await self.registry.get_service(name)
                except ServiceNotFound:
                    return {}  # gone between the two questions
            return {
                node.id: msgspec.structs.replace(entry, nodes=[node])
                for entry in found
                for node in entry.nodes
            }

        names = sorted(listed)
        found = await asyncio.gather(*(nodes_of(name) for name in names))
        fresh = {name: nodes for name, nodes in zip(names, found, strict=True) if nodes}
        changed = {
            name for name in fresh.keys() | self._nodes.keys() if fresh.get(name) != self._nodes.get(name)
        }
        self._nodes = fresh
        self.ready = True
        self._on_listed(changed)

    async def _follow(self, watcher: Watcher | Exception) -> None:
        pause = _FIRST_RETRY
        while True:
            try:
                if isinstance(watcher, Exception):
                    raise watcher
                if not self.ready:
                    await self._list()
                async for event in watcher:
                    self._on_event(event, self.apply(event.type, event.service))
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


__all__ = ["OnEvent", "OnListed", "RegistryMirror"]
