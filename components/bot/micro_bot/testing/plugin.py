"""The pytest plugin of micro_bot (entry point ``pytest11``): the ``micro_bot`` fixture.

It imports nothing of the bot until a test asks for the fixture, so installing
micro-bot does not slow anybody's other tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from micro_bot.testing.memory import MemoryInput

StartBot = Callable[..., Awaitable["MemoryInput"]]


@pytest.fixture
async def micro_bot(micro_settings: dict[str, Any]) -> AsyncIterator[StartBot]:
    """Start bots on the test's memory drivers, each with a :class:`MemoryInput`; stopped after the test.

    ``chat = await micro_bot(**bot_arguments)`` takes :class:`~micro_bot.Bot`'s keyword
    arguments (``policy=``, ``commands=``, ``timeout=``…) and returns the input to talk through.
    """
    from micro_bot.bot import Bot
    from micro_bot.testing.memory import MemoryInput
    from micro_core import Options, Plugins, Service

    started: list[Bot] = []

    async def start(**arguments: Any) -> MemoryInput:
        options = Options(code=micro_settings, environ={})
        service = Service("micro.bot", plugins=Plugins(autoload=False), options=options)
        chat = MemoryInput()
        bot = Bot(service, [chat], **arguments)
        await bot.start()
        started.append(bot)
        return chat

    yield start
    for bot in reversed(started):
        await bot.stop()
