"""Deadlines of tasks in flight, all kept by one sweeping task instead of a timer each.

A timer per call or request (``asyncio.timeout``) is armed and cancelled on the loop
every time: about 3 us, more than the rest of the server's work for a small call and 3%
of an HTTP gateway's CPU per request. A deadline put in a dict costs a tenth of that;
one task looks at them every ``interval`` seconds, only while any is pending, and
cancels the tasks that are late. A deadline so fires up to ``interval`` seconds late,
which only frees the work a little later (a caller's own timeout is exact).

The server bounds each handler by its caller's deadline with it, and the HTTP
components each request and each wait for an upstream node.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

__all__ = ["Deadlines"]

#: The most a deadline of :meth:`Deadlines.for_timeout` fires late, in seconds.
_MOST_LATE = 0.1


class Deadlines:
    """Cancels the tasks whose deadline (on ``time.monotonic()``'s clock) has passed.

    The task finds out why it was cancelled with :meth:`timed_out`, and tells the
    deadline's cancellation from anyone else's the way ``asyncio.timeout`` does::

        cancelling = task.cancelling()
        deadlines.track(task, time.monotonic() + 5)
        try:
            await work()
        except asyncio.CancelledError:
            if not deadlines.timed_out(task, cancelling):
                raise  # someone else cancelled the task
            raise TimeoutError from None
        finally:
            deadlines.untrack(task)
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self._until: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @classmethod
    def for_timeout(cls, timeout: float) -> Deadlines:
        """Deadlines that fire at most a twentieth of ``timeout`` late, and never over 0.1 s."""
        return cls(interval=min(timeout / 20, _MOST_LATE))

    def track(self, task: asyncio.Task[Any], until: float | None) -> None:
        """Cancel ``task`` once ``time.monotonic()`` passes ``until`` (None: no deadline any more)."""
        if until is None:
            self._until.pop(task, None)
            return
        self._until[task] = until
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="micro deadlines")

    def untrack(self, task: asyncio.Task[Any]) -> None:
        """Forget ``task`` (it is done waiting), whether its deadline passed or not."""
        self._until.pop(task, None)
        self._expired.discard(task)

    def timed_out(self, task: asyncio.Task[Any], cancelling: int) -> bool:
        """After ``task`` caught its cancellation: True if the deadline alone cancelled it
        (that cancellation is then withdrawn), False if someone else did too or instead.

        :param cancelling: ``task.cancelling()`` when the deadline was set.
        """
        return task in self._expired and task.uncancel() <= cancelling

    async def _sweep(self) -> None:
        try:
            while self._until:
                await asyncio.sleep(self.interval)
                now = time.monotonic()
                late = [task for task, until in self._until.items() if until <= now]
                for task in late:
                    del self._until[task]
                    self._expired.add(task)
                    task.cancel()
        finally:
            self._sweeper = None

    async def close(self) -> None:
        """Stop the sweeper (a stopping server: its work is done or abandoned)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
