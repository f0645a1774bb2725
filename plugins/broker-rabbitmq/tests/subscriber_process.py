"""A queue-group member in a process of its own, for the tests that kill it.

Usage: python subscriber_process.py ADDRESS TOPIC GROUP LOGFILE. Writes each handled
message's body to LOGFILE (before the ack) and prints "ready" once subscribed.
"""

from __future__ import annotations

import asyncio
import sys

from micro_broker_rabbitmq import RabbitMQBroker
from micro_core.broker import Event


async def main(address: str, topic: str, group: str, logfile: str) -> None:
    broker = RabbitMQBroker(address, prefetch=20)
    await broker.connect()
    with open(logfile, "a", buffering=1) as log:

        async def handle(event: Event) -> None:
            await asyncio.sleep(0.01)
            log.write(event.message.body.decode() + "\n")

        await broker.subscribe(topic, handle, queue=group)
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
