"""micro bot: the CLI's powers in chat, with commands that any service can add.

Inputs (``micro.bot.inputs``) bring people's messages, commands (``micro.bot.commands``)
answer them, and services named ``micro.bot.<command>`` add commands while they run.

Names are imported from their modules on first use, so that pytest loading
``micro_bot.testing.plugin`` (and so this package) costs nobody's test run anything.
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_bot.bot import Bot
    from micro_bot.chat import ChatMessage, Conversation
    from micro_bot.commands.base import COMMANDS_GROUP, Command, Request, UsageError
    from micro_bot.dispatcher import Reply
    from micro_bot.handler import CommandFailed, CommandHandler, command_service
    from micro_bot.inputs.base import INPUTS_GROUP, Input, InputNotFound
    from micro_bot.safety import Policy

_HOMES = {
    "Bot": ".bot",
    "ChatMessage": ".chat",
    "Conversation": ".chat",
    "COMMANDS_GROUP": ".commands.base",
    "Command": ".commands.base",
    "Request": ".commands.base",
    "UsageError": ".commands.base",
    "Reply": ".dispatcher",
    "CommandFailed": ".handler",
    "CommandHandler": ".handler",
    "command_service": ".handler",
    "INPUTS_GROUP": ".inputs.base",
    "Input": ".inputs.base",
    "InputNotFound": ".inputs.base",
    "Policy": ".safety",
}
__getattr__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "COMMANDS_GROUP",
    "INPUTS_GROUP",
    "Bot",
    "ChatMessage",
    "Command",
    "CommandFailed",
    "CommandHandler",
    "Conversation",
    "Input",
    "InputNotFound",
    "Policy",
    "Reply",
    "Request",
    "UsageError",
    "command_service",
]
