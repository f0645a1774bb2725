"""A service run as a separate process by the tests: ``python echo_service.py NAME``.

Backends come from the MICRO_* environment the test sets.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from micro_core import Event, Service


@dataclass
class Ping:
    text: str
    delay: float = 0.0


@dataclass
class Pong:
    text: str
    pid: int


class Echo:
    async def call(self, req: Ping) -> Pong:
        if req.delay:
            await asyncio.sleep(req.delay)
        return Pong(text=req.text, pid=os.getpid())


def main() -> None:
    service = Service(sys.argv[1] if len(sys.argv) > 1 else "echo")
    service.handle(Echo())
    seen = os.environ.get("ECHO_EVENTS_FILE")
    if seen:
        refused: set[bytes] = set()

        async def record(event: Event) -> None:
            body = event.message.body
            if body.startswith(b'"flaky') and body not in refused:
                refused.add(body)
                return  # explicit ack mode: returning without ack hands the message back
            with open(seen, "a") as out:
                out.write(f"{os.getpid()} {event.message.body.decode()}\n")
            await event.ack()

        service.subscribe("jobs", record, queue="workers", auto_ack=False)
        service.subscribe("news", record)
    service.run()


if __name__ == "__main__":
    main()
