"""Deadlines kept by one sweeping task: a late task is cancelled, and knows it was the deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from micro_core.deadlines import Deadlines


async def wait_with_deadline(deadlines: Deadlines, seconds: float | None, work: float) -> str:
    """Sleep ``work`` seconds under a deadline ``seconds`` from now, as the server runs a handler."""
    task = asyncio.current_task()
    assert task is not None
    cancelling = task.cancelling()
    deadlines.track(task, None if seconds is None else time.monotonic() + seconds)
    try:
        await asyncio.sleep(work)
        return "done"
    except asyncio.CancelledError:
        if deadlines.timed_out(task, cancelling):
            return "timed out"
        raise
    finally:
        deadlines.untrack(task)


async def test_a_task_past_its_deadline_is_cancelled_and_told_so_within_an_interval() -> None:
    deadlines = Deadlines(interval=0.01)
    started = time.monotonic()
    assert await wait_with_deadline(deadlines, 0.05, work=5) == "timed out"
    assert 0.05 <= time.monotonic() - started < 0.5
    assert await wait_with_deadline(deadlines, 5, work=0.01) == "done"
    await deadlines.close()


async def test_no_deadline_means_the_task_runs_to_its_end() -> None:
    deadlines = Deadlines(interval=0.01)
    assert await wait_with_deadline(deadlines, None, work=0.05) == "done"
    await deadlines.close()


async def test_someone_elses_cancellation_stays_a_cancellation() -> None:
    deadlines = Deadlines(interval=0.01)
    task = asyncio.ensure_future(wait_with_deadline(deadlines, 5, work=5))
    await asyncio.sleep(0.02)
    task.cancel()  # the client went away: not a timeout
    with pytest.raises(asyncio.CancelledError):
        await task
    await deadlines.close()


async def test_a_deadline_can_be_moved_or_lifted_while_the_task_waits() -> None:
    deadlines = Deadlines(interval=0.01)

    async def lifted() -> str:
        task = asyncio.current_task()
        assert task is not None
        deadlines.track(task, time.monotonic() + 0.03)
        deadlines.track(task, None)  # a stream: it lasts as long as its peers want
        await asyncio.sleep(0.1)
        deadlines.untrack(task)
        return "done"

    assert await lifted() == "done"
    await deadlines.close()


def test_a_sweeper_for_a_timeout_is_late_by_a_twentieth_of_it_at_most_a_tenth_of_a_second() -> None:
    assert Deadlines.for_timeout(1.0).interval == 0.05
    assert Deadlines.for_timeout(30.0).interval == 0.1
