"""The registry as the gateway sees it: the route table and the documents derived from it.

The entries come from :class:`micro_http.catalog.RegistryMirror` (one watch, no
registry round trip per request; listed again after a failed watch, ``ready`` false
until then). The route table and the OpenAPI document are rebuilt from them only when
something changed, and only when next asked for, so a burst of registrations costs one
rebuild, and a renewal that changes nothing (every node re-registers every few seconds:
with 500 services, dozens a second) none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from micro_api.routes import Table
from micro_core import Registry
from micro_core.registry import Event, EventType
from micro_core.registry import Service as Entry
from micro_http.catalog import RegistryMirror

log = logging.getLogger("micro.api")


class Catalogue:
    """The registry's entries, the table built from them, and derived documents.

    :param build: makes a :class:`Table` from the current entries.
    """

    def __init__(self, registry: Registry, build: Callable[[list[Entry]], Table]) -> None:
        self._build = build
        self._mirror = RegistryMirror(
            registry, on_event=self._on_event, on_listed=self._on_listed, name="micro api registry watch"
        )
        self._table: Table | None = None
        self._derived: dict[str, Any] = {}

    # --- reading -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """The registry answered its last listing and the watch is on."""
        return self._mirror.ready

    @property
    def table(self) -> Table:
        """The current table, rebuilt here if the registry changed since it was last built."""
        if self._table is None:
            self._table = self._build(self._mirror.entries())
            for problem in self._table.problems:
                log.warning("ignoring a route: %s", problem)
        return self._table

    def derived(self, key: str, make: Callable[[Table], Any]) -> Any:
        """``make(table)``, kept until the next change (the OpenAPI document, the listing)."""
        if key not in self._derived:
            self._derived[key] = make(self.table)
        return self._derived[key]

    # --- keeping current -------------------------------------------------------------------

    async def start(self) -> None:
        """Watch, then list; returns once the first listing is in (or failed: see ``ready``)."""
        await self._mirror.start()

    async def close(self) -> None:
        await self._mirror.close()

    def apply(self, type: EventType, entry: Entry) -> None:
        """One registry event, as the watch delivers it."""
        if self._mirror.apply(type, entry):
            self._invalidate()

    def _on_event(self, event: Event, changed: bool) -> None:
        if changed:
            self._invalidate()

    def _on_listed(self, names: set[str]) -> None:
        if names:
            self._invalidate()

    def _invalidate(self) -> None:
        self._table = None
        self._derived = {}


__all__ = ["Catalogue"]
