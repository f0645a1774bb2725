"""Test support for bot and command authors.

- :class:`MemoryInput`: an input held in memory; ``await chat.say("ping")`` returns the reply.
- The pytest plugin (``micro_bot.testing.plugin``, loaded automatically) adds the
  ``micro_bot`` fixture: a bot on the test's private memory drivers, beside the
  services that ``micro_service`` starts::

      async def test_ping(micro_bot):
          chat = await micro_bot()
          assert await chat.say("ping") == "pong"
"""

from micro_bot.testing.memory import MemoryInput, Sent

__all__ = ["MemoryInput", "Sent"]
