"""Tasks that start at once, for work done per message or per call.

Python 3.12's eager tasks run a coroutine up to its first wait while the task is being
made, so a handler that does not wait (most answer from memory) is finished before the
caller goes on: no trip round the loop to start it, none to wake whoever waits for it.
On 3.11 the task starts on the loop's next turn, as ``loop.create_task`` does. The caller
must not rely on either order: code before the handler's first ``await`` may already
have run when ``start_task`` returns.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def start_task(
    work: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Task[T]:
    """Run ``work`` in a task of its own, started eagerly where Python has eager tasks."""
    loop = loop or asyncio.get_running_loop()
    if sys.version_info >= (3, 12):
        return asyncio.Task(work, loop=loop, eager_start=True)
    return loop.create_task(work)


__all__ = ["start_task"]
