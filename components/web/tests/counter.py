"""A service with a streaming endpoint, for the dashboard's stream test: ``python counter.py``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from micro_core import Service


@dataclass
class CountRequest:
    to: int


@dataclass
class Tick:
    n: int


class Counter:
    async def count(self, req: CountRequest) -> AsyncIterator[Tick]:
        for n in range(1, req.to + 1):
            yield Tick(n)
            await asyncio.sleep(0.3)  # so the page shows each tick as it comes


if __name__ == "__main__":
    Service("counter", handlers=[Counter()]).run()
