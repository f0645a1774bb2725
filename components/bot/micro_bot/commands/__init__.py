"""The bot's commands: the interface, and the built-in ones (each a ``micro.bot.commands`` entry)."""

from micro_bot.commands.base import COMMANDS_GROUP, Command, Request, Say, UsageError, load_commands

__all__ = ["COMMANDS_GROUP", "Command", "Request", "Say", "UsageError", "load_commands"]
