"""Deadlines of requests in flight, all kept by one sweeping task instead of a timer each.

``asyncio.timeout`` arms and cancels a timer on the loop for every request: about 3 us,
3% of the gateway's or the proxy's CPU per request under load. A deadline put in a
dict costs a tenth of that; one task looks at them every ``tick`` seconds, only while
any is pending, and cancels the tasks that are late. A deadline so fires up to
``tick`` seconds late, which is why ``tick`` is a small part of the shortest timeout.

The task that waited finds out why it was cancelled with :meth:`Deadlines.expired`,
and must tell its own cancellation from anyone else's the way ``asyncio.timeout``
does (see :meth:`Deadlines.timed_out`).
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["TICK", "Deadlines"]

#: Seconds between two looks at the deadlines, at most.
TICK = 0.1


class Deadlines:
    """Cancels the tasks whose deadline passed; ``tick`` is how late a deadline may fire."""

    def __init__(self, tick: float = TICK) -> None:
        self.tick = tick
        self._due: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def arm(self, task: asyncio.Task[object], seconds: float | None) -> None:
        """``task`` is cancelled once ``seconds`` from now have passed (None: never, any more)."""
        if seconds is None:
            self._due.pop(task, None)
            return
        loop = asyncio.get_running_loop()
        self._due[task] = loop.time() + seconds
        if self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep())

    def disarm(self, task: asyncio.Task[object]) -> None:
        """Forget ``task`` (it is done waiting), whether its deadline passed or not."""
        self._due.pop(task, None)
        self._expired.discard(task)

    def expired(self, task: asyncio.Task[object]) -> bool:
        """Whether ``task``'s deadline passed (and the task was cancelled for it)."""
        return task in self._expired

    def timed_out(self, task: asyncio.Task[object], cancelling: int) -> bool:
        """After ``task`` caught its cancellation: True if the deadline alone cancelled it
        (that cancellation is then taken back), False if someone else did too or instead.

        :param cancelling: ``task.cancelling()`` when the deadline was armed.
        """
        return task in self._expired and task.uncancel() <= cancelling

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._due:
                await asyncio.sleep(self.tick)
                now = loop.time()
                for task, due in self._due.items():
                    if due <= now and task not in self._expired:
                        self._expired.add(task)
                        task.cancel()
        finally:
            self._sweeper = None

    async def close(self) -> None:
        """Stop the sweeper (a stopping server: its requests are done or abandoned)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
