"""Write a bot command as a service: subclass :class:`CommandHandler`, serve it with :func:`command_service`.

The bot turns every service registered as ``<namespace>.<command>`` (default
``micro.bot.<command>``) that answers ``Command.Help`` and ``Command.Exec`` into the
chat command ``<command>``, for as long as it is registered::

    class Deploys(CommandHandler):
        usage = "deploys [service]"
        description = "the last deploys"

        async def run(self, args: list[str]) -> str:
            return "greeter 1.2.0 at 09:14"

    command_service("deploys", Deploys()).run()

The wire shapes are Go Micro's bot ``Command`` service (``result`` is text here).
"""

from __future__ import annotations

import abc
from typing import Any

import msgspec

from micro_core import Service

#: The default namespace: a service ``micro.bot.deploys`` provides the command ``deploys``.
NAMESPACE = "micro.bot"


class HelpRequest(msgspec.Struct):
    """``Command.Help`` takes nothing."""


class HelpReply(msgspec.Struct):
    usage: str
    description: str


class ExecRequest(msgspec.Struct):
    """The words the user wrote after the command's name."""

    args: list[str] = msgspec.field(default_factory=list)


class ExecReply(msgspec.Struct, omit_defaults=True):
    """``result`` for the user, or ``error``: one line saying what went wrong."""

    result: str = ""
    error: str = ""


class CommandFailed(Exception):
    """Raise it from :meth:`CommandHandler.run` to answer the user with its text as the error."""


class CommandHandler(abc.ABC):
    """The ``Command`` endpoints of a service that provides a bot command."""

    #: How to write the command, e.g. ``deploys [service]``.
    usage: str
    #: One line for the bot's ``help``.
    description: str

    def __init__(self) -> None:
        for attribute in ("usage", "description"):
            if not getattr(self, attribute, ""):
                raise TypeError(f"{type(self).__name__} must set {attribute!r}: the bot's help shows it")

    async def help(self, request: HelpRequest) -> HelpReply:
        return HelpReply(usage=self.usage, description=self.description)

    async def exec(self, request: ExecRequest) -> ExecReply:
        try:
            return ExecReply(result=await self.run(request.args))
        except CommandFailed as exc:
            return ExecReply(error=str(exc))

    @abc.abstractmethod
    async def run(self, args: list[str]) -> str:
        """The reply, given the words after the command's name; raise :class:`CommandFailed` to refuse."""


def command_service(
    command: str, handler: CommandHandler, *, namespace: str = NAMESPACE, **settings: Any
) -> Service:
    """A service providing ``command`` to the bots that watch ``namespace``; ``settings`` as for Service."""
    service = Service(f"{namespace}.{command}", **settings)
    service.handle(handler, "Command")
    return service


__all__ = [
    "NAMESPACE",
    "CommandFailed",
    "CommandHandler",
    "ExecReply",
    "ExecRequest",
    "HelpReply",
    "HelpRequest",
    "command_service",
]
