"""The publish wrapper hook: what tracing and metrics plugins hang on every event sent."""

from __future__ import annotations

import asyncio
from typing import Any

from micro_core import Event, Message, Plugins, Service, hookimpl
from micro_core.options import Options


async def test_micro_wrap_publish(micro_settings):
    """Two plugins' wrappers compose: both see the publish, headers they add travel with it."""
    order: list[str] = []

    class Stamps:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl(wrapper=True)
        def micro_wrap_publish(self, publish: Any) -> Any:
            inner = yield

            async def stamped(topic: str, message: Message) -> None:
                order.append(self.name)
                message.header[f"X-{self.name}"] = topic
                await inner(topic, message)

            return stamped

    class Plain:
        """An old-style implementation: wraps what it is given, composes all the same."""

        @hookimpl
        def micro_wrap_publish(self, publish: Any) -> Any:
            async def counted(topic: str, message: Message) -> None:
                order.append("plain")
                await publish(topic, message)

            return counted

    plugins = Plugins(autoload=False)
    plugins.register(Plain())
    plugins.register(Stamps("inner"))
    plugins.register(Stamps("outer"))
    received: asyncio.Queue[Event] = asyncio.Queue()
    service = Service("events", plugins=plugins, options=Options(code=micro_settings, environ={}))

    async def got(event: Event) -> None:
        await received.put(event)

    service.subscribe("orders", got)
    async with service:
        await service.client.publish("orders", {"id": 1})
        event = await asyncio.wait_for(received.get(), 5)
    assert order == ["outer", "inner", "plain"]  # wrapper=True ones outermost
    assert (event.message.header["X-inner"], event.message.header["X-outer"]) == ("orders", "orders")
