"""One test per hook: a plugin object registered on a service's own plugin manager."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from micro_core import Message, Plugins, Service, hookimpl
from micro_core.broker.memory import MemoryBroker
from micro_core.codec.json import JSONCodec
from micro_core.options import Options
from micro_core.registry.memory import MemoryRegistry
from micro_core.selector.cache import RoundRobinSelector
from micro_core.transport.memory import MemoryTransport


class Greeter:
    async def hello(self, name: str) -> str:
        return f"Hello {name}"


def service_with(plugin: object, micro_settings: dict[str, Any], **settings: Any) -> Service:
    plugins = Plugins(autoload=False)
    plugins.register(plugin)
    options = Options(code={**micro_settings, **settings}, environ={})
    return Service("greeter", handlers=[Greeter()], plugins=plugins, options=options)


def test_micro_add_options(micro_settings):
    class AddsOption:
        @hookimpl
        def micro_add_options(self, options: Options) -> None:
            options.add("greeting_style", "formal", "how greeters greet")

    service = service_with(AddsOption(), micro_settings)
    assert service.options["greeting_style"] == "formal"
    assert "greeting_style" in service.options


def test_micro_registry(micro_settings):
    class Provides:
        @hookimpl
        def micro_registry(self, name: str, options: Options) -> MemoryRegistry | None:
            return MemoryRegistry(options["registry_address"]) if name == "mine" else None

    assert isinstance(service_with(Provides(), micro_settings, registry="mine").registry, MemoryRegistry)


def test_micro_selector(micro_settings):
    class Provides:
        @hookimpl
        def micro_selector(self, name: str, registry: Any, options: Options) -> Any:
            return RoundRobinSelector(registry) if name == "mine" else None

    assert isinstance(service_with(Provides(), micro_settings, selector="mine").selector, RoundRobinSelector)


def test_micro_transport(micro_settings):
    class Provides:
        @hookimpl
        def micro_transport(self, name: str, options: Options) -> Any:
            return MemoryTransport() if name == "mine" else None

    assert isinstance(service_with(Provides(), micro_settings, transport="mine").transport, MemoryTransport)


def test_micro_codec(micro_settings):
    class Upper(JSONCodec):
        content_types = ("application/x-upper",)

        def encode(self, value: Any) -> bytes:
            return super().encode(value.upper() if isinstance(value, str) else value)

    class Provides:
        @hookimpl
        def micro_codec(self, content_type: str, options: Options) -> Any:
            return Upper() if content_type == "application/x-upper" else None

    service = service_with(Provides(), micro_settings)
    assert isinstance(service.client.codec("application/x-upper; charset=utf-8"), Upper)


def test_micro_broker(micro_settings):
    class Provides:
        @hookimpl
        def micro_broker(self, name: str, registry: Any, options: Options) -> Any:
            return MemoryBroker(options["broker_address"]) if name == "mine" else None

    assert isinstance(service_with(Provides(), micro_settings, broker="mine").broker, MemoryBroker)


async def test_micro_wrap_call(micro_settings):
    class Tags:
        @hookimpl(wrapper=True)
        def micro_wrap_call(self, call: Any) -> Any:
            inner = yield

            async def tagged(request: Any) -> Message:
                request.message.header["X-Tagged"] = "yes"
                return await inner(request)

            return tagged

    seen: list[str] = []

    class Sees:
        @hookimpl(wrapper=True)
        def micro_wrap_handler(self, service: str, endpoint: str, handler: Any) -> Any:
            inner = yield

            async def look(request: Message) -> Message:
                seen.append(request.header.get("X-Tagged", ""))
                return await inner(request)

            return look

    service = service_with(Tags(), micro_settings)
    service.plugins.register(Sees())
    async with service:
        assert await service.client.call("greeter", "Greeter.Hello", "Ada") == "Hello Ada"
    assert seen == ["yes"]


async def test_micro_wrap_handler(micro_settings):
    class Guard:
        @hookimpl(wrapper=True)
        def micro_wrap_handler(self, service: str, endpoint: str, handler: Any) -> Any:
            inner = yield
            if endpoint != "Greeter.Hello":
                return inner

            async def refuse(request: Message) -> Message:
                from micro_core import errors

                raise errors.Forbidden(f"{service} does not greet today")

            return refuse

    from micro_core import errors

    async with service_with(Guard(), micro_settings) as service:
        with pytest.raises(errors.Forbidden, match="greeter does not greet today"):
            await service.client.call("greeter", "Greeter.Hello", "Ada")
        assert await service.client.call("greeter", "Debug.Health") == {"status": "ok"}


async def test_micro_wrap_subscriber(micro_settings):
    topics: list[str] = []
    handled = asyncio.Event()

    class Counts:
        @hookimpl(wrapper=True)
        def micro_wrap_subscriber(self, topic: str, handler: Any) -> Any:
            inner = yield

            async def count(event: Any) -> None:
                topics.append(topic)
                await inner(event)

            return count

    async def on_news(item: str) -> None:
        handled.set()

    service = service_with(Counts(), micro_settings)
    service.subscribe("news", on_news)
    async with service:
        await service.client.publish("news", "hello")
        await asyncio.wait_for(handled.wait(), 5)
    assert topics == ["news"]


class Lifecycle:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def micro_before_start(self, service: Service) -> None:
        self.calls.append(f"before_start {service.address or '-'}")

    @hookimpl
    async def micro_after_start(self, service: Service) -> None:
        self.calls.append(f"after_start {bool(service.address)}")

    @hookimpl
    def micro_before_stop(self, service: Service) -> Any:
        async def later() -> None:
            self.calls.append("before_stop")

        return later()

    @hookimpl
    def micro_after_stop(self, service: Service) -> None:
        self.calls.append("after_stop")
        raise RuntimeError("an after_stop failure is logged, the stop completes")


async def test_micro_before_start(micro_settings):
    lifecycle = Lifecycle()
    async with service_with(lifecycle, micro_settings):
        assert lifecycle.calls[0] == "before_start -"


async def test_micro_after_start(micro_settings):
    lifecycle = Lifecycle()
    async with service_with(lifecycle, micro_settings):
        assert lifecycle.calls == ["before_start -", "after_start True"]


async def test_micro_before_stop(micro_settings):
    lifecycle = Lifecycle()
    async with service_with(lifecycle, micro_settings):
        pass
    assert lifecycle.calls[2] == "before_stop"


async def test_micro_after_stop(micro_settings):
    lifecycle = Lifecycle()
    async with service_with(lifecycle, micro_settings):
        pass
    assert lifecycle.calls[-1] == "after_stop"
