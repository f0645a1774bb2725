"""From a chat line to one reply: who may, which command, confirmation, timeout, one-line errors.

Every message takes the same way: allowlists → a pending confirmation's answer → the
user's rate limit → the first command whose pattern matches → admin check →
confirmation of a change → the command under its timeout → the reply cut to the
output limit. Whatever a command or a service raises reaches the user as one line;
tracebacks go to the log only.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from micro_bot.chat import ChatMessage
from micro_bot.commands.base import Command, Request, Say, UsageError
from micro_bot.formatting import limit, one_line
from micro_bot.safety import Confirmations, Policy, RateLimit
from micro_core import errors

if TYPE_CHECKING:
    from micro_bot.watch import Watches
    from micro_core import Service

log = logging.getLogger("micro.bot")

#: Replies with more lines than this go into a thread where the chat has them.
THREAD_LINES = 15


@dataclass(frozen=True, slots=True)
class Reply:
    """The bot's answer to one message; ``thread``: long enough to belong in a thread."""

    text: str
    thread: bool = False


@dataclass
class Dispatcher:
    """Answers chat messages with the commands that ``commands()`` returns at that moment."""

    commands: Callable[[], list[Command]]
    service: Service
    watches: Watches
    policy: Policy = field(default_factory=Policy)
    rate: RateLimit = field(default_factory=lambda: RateLimit(20, 60.0))
    confirmations: Confirmations = field(default_factory=Confirmations)
    timeout: float = 10.0
    max_output: int = 3000

    async def answer(self, message: ChatMessage, say: Say) -> Reply | None:
        """The reply to ``message`` (None for an empty one); ``say`` sends any further messages."""
        conversation = message.conversation
        text = message.text.strip()
        refusal = self.policy.refusal(conversation)
        if refusal is not None:
            log.info("refused %s in %s: %s", conversation.user, conversation.room, text[:80])
            return Reply(refusal)
        if not text:
            return None
        confirmed = False
        pending = self.confirmations.answer(conversation, text)
        if pending is not None:
            confirmed, text = pending
            if not confirmed:
                return Reply(f"cancelled: `{text}`")
        wait = self.rate.allow(conversation)
        if wait:
            return Reply(f"slow down: try again in {wait:.0f}s")
        found = self._match(text)
        if isinstance(found, str):
            return Reply(found)
        command, match = found
        request = Request(text, match, conversation, self.service, self.commands, say, self.watches)
        if command.admin and not self.policy.is_admin(conversation):
            return Reply(f"sorry, `{command.name}` is for admins only")
        return self._reply(await self._run(command, request, confirmed))

    def _match(self, text: str) -> tuple[Command, re.Match[str]] | str:
        """The first command whose pattern matches, or what to tell the user instead."""
        commands = self.commands()
        for command in commands:
            match = command.regex.fullmatch(text)
            if match is not None:
                return command, match
        word = text.split()[0].lower()
        for command in commands:
            if command.name == word:
                return f"usage: `{command.usage}`"
        return f"unknown command `{one_line(word, 40)}`; `help` lists what I can do"

    async def _run(self, command: Command, request: Request, confirmed: bool) -> str:
        """The command's reply, or its confirmation question; any failure as one line."""
        try:
            if command.confirm and not confirmed:
                change = command.describe_change(request)  # may refuse bad input before asking
                self.confirmations.ask(request.conversation, request.text)
                return f"this will {change}. Answer `yes` within {self.confirmations.ttl:.0f}s to go ahead."
            async with asyncio.timeout(self.timeout):
                return await command.run(request)
        except TimeoutError:
            return f"`{command.name}` took longer than {self.timeout:g}s and was stopped"
        except UsageError as exc:
            return f"{one_line(str(exc))}; usage: `{command.usage}`"
        except errors.MicroError as exc:
            return "error: " + one_line(str(exc))
        except Exception as exc:
            log.exception("command %s failed on %r", command.name, request.text)
            return f"error: {type(exc).__name__}: " + one_line(str(exc) or "(no detail)")

    def _reply(self, text: str) -> Reply:
        cut = limit(text, self.max_output)
        return Reply(cut, thread=cut != text or cut.count("\n") > THREAD_LINES)


__all__ = ["THREAD_LINES", "Dispatcher", "Reply"]
