"""Test support for bot and command authors.

- :class:`MemoryInput`: an input held in memory; ``await chat.say("ping")`` returns the reply.
- :mod:`micro_bot.testing.conformance`: the suite every input passes against its chat.
- The pytest plugin (``micro_bot.testing.plugin``, loaded automatically) adds the
  ``micro_bot`` and ``micro_bot_on`` fixtures: a bot on the test's private memory
  drivers, beside the services that ``micro_service`` starts::

      async def test_ping(micro_bot):
          chat = await micro_bot()
          assert await chat.say("ping") == "pong"
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_bot.testing.memory import MemoryInput, Sent

__getattr__ = lazy_exports(__name__, {"MemoryInput": ".memory", "Sent": ".memory"})
__all__ = ["MemoryInput", "Sent"]
