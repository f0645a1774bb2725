"""The plugin manager: mistakes fail loudly, plain wrappers compose, failed look-ups are remembered."""

from __future__ import annotations

import logging
from typing import Any

import pluggy
import pytest

from micro_core import Message, Plugins, Service, hookimpl
from micro_core.hookspecs import hookspec
from micro_core.options import Options
from micro_core.plugins import DriverNotFound


class Greeter:
    async def hello(self, name: str) -> str:
        return f"Hello {name}"


def test_a_misspelt_hook_is_a_clear_error() -> None:
    class Misspelt:
        @hookimpl
        def micro_wrap_cal(self, call: Any) -> Any:  # the author meant micro_wrap_call
            return call

    plugins = Plugins(autoload=False)
    with pytest.raises(pluggy.PluginValidationError, match=r"micro_wrap_cal .*did you mean micro_wrap_call"):
        plugins.register(Misspelt(), name="misspelt")
    assert not plugins.is_registered(Misspelt)  # nothing half-registered is left behind


def test_an_unknown_codec_is_looked_up_once(caplog: pytest.LogCaptureFixture) -> None:
    """Peers repeat a bad Content-Type on every request: only the first look-up may cost anything."""
    asked: list[str] = []

    class Counts:
        @hookimpl
        def micro_codec(self, content_type: str, options: Options) -> None:
            asked.append(content_type)

    plugins = Plugins(autoload=False)
    plugins.register(Counts())
    options = Options(environ={})
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        with pytest.raises(DriverNotFound, match="text/x-unknown"):
            plugins.codec("text/x-unknown", options)
    assert asked == ["text/x-unknown"]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


@pytest.mark.parametrize(
    ("content_type", "distribution"),
    [
        ("application/x-avro", "micro-codec-avro"),
        ("application/vnd.acme+proto", "micro-codec-protobuf"),
        ("application/x-msgpack; charset=binary", "micro-codec-msgpack"),
        ("application/vnd.acme+cbor", "micro-codec-cbor"),
    ],
)
def test_a_missing_codec_names_the_distribution_of_its_format(content_type: str, distribution: str) -> None:
    """The hint is a ``pip install`` line that works: codecs are published by format, not by content type."""
    plugins = Plugins(autoload=False)
    with pytest.raises(DriverNotFound, match=f"pip install {distribution}$"):
        plugins.codec(content_type, Options(environ={}))


async def test_plain_wrap_implementations_of_two_plugins_compose(micro_settings: dict[str, Any]) -> None:
    """Two plugins written without ``wrapper=True``: both layers run, the later-registered outermost."""
    order: list[str] = []

    def tagging(tag: str) -> object:
        class Plain:
            @hookimpl
            def micro_wrap_call(self, call: Any) -> Any:
                async def tagged(request: Any) -> Message:
                    order.append(f"call {tag}")
                    return await call(request)

                return tagged

            @hookimpl
            def micro_wrap_handler(self, service: str, endpoint: str, handler: Any) -> Any:
                async def tagged(request: Message) -> Message:
                    order.append(f"handler {tag}")
                    return await handler(request)

                return tagged

        return Plain()

    plugins = Plugins(autoload=False)
    plugins.register(tagging("a"))
    plugins.register(tagging("b"))
    service = Service(
        "greeter", handlers=[Greeter()], plugins=plugins, options=Options(code=micro_settings, environ={})
    )
    async with service:
        assert await service.client.call("greeter", "Greeter.Hello", "Ada") == "Hello Ada"
    assert order == ["call b", "call a", "handler b", "handler a"]


async def test_a_wrapper_reads_its_own_setting_from_the_options_it_is_given(
    micro_settings: dict[str, Any],
) -> None:
    """Two services of one process, one plugin: each service's own setting decides (no module
    state keyed by service), and the implementation names only the parameters it uses."""

    class Shout:
        @hookimpl
        def micro_add_options(self, options: Options) -> None:
            options.add("shout", False, "upper-case every reply", bool)

        @hookimpl
        def micro_wrap_handler(self, handler: Any, options: Options) -> Any:
            if not options["shout"]:
                return handler  # off: nothing added to the chain

            async def shouting(request: Message) -> Message:
                reply = await handler(request)
                reply.body = reply.body.upper()
                return reply

            return shouting

    plugins = Plugins(autoload=False)
    plugins.register(Shout())
    loud = Service(
        "loud",
        handlers=[Greeter()],
        plugins=plugins,
        options=Options(code={**micro_settings, "shout": True}, environ={}),
    )
    quiet = Service(
        "quiet", handlers=[Greeter()], plugins=plugins, options=Options(code=micro_settings, environ={})
    )
    async with loud, quiet:
        assert await quiet.client.call("loud", "Greeter.Hello", "Ada") == "HELLO ADA"
        assert await loud.client.call("quiet", "Greeter.Hello", "Ada") == "Hello Ada"


async def test_after_stop_runs_in_the_order_of_the_other_lifecycle_hooks_and_through_wrappers(
    micro_settings: dict[str, Any],
) -> None:
    calls: list[str] = []

    def lifecycle(tag: str) -> object:
        class Lifecycle:
            @hookimpl
            def micro_before_stop(self, service: Service) -> None:
                calls.append(f"before_stop {tag}")

            @hookimpl
            def micro_after_stop(self, service: Service) -> None:
                calls.append(f"after_stop {tag}")
                raise RuntimeError("logged; the other plugins' after_stop still run")

        return Lifecycle()

    class Timing:
        @hookimpl(wrapper=True)
        def micro_after_stop(self, service: Service) -> Any:
            calls.append("wrapper in")
            try:
                return (yield)
            finally:
                calls.append("wrapper out")

    plugins = Plugins(autoload=False)
    for plugin in (lifecycle("a"), lifecycle("b"), Timing()):
        plugins.register(plugin)
    service = Service("greeter", plugins=plugins, options=Options(code=micro_settings, environ={}))
    async with service:
        pass
    stops = calls[calls.index("before_stop a") + 1 :]
    assert calls[:2] == ["before_stop b", "before_stop a"]
    assert [c for c in stops if c.startswith("after_stop")] == ["after_stop b", "after_stop a"]
    assert stops.count("wrapper in") == stops.count("wrapper out") == 2  # around each, as it fails


def test_a_library_adds_its_own_hooks_before_plugins_are_checked() -> None:
    class GatewaySpecs:
        @hookspec
        def micro_authenticate(self, token: str) -> str | None:
            """Who ``token`` belongs to."""

    class Auth:
        @hookimpl
        def micro_authenticate(self, token: str) -> str | None:
            return "ada" if token == "secret" else None

    plugins = Plugins(autoload=False, extra_hookspecs=[GatewaySpecs])
    plugins.register(Auth())
    assert plugins.manager.hook.micro_authenticate(token="secret") == ["ada"]
