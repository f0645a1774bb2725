"""Commands that services provide: kept in step with the registry by one watch.

A service registered as ``<namespace>.<command>`` becomes the command ``<command>``
once its ``Command.Help`` has answered, and stops being one when its last node is
gone. The bot's own commands keep their names: a service cannot replace ``help``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from micro_bot.commands.base import Command, Request
from micro_bot.formatting import one_line
from micro_bot.handler import NAMESPACE
from micro_core import Service, errors
from micro_core.registry import Watcher

log = logging.getLogger("micro.bot.remote")


class RemoteCommand(Command):
    """A command answered by a service's ``Command.Exec``."""

    def __init__(self, name: str, service: str, usage: str, description: str) -> None:
        self.name = name
        self.service = service
        self.pattern = rf"{re.escape(name)}(?:\s+.*)?"
        self.usage = usage or name
        self.description = f"{description} (from service {service})"

    async def run(self, request: Request) -> str:
        reply = await request.service.client.call(self.service, "Command.Exec", {"args": request.args})
        error = reply.get("error") if isinstance(reply, dict) else None
        if error:
            return f"error: {one_line(str(error))}"
        return str(reply.get("result", "") if isinstance(reply, dict) else reply)


class RemoteCommands:
    """The commands provided by services under ``namespace``, by command name."""

    def __init__(
        self, service: Service, namespace: str = NAMESPACE, reserved: frozenset[str] = frozenset()
    ) -> None:
        self._service = service
        self._prefix = namespace.rstrip(".") + "."
        self._reserved = reserved
        self._commands: dict[str, RemoteCommand] = {}
        self._watcher: Watcher | None = None
        self._task: asyncio.Task[None] | None = None

    def commands(self) -> list[RemoteCommand]:
        return sorted(self._commands.values(), key=lambda c: c.name)

    async def start(self) -> None:
        """Watch the registry, then pick up the commands already registered."""
        registry = self._service.registry
        self._watcher = registry.watch()
        for entry in await registry.list_services():
            await self.refresh(entry.name)
        self._task = asyncio.create_task(self._follow(self._watcher), name="bot command watch")

    async def _follow(self, watcher: Watcher) -> None:
        async for event in watcher:
            try:
                await self.refresh(event.service.name)
            except Exception:
                log.warning("could not refresh command service %s", event.service.name, exc_info=True)

    async def refresh(self, service: str) -> None:
        """Add or drop the command of ``service`` by what the registry says now."""
        if not service.startswith(self._prefix):
            return
        name = service[len(self._prefix) :]
        try:
            entries = await self._service.registry.get_service(service)
        except errors.NotFound:
            entries = []
        if not any(entry.nodes for entry in entries):
            if self._commands.pop(name, None) is not None:
                log.info("command %s is gone with service %s", name, service)
            return
        if name in self._commands:
            return
        if name in self._reserved:
            log.warning("service %s provides %r, a built-in command's name: ignored", service, name)
            return
        try:
            help = await self._service.client.call(service, "Command.Help", {})
        except (errors.MicroError, OSError) as exc:
            log.warning("service %s did not answer Command.Help (%s): not a command yet", service, exc)
            return
        self._commands[name] = RemoteCommand(
            name, service, str(help.get("usage", "")), str(help.get("description", ""))
        )
        log.info("command %s is provided by service %s", name, service)

    async def close(self) -> None:
        if self._watcher is not None:
            await self._watcher.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


__all__ = ["RemoteCommand", "RemoteCommands"]
