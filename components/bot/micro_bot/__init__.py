"""micro bot: the CLI's powers in chat, with commands that any service can add.

Inputs (``micro.bot.inputs``) bring people's messages, commands (``micro.bot.commands``)
answer them, and services named ``micro.bot.<command>`` add commands while they run.
"""

from micro_bot.bot import Bot
from micro_bot.chat import ChatMessage, Conversation
from micro_bot.commands.base import COMMANDS_GROUP, Command, Request, UsageError
from micro_bot.dispatcher import Reply
from micro_bot.handler import CommandFailed, CommandHandler, command_service
from micro_bot.inputs.base import INPUTS_GROUP, Input, InputNotFound
from micro_bot.safety import Policy

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
