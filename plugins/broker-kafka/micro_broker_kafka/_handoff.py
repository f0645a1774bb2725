"""Results from kafka-python's I/O thread to the event loop, one wake-up per burst.

A producer acknowledges a whole batch of records at once; waking the loop once per
record (``call_soon_threadsafe`` writes to the loop's self-pipe each time) costs more
than the publish itself. Results queue here and the loop settles them in one go.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

Settle = Callable[["asyncio.Future[Any]", Any], None]


def resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class Handoff:
    """Settles futures of ``loop`` from any thread; ``put`` never blocks on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[Settle, asyncio.Future[Any], Any]] = []

    def put(self, settle: Settle, future: asyncio.Future[Any], value: Any) -> None:
        with self._lock:
            self._pending.append((settle, future, value))
            if len(self._pending) > 1:
                return  # a drain is already scheduled and will take this one too
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for settle, future, value in pending:
            settle(future, value)
