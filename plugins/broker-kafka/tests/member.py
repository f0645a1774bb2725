"""A queue-group member in a process of its own, for the crash test: ``member.py ADDRESS TOPIC LOG``.

It appends the body of each message it handles to LOG (flushed before the handler
returns, so before the offset can be committed) and prints "ready" once subscribed.
"""

from __future__ import annotations

import asyncio
import sys

from micro_broker_kafka import KafkaBroker
from micro_core.broker import Event


async def main(address: str, topic: str, log_path: str) -> None:
    broker = KafkaBroker(address, session_timeout=3.0)
    await broker.connect()
    with open(log_path, "a", buffering=1) as log:

        async def handle(event: Event) -> None:
            await asyncio.sleep(0.005)  # some work, so a crash lands mid-stream
            log.write(event.message.body.decode() + "\n")

        await broker.subscribe(topic, handle, queue="crash-test")
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
