"""Commands that talk to services: ``call``, ``health``, ``stats``, ``publish``."""

from __future__ import annotations

from typing import Any

from micro_bot.commands.base import Command, Request
from micro_bot.commands.registry import decode_json
from micro_bot.endpoints import build_request, field_help, find_endpoint
from micro_bot.formatting import code, table
from micro_core import errors
from micro_core.registry import Node


class Call(Command):
    name = "call"
    pattern = r"call\s+(?P<service>\S+)\s+(?P<endpoint>\S+)(?:\s+(?P<body>.*))?"
    usage = "call <service> <endpoint> [{json} | field=value ... | help]"
    description = "call an endpoint with a JSON body or typed fields (`help` lists them)"

    async def run(self, request: Request) -> str:
        service, body = request.group("service"), request.group("body")
        entries = await request.service.registry.get_service(service)
        endpoints = [e for entry in entries for e in entry.endpoints]
        endpoint = find_endpoint(endpoints, request.group("endpoint"), service)
        if body.lower() in ("help", "?", "--help"):
            return field_help(endpoint)
        value: Any
        if body.startswith(("{", "[")):
            value = decode_json(body, "body")
        else:
            value = build_request(endpoint, request.args[2:])
        return code(await request.service.client.call(service, endpoint.name, value))


async def _each_node(request: Request, endpoint: str) -> list[tuple[Node, Any]]:
    """``endpoint`` called on every node of the named service: (node, reply or the error)."""
    service = request.group("service")
    results: list[tuple[Node, Any]] = []
    for entry in await request.service.registry.get_service(service):
        for node in entry.nodes:
            try:
                reply = await request.service.client.call(service, endpoint, address=node.address, retries=0)
            except (errors.MicroError, OSError) as exc:
                reply = exc
            results.append((node, reply))
    return results


class Health(Command):
    name = "health"
    pattern = r"health\s+(?P<service>\S+)"
    usage = "health <service>"
    description = "ask every node of a service whether it is healthy"

    async def run(self, request: Request) -> str:
        rows = []
        for node, reply in await _each_node(request, "Debug.Health"):
            status = reply.get("status", "?") if isinstance(reply, dict) else f"failing: {reply}"
            rows.append((node.id, node.address, status))
        return table(["node", "address", "status"], rows)


class Stats(Command):
    name = "stats"
    pattern = r"stats\s+(?P<service>\S+)"
    usage = "stats <service>"
    description = "uptime, memory, requests and errors of every node of a service"

    async def run(self, request: Request) -> str:
        rows: list[tuple[Any, ...]] = []
        for node, reply in await _each_node(request, "Debug.Stats"):
            if not isinstance(reply, dict):
                rows.append((node.id, f"failing: {reply}", "", "", ""))
                continue
            memory = f"{reply.get('memory', 0) / 2**20:.1f} MiB"
            rows.append(
                (node.id, f"{reply.get('uptime', 0)}s", memory, reply.get("requests"), reply.get("errors"))
            )
        return table(["node", "uptime", "memory", "requests", "errors"], rows)


class Publish(Command):
    name = "publish"
    pattern = r"publish\s+(?P<topic>\S+)\s+(?P<body>.+)"
    usage = "publish <topic> <json>"
    description = "publish a JSON message to a topic"
    confirm = True

    def describe_change(self, request: Request) -> str:
        decode_json(request.group("body"), "message")  # refuse bad JSON before asking
        return f"publish to `{request.group('topic')}`: {request.group('body')}"

    async def run(self, request: Request) -> str:
        topic = request.group("topic")
        await request.service.client.publish(topic, decode_json(request.group("body"), "message"))
        return f"published to `{topic}`"


__all__ = ["Call", "Health", "Publish", "Stats"]
