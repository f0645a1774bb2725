"""Commands about the bot itself: ``help``, ``ping``, ``echo``, ``time``, ``hello``."""

from __future__ import annotations

import datetime

from micro_bot.commands.base import Command, Request, UsageError
from micro_bot.formatting import table


class Help(Command):
    name = "help"
    pattern = r"help(?:\s+(?P<command>\S+))?"
    usage = "help [command]"
    description = "list the commands, or show how to use one"

    async def run(self, request: Request) -> str:
        commands = request.commands()
        wanted = request.group("command").lower()
        if wanted:
            for command in commands:
                if command.name == wanted:
                    admin = " (admins only)" if command.admin else ""
                    return f"`{command.usage}`: {command.description}{admin}"
            raise UsageError(f"no command {wanted!r}")
        rows = [(c.usage, c.description + (" (admins)" if c.admin else "")) for c in commands]
        return table(["command", "what it does"], rows, max_rows=len(rows))


class Ping(Command):
    name = "ping"
    pattern = r"ping"
    usage = "ping"
    description = "check that the bot answers"

    async def run(self, request: Request) -> str:
        return "pong"


class Echo(Command):
    name = "echo"
    pattern = r"echo\s+(?P<text>.+)"
    usage = "echo <text>"
    description = "say the text back"

    async def run(self, request: Request) -> str:
        return " ".join(request.group("text").split())  # the bot's output limit still applies


class Time(Command):
    name = "time"
    pattern = r"time"
    usage = "time"
    description = "the bot's time, in UTC"

    async def run(self, request: Request) -> str:
        return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Hello(Command):
    name = "hello"
    pattern = r"(?:hello|hi|hey)(?:\s+.*)?"
    usage = "hello"
    description = "a greeting"

    async def run(self, request: Request) -> str:
        return f"hello {request.conversation.user}, `help` lists what I can do"


__all__ = ["Echo", "Hello", "Help", "Ping", "Time"]
