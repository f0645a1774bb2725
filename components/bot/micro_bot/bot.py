"""The bot: a kernel service to reach the others, inputs to hear people, commands to answer them.

``Bot.from_options`` builds everything from settings; ``run`` starts it, answers until
an input ends (a console at end of input) or the task is cancelled, and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from functools import partial

from micro_bot.chat import ChatMessage, Conversation
from micro_bot.commands.base import Command, load_commands
from micro_bot.dispatcher import Dispatcher
from micro_bot.inputs.base import Input, input_class
from micro_bot.remote import RemoteCommands
from micro_bot.safety import Confirmations, Policy, RateLimit
from micro_bot.watch import Watches
from micro_core import Options, Plugins, Service

log = logging.getLogger("micro.bot")


class Bot:
    """One bot process: answers on every input with the installed and service-provided commands."""

    def __init__(
        self,
        service: Service,
        inputs: Sequence[Input],
        *,
        commands: Sequence[Command] | None = None,
        policy: Policy | None = None,
        rate: tuple[int, float] = (20, 60.0),
        timeout: float = 10.0,
        max_output: int = 3000,
        confirm_ttl: float = 60.0,
        watch_rate: float = 1.0,
        namespace: str = "micro.bot",
    ) -> None:
        if not inputs:
            raise ValueError("a bot needs at least one input")
        self.service = service
        self.inputs = list(inputs)
        self._builtins = list(load_commands() if commands is None else commands)
        self.remote = RemoteCommands(service, namespace, frozenset(c.name for c in self._builtins))
        self.watches = Watches(service.broker, rate=watch_rate)
        self.dispatcher = Dispatcher(
            self.commands,
            service,
            self.watches,
            policy or Policy(),
            RateLimit(*rate),
            Confirmations(confirm_ttl),
            timeout,
            max_output,
        )

    @classmethod
    def from_options(cls, options: Options, plugins: Plugins | None = None) -> Bot:
        """The bot the settings describe (see :mod:`micro_bot.settings`); ``ValueError`` on a bad one.

        ``options`` must declare the settings of the chosen inputs (:func:`micro_bot.settings.resolve`).
        """
        names = options["bot_inputs"]
        if not names:
            raise ValueError("no inputs: choose them with --inputs or MICRO_BOT_INPUTS (e.g. xmpp,slack)")
        inputs = [input_class(name).from_options(options) for name in names]
        policy = Policy.of(options["bot_allow_users"], options["bot_allow_rooms"], options["bot_admins"])
        service = Service("micro.bot", plugins=plugins, options=options)
        return cls(
            service,
            inputs,
            policy=policy,
            rate=options["bot_rate"],
            timeout=options["bot_command_timeout"],
            max_output=options["bot_max_output"],
            confirm_ttl=options["bot_confirm_ttl"],
            watch_rate=options["bot_watch_rate"],
            namespace=options["bot_namespace"],
        )

    def commands(self) -> list[Command]:
        """The built-in commands, then those services provide now."""
        return [*self._builtins, *self.remote.commands()]

    async def start(self) -> None:
        """Connect to the registry and broker, pick up service commands, then connect every input."""
        await self.service.connect()
        await self.remote.start()
        for chat in self.inputs:
            await chat.start(partial(self._receive, chat))
            log.info("bot input %s connected", chat.name)

    async def _receive(self, chat: Input, message: ChatMessage) -> None:
        conversation = message.conversation

        async def say(text: str, thread: bool) -> None:
            await chat.send(conversation, text, thread=thread)

        reply = await self.dispatcher.answer(message, say)
        if reply is not None:
            await self._send(chat, conversation, reply.text, reply.thread)

    async def _send(self, chat: Input, conversation: Conversation, text: str, thread: bool) -> None:
        try:
            await chat.send(conversation, text, thread=thread)
        except Exception:
            log.warning("could not reply on %s to %s", chat.name, conversation.user, exc_info=True)

    async def stop(self) -> None:
        """Disconnect the inputs, stop every watch and the command watch, close the service."""
        for chat in self.inputs:
            with contextlib.suppress(Exception):
                await chat.stop()
        await self.watches.close()
        await self.remote.close()
        await self.service.close()

    async def run(self) -> None:
        """Start, answer until an input ends or this task is cancelled, then stop (also after a
        start that failed part-way, so nothing it opened is left open)."""
        ended: list[asyncio.Future[None]] = []
        try:
            await self.start()
            ended = [asyncio.ensure_future(chat.finished()) for chat in self.inputs]
            await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in ended:
                task.cancel()
            await self.stop()


__all__ = ["Bot"]
