"""The greeter service: one endpoint, one subscriber, run with ``python greeter.py``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from micro_core import Service, context


@dataclass
class HelloRequest:
    name: str


@dataclass
class HelloReply:
    message: str
    node: str


@dataclass
class Greeting:
    name: str


class Greeter:
    def __init__(self, node: str) -> None:
        self.node = node

    async def hello(self, req: HelloRequest) -> HelloReply:
        who = context.metadata().get("X-Caller", "someone")
        return HelloReply(message=f"Hello {req.name}, from {who}'s greeter", node=self.node)


def main() -> None:
    service = Service("greeter", version="1.0.0")
    service.handle(Greeter(node=f"pid {os.getpid()}"))

    @service.subscriber("greetings", queue="greeter")
    async def on_greeting(greeting: Greeting) -> None:
        print(f"pid {os.getpid()} got a greeting for {greeting.name}", flush=True)

    service.run()


if __name__ == "__main__":
    main()
