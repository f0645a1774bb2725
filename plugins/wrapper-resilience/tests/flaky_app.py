"""A service run as a process by the resilience tests: ``python flaky_app.py``.

``Flaky.Work`` answers with the process id after ``delay`` seconds, or fails with a 500
while the node is failing. ``Flaky.Set`` switches the node: ``ok``, ``fail``, or
``flap:SECONDS`` (failing and healthy by turns, each for that long).
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

from micro_core import Service, errors


@dataclass
class Job:
    delay: float = 0.0


class Flaky:
    def __init__(self) -> None:
        self.mode = "ok"

    def failing(self) -> bool:
        if self.mode.startswith("flap:"):
            return int(time.monotonic() / float(self.mode[5:])) % 2 == 1
        return self.mode == "fail"

    async def work(self, job: Job) -> int:
        if self.failing():
            raise errors.InternalServerError(f"node {os.getpid()} is failing", id="flaky")
        await asyncio.sleep(job.delay)
        return os.getpid()

    async def set(self, mode: str) -> str:
        self.mode = mode
        return mode


if __name__ == "__main__":
    Service("flaky", handlers=[Flaky()]).run()
