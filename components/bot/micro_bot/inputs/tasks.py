"""Messages handled as tasks of their own, so a slow command never holds up the next message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class Handling:
    """The messages being handled by one input, kept until done and cancelled when it stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[None]] = set()

    def start(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()


__all__ = ["Handling"]
