"""A micro service echoing its request; backends from the MICRO_* environment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from micro_core import Service


class Payload(msgspec.Struct):
    data: str


class Echo:
    async def echo(self, request: Payload) -> Payload:
        return request

    async def stream(self, requests: AsyncIterator[Payload]) -> AsyncIterator[Payload]:
        async for request in requests:
            yield request


if __name__ == "__main__":
    Service("bench-echo", handlers=[Echo()]).run()
