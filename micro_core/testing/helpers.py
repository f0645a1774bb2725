"""Helpers that make tests of services read like their use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from micro_core import errors, headers
from micro_core.broker import Broker, Event, Subscription
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.server import Server
from micro_core.transport import Message, Transport


class _NoTransport(Transport):
    """Stands in where :func:`call_endpoint` needs no network at all."""

    name = "none"

    async def dial(self, address: str, timeout: float | None = None) -> Any:
        raise ConnectionError("call_endpoint does not dial")

    async def listen(self, address: str, handler: Any) -> Any:
        raise ConnectionError("call_endpoint does not listen")


async def call_endpoint(
    handler: object,
    endpoint: str,
    request: Any = None,
    *,
    response_type: Any = None,
    metadata: Mapping[str, str] | None = None,
    content_type: str = "application/json",
    plugins: Plugins | None = None,
) -> Any:
    """Call ``endpoint`` (``"Greeter.Hello"``) of ``handler`` as the server would, with no network.

    The request goes through the codec, the router and the handler wrappers, so a
    wrong type or a missing field fails here exactly as it would remotely.
    """
    plugins = plugins or Plugins(autoload=False)
    options = Options()
    plugins.add_options(options)
    server = Server("test", _NoTransport(), plugins, options)
    server.handle(handler)
    server.build()
    codec = plugins.codec(content_type, options)
    header = {**(metadata or {}), headers.ENDPOINT: endpoint, headers.CONTENT_TYPE: codec.content_type}
    reply = await server.unary(Message(header, codec.encode(request)))
    error = reply.header.get(headers.ERROR)
    if error:
        raise errors.parse(error)
    return codec.decode(reply.body, response_type)


@contextlib.contextmanager
def replace_dependency(handler: object, name: str, replacement: Any) -> Iterator[Any]:
    """Swap ``handler.<name>`` (a store, a client…) for ``replacement`` inside the block."""
    original = getattr(handler, name)
    setattr(handler, name, replacement)
    try:
        yield replacement
    finally:
        setattr(handler, name, original)


class EventRecorder:
    """Subscribes to a topic and keeps what arrives, so a test can wait for it."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._arrived = asyncio.Condition()
        self._subscription: Subscription | None = None

    @classmethod
    async def subscribe(cls, broker: Broker, topic: str, *, queue: str | None = None) -> EventRecorder:
        recorder = cls()
        recorder._subscription = await broker.subscribe(topic, recorder._record, queue=queue)
        return recorder

    async def _record(self, event: Event) -> None:
        async with self._arrived:
            self.events.append(event)
            self._arrived.notify_all()

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[Event]:
        """The first ``count`` events; ``TimeoutError`` if fewer arrive within ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.events) >= count)
        return self.events[:count]

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
