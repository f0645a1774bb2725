"""What every command is: a pattern it answers, its usage and description for ``help``, and ``run``.

Commands are found through the ``micro.bot.commands`` entry point; each entry names a
:class:`Command` subclass that is built with no arguments. A command that changes
something (``confirm``) runs only after the user says ``yes``; an ``admin`` command
only for the bot's admins (see :mod:`micro_bot.safety`).
"""

from __future__ import annotations

import abc
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from micro_bot.chat import Conversation

if TYPE_CHECKING:
    from micro_bot.watch import Watches
    from micro_core import Service

#: Entry-point group of the commands (``ping = micro_bot.commands.chat:Ping``).
COMMANDS_GROUP = "micro.bot.commands"

#: Sends one more message to the conversation a command runs for (``thread``: into a thread).
Say = Callable[[str, bool], Awaitable[None]]


class UsageError(ValueError):
    """The user's words do not fit the command: the text says what would."""


@dataclass
class Request:
    """One run of a command: the user's text, the pattern's match, and what the bot offers.

    :param service: the bot's kernel service (``service.client``, ``.registry``, ``.broker``).
    :param commands: every command the bot answers now, for ``help``.
    :param say: sends further messages to the conversation (a watch's relays).
    :param watches: the bot's topic watches (``watch``/``unwatch``).
    """

    text: str
    match: re.Match[str]
    conversation: Conversation
    service: Service
    commands: Callable[[], list[Command]]
    say: Say
    #: The topic watches of this bot, which outlive the command that started them.
    watches: Watches

    def group(self, name: str) -> str:
        """The named group of the match, stripped; empty when it did not match."""
        return (self.match.group(name) or "").strip()

    @cached_property
    def args(self) -> list[str]:
        """The words after the command's name, quotes honoured (``shlex`` splits; nothing runs a shell)."""
        try:
            return shlex.split(self.text)[1:]
        except ValueError as exc:
            raise UsageError(f"cannot split the arguments: {exc}") from None


class Command(abc.ABC):
    """A chat command; subclasses set the attributes and implement :meth:`run`."""

    #: The first word, under which ``help`` lists it.
    name: str
    #: A regular expression the whole message must match (case-insensitive).
    pattern: str
    #: How to write it, e.g. ``describe <service>``.
    usage: str
    #: One line for ``help``.
    description: str
    #: Only the bot's admins may run it.
    admin: bool = False
    #: It changes something: the user confirms before it runs.
    confirm: bool = False

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE | re.DOTALL)

    @abc.abstractmethod
    async def run(self, request: Request) -> str:
        """Do the work and return the reply (formatted for chat; the bot limits its length).

        Raise :class:`UsageError` for words that do not fit, a ``MicroError`` for a
        service's failure: either reaches the user as one line.
        """

    def describe_change(self, request: Request) -> str:
        """What a ``confirm`` command is about to do, in the question the user answers."""
        return f"run `{request.text}`"


def load_commands() -> list[Command]:
    """One instance of each installed command; a broken entry point fails loudly, naming it."""
    commands = []
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name):
        try:
            cls = ep.load()
        except Exception as exc:
            raise ImportError(f"bot command {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Command)):
            raise TypeError(f"bot command {ep.name!r} ({ep.value}) is not a micro_bot Command class")
        command = cls()
        if command.name != ep.name:
            raise ValueError(f"bot command entry point {ep.name!r} names a command called {command.name!r}")
        commands.append(command)
    return commands


__all__ = ["COMMANDS_GROUP", "Command", "Request", "Say", "UsageError", "load_commands"]
