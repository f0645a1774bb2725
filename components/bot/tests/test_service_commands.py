"""Commands that services provide: they appear and disappear with the service's registration."""

from __future__ import annotations

import asyncio

import pytest

from micro_bot import CommandFailed, CommandHandler, command_service


class Deploys(CommandHandler):
    usage = "deploys [service]"
    description = "the last deploys"

    async def run(self, args: list[str]) -> str:
        if args == ["nothing"]:
            raise CommandFailed("no deploys of 'nothing'")
        return f"deploys of {' '.join(args) or 'everything'}: greeter 1.2.0"


async def until(predicate, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.05)


async def test_a_service_command_appears_and_disappears_with_its_registration(micro_bot, micro_service):
    chat = await micro_bot()
    assert "unknown command `deploys`" in await chat.say("deploys")
    service = await micro_service(name="micro.bot.deploys", setup=lambda s: s.handle(Deploys(), "Command"))

    async def listed() -> bool:
        return "deploys [service]" in await chat.say("help")

    await until(listed)
    assert await chat.say("deploys greeter") == "deploys of greeter: greeter 1.2.0"
    assert await chat.say("deploys nothing") == "error: no deploys of 'nothing'"
    assert "the last deploys (from service micro.bot.deploys)" in await chat.say("help deploys")

    await service.stop()

    async def gone() -> bool:
        return "unknown command `deploys`" in await chat.say("deploys")

    await until(gone)


async def test_a_service_cannot_take_a_built_in_command_s_name(micro_bot, micro_service):
    chat = await micro_bot()
    await micro_service(name="micro.bot.ping", setup=lambda s: s.handle(Deploys(), "Command"))
    await asyncio.sleep(0.2)
    assert await chat.say("ping") == "pong"


def test_command_service_serves_the_command_endpoints():
    service = command_service("deploys", Deploys(), registry="memory", transport="memory", broker="memory")
    assert service.name == "micro.bot.deploys"
    assert {"Command.Help", "Command.Exec"} <= set(service.server.routes)


def test_a_command_handler_must_say_how_it_is_used():
    class Undocumented(CommandHandler):
        async def run(self, args: list[str]) -> str:
            return ""

    with pytest.raises(TypeError, match="must set 'usage'"):
        Undocumented()
