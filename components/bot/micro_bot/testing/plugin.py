"""The pytest plugin of micro_bot (entry point ``pytest11``): the ``micro_bot`` fixtures.

It imports nothing of the bot until a test asks for a fixture, so installing
micro-bot does not slow anybody's other tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

pytest.register_assert_rewrite("micro_bot.testing.conformance")  # the suite's failures show their values

if TYPE_CHECKING:
    from micro_bot.bot import Bot
    from micro_bot.inputs.base import Input
    from micro_bot.testing.memory import MemoryInput

StartBot = Callable[..., Awaitable["MemoryInput"]]
StartBotOn = Callable[..., Awaitable["Bot"]]


@pytest.fixture
async def micro_bot_on(micro_settings: dict[str, Any]) -> AsyncIterator[StartBotOn]:
    """Start bots on the test's memory drivers with the given inputs; each is stopped after the test.

    ``bot = await micro_bot_on(an_input, **bot_arguments)`` takes :class:`~micro_bot.Bot`'s
    keyword arguments (``policy=``, ``commands=``, ``timeout=``…).
    """
    from micro_bot.bot import Bot
    from micro_core import Options, Plugins, Service

    started: list[Bot] = []

    async def start(*inputs: Input, **arguments: Any) -> Bot:
        options = Options(code=micro_settings, environ={})
        service = Service("micro.bot", plugins=Plugins(autoload=False), options=options)
        bot = Bot(service, inputs, **arguments)
        started.append(bot)  # stopped after the test even if a later input fails to start
        await bot.start()
        return bot

    yield start
    for bot in reversed(started):
        await bot.stop()


@pytest.fixture
def micro_bot(micro_bot_on: StartBotOn) -> StartBot:
    """Start a bot with a :class:`~micro_bot.testing.MemoryInput` and return the input to talk through.

    ``chat = await micro_bot(**bot_arguments)``; ``await chat.say("ping", user="alice")`` is the reply.
    """
    from micro_bot.testing.memory import MemoryInput

    async def start(**arguments: Any) -> MemoryInput:
        chat = MemoryInput()
        await micro_bot_on(chat, **arguments)
        return chat

    return start
