"""Results from kafka-python's I/O thread to the event loop, one wake-up per burst.

A producer acknowledges a whole batch of records at once; waking the loop once per
record (``call_soon_threadsafe`` writes to the loop's self-pipe each time) costs more
than the publish itself. Results queue here and the loop settles them in one go.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import Any


class Handoff:
    """Settles futures of ``loop`` from any thread; ``put`` never blocks on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[asyncio.Future[Any], Any]] = []

    def settler(self, future: asyncio.Future[Any]) -> Callable[[Any], None]:
        """A callback for kafka-python's future: its value (or exception) settles ``future``.

        One callable serves as both callback and errback, so a send costs one partial.
        """
        return functools.partial(self.put, future)

    def put(self, future: asyncio.Future[Any], outcome: Any) -> None:
        """Settle ``future`` on the loop: an exception fails it, anything else is its result."""
        with self._lock:
            self._pending.append((future, outcome))
            if len(self._pending) > 1:
                return  # a drain is already scheduled and will take this one too
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future, outcome in pending:
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
