"""The open watchers of one registry instance, shared by drivers that find changes by looking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from micro_core.registry.base import Event, QueueWatcher, Watcher

log = logging.getLogger(__name__)


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
