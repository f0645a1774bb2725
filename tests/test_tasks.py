"""start_task: per-message and per-call work in a task of its own, started eagerly where Python can."""

from __future__ import annotations

import asyncio
import sys

import pytest

from micro_core.tasks import start_task

EAGER = sys.version_info >= (3, 12)


async def test_work_that_does_not_wait_is_done_before_start_task_returns_on_python_3_12() -> None:
    ran: list[str] = []

    async def answer() -> int:
        ran.append("answer")
        return 42

    task = start_task(answer())
    assert task.done() is EAGER
    assert ran == (["answer"] if EAGER else [])
    assert await task == 42


async def test_work_that_waits_goes_on_in_its_task_after_start_task_returns() -> None:
    release = asyncio.Event()
    ran: list[str] = []

    async def slow() -> str:
        ran.append("started")
        await release.wait()
        ran.append("finished")
        return "done"

    task = start_task(slow())
    assert not task.done()
    release.set()
    assert await task == "done"
    assert ran == ["started", "finished"]


async def test_an_exception_is_kept_in_the_task_not_raised_by_start_task() -> None:
    async def broken() -> None:
        raise ValueError("bad input")

    task = start_task(broken())
    with pytest.raises(ValueError, match="bad input"):
        await task
