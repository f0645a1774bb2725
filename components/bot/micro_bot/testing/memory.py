"""An input held in memory: what a test says, and everything the bot sent back."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from micro_bot.chat import ChatMessage, Conversation
from micro_bot.inputs.base import Input, Receive
from micro_core import Options


@dataclass(frozen=True)
class Sent:
    """One message the bot sent."""

    conversation: Conversation
    text: str
    thread: bool


class MemoryInput(Input):
    """Says things to the bot as any user in any room, and keeps what the bot sends."""

    name = "memory"

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._receive: Receive | None = None
        self._arrived = asyncio.Condition()

    @classmethod
    def from_options(cls, options: Options) -> MemoryInput:
        return cls()

    async def start(self, receive: Receive) -> None:
        self._receive = receive

    async def send(self, conversation: Conversation, text: str, *, thread: bool = False) -> None:
        async with self._arrived:
            self.sent.append(Sent(conversation, text, thread))
            self._arrived.notify_all()

    async def stop(self) -> None:
        self._receive = None

    async def say(self, text: str, *, user: str = "alice", room: str | None = None) -> str:
        """Send ``text`` as ``user`` (in ``room``, or directly) and return the bot's reply ("" if none)."""
        if self._receive is None:
            raise RuntimeError("the bot has not started this input (or has stopped it)")
        before = len(self.sent)
        await self._receive(ChatMessage(text, Conversation(self.name, user, room)))
        return "\n".join(sent.text for sent in self.sent[before:])

    async def wait(self, count: int, timeout: float = 10.0) -> list[Sent]:
        """The first ``count`` messages sent; ``TimeoutError`` if fewer come within ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.sent) >= count)
        return self.sent[:count]


__all__ = ["MemoryInput", "Sent"]
