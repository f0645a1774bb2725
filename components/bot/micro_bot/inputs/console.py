"""The ``console`` input: commands typed on standard input, replies on standard output.

For trying commands on a laptop and for tests: ``MICRO_BOT_INPUTS=console micro bot``.
Lines are handled one after another, and the input ends at end of input, which ends
the bot, so ``echo services | micro bot --inputs console`` answers once and exits.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from micro_bot.chat import ChatMessage, Conversation
from micro_bot.inputs.base import Input, Receive
from micro_core import Option, Options


class ConsoleInput(Input):
    name = "console"
    options = (Option("bot_console_user", "console", "the console user's name, for allowlists and admins"),)

    def __init__(
        self, user: str = "console", stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.user = user
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_options(cls, options: Options) -> ConsoleInput:
        return cls(options["bot_console_user"])

    async def start(self, receive: Receive) -> None:
        self._task = asyncio.create_task(self._read(receive), name="console input")

    def _lines(self) -> asyncio.Queue[str]:
        """Lines read by a daemon thread, so a blocked read never keeps the process from exiting."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            for line in iter(self._in.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
            loop.call_soon_threadsafe(lines.put_nowait, "")

        threading.Thread(target=read, name="console input", daemon=True).start()
        return lines

    async def _read(self, receive: Receive) -> None:
        try:
            lines = self._lines()
            interactive = self._in.isatty()  # a prompt for a person, none for a pipe
            while True:
                if interactive:
                    self._out.write("micro> ")
                    self._out.flush()
                line = await lines.get()
                if not line:
                    break
                await receive(ChatMessage(line.strip(), Conversation(self.name, self.user)))
        finally:
            self._done.set()

    async def send(self, conversation: Conversation, text: str, *, thread: bool = False) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    async def finished(self) -> None:
        await self._done.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


__all__ = ["ConsoleInput"]
