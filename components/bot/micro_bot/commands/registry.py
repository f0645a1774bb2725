"""Commands about what is registered: ``services``, ``describe``, ``register``, ``deregister``."""

from __future__ import annotations

from typing import Any

import msgspec

from micro_bot.commands.base import Command, Request, UsageError
from micro_bot.formatting import table
from micro_core.registry import Service as Entry
from micro_core.registry import Value


def decode_json(text: str, what: str) -> Any:
    """``text`` as JSON; :class:`UsageError` with the decoder's reason when it is not."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise UsageError(f"bad JSON {what}: {exc}") from None


def shape(value: Value | None) -> str:
    """``HelloRequest{name string}``: a request or response shape on one line."""
    if value is None:
        return "-"
    if not value.values:
        return value.type
    return f"{value.type}{{{', '.join(f'{v.name} {shape(v)}' for v in value.values)}}}"


class Services(Command):
    name = "services"
    pattern = r"services|list services"
    usage = "services"
    description = "list the registered services"

    async def run(self, request: Request) -> str:
        entries = await request.service.registry.list_services()
        if not entries:
            return "no services are registered"
        rows = sorted((e.name, e.version or "-") for e in entries)
        return table(["service", "version"], rows)


class Describe(Command):
    name = "describe"
    pattern = r"describe\s+(?P<service>\S+)"
    usage = "describe <service>"
    description = "versions, nodes and endpoints of a service"

    async def run(self, request: Request) -> str:
        lines = []
        for entry in await request.service.registry.get_service(request.group("service")):
            lines.append(f"{entry.name} {entry.version or '-'}")
            lines += [f"  node {node.id} at {node.address}" for node in entry.nodes]
            lines += [
                f"  {e.name}({shape(e.request)}) -> {shape(e.response)}"
                for e in sorted(entry.endpoints, key=lambda e: e.name)
            ]
        return "```\n" + "\n".join(lines) + "\n```"


def _definition(request: Request) -> Entry:
    try:
        return Entry.from_dict(decode_json(request.group("definition"), "definition"))
    except msgspec.ValidationError as exc:
        raise UsageError(f"not a service definition: {exc}") from None


def _summary(entry: Entry) -> str:
    return f"{entry.name} {entry.version or ''} with {len(entry.nodes)} node(s)".replace("  ", " ")


class Register(Command):
    name = "register"
    pattern = r"register\s+(?P<definition>\{.*\})"
    usage = 'register {"name": ..., "nodes": [{"id": ..., "address": ...}]}'
    description = "register a service from its JSON definition"
    admin = True
    confirm = True

    def describe_change(self, request: Request) -> str:
        return f"register {_summary(_definition(request))}"

    async def run(self, request: Request) -> str:
        entry = _definition(request)
        await request.service.registry.register(entry, request.service.options["register_ttl"])
        return f"registered {_summary(entry)}"


class Deregister(Command):
    name = "deregister"
    pattern = r"deregister\s+(?P<definition>\{.*\}|\S+)"
    usage = "deregister <service> | deregister {definition}"
    description = "remove a service's nodes (all of them, given a name) from the registry"
    admin = True
    confirm = True

    async def _entries(self, request: Request) -> list[Entry]:
        if request.group("definition").startswith("{"):
            return [_definition(request)]
        return await request.service.registry.get_service(request.group("definition"))

    def describe_change(self, request: Request) -> str:
        return f"deregister `{request.group('definition')}`"

    async def run(self, request: Request) -> str:
        entries = await self._entries(request)
        for entry in entries:
            await request.service.registry.deregister(entry)
        return "deregistered " + ", ".join(_summary(e) for e in entries)


__all__ = ["Deregister", "Describe", "Register", "Services", "decode_json", "shape"]
