"""Discovery commands: ``services``, ``describe``, ``register``, ``deregister``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from micro_cli import body
from micro_cli.commands.completion import complete_service
from micro_cli.failures import BAD_INPUT, REGISTRY_UNREACHABLE, Failure
from micro_cli.output import emit, output_option, resolve, to_json
from micro_cli.session import Session

if TYPE_CHECKING:
    from micro_core import Registry
    from micro_core.registry import Service, Value

#: Entries the HTTP broker keeps for its subscriptions (micro's and Go Micro's): plumbing,
#: not services anyone calls, so ``micro services`` shows them only with ``--all``.
INTERNAL = frozenset({"micro.http.broker", "go.micro.http.broker"})


async def reachable_registry(session: Session) -> Registry:
    """The session's registry, for a command that reads it.

    The local registry creates its directory on connect, as a service that registers
    needs; a reading command given a directory that does not exist (a typo, another
    user's ``$XDG_RUNTIME_DIR``) must say so rather than create it and list nothing.
    The default directory may not exist yet: then nothing has registered, and the
    answer is an honest empty list.
    """
    options = session.options
    if options["registry"] == "local" and session.proxy is None:  # through a sidecar: not ours to read
        address, source = options.resolve("registry_address")
        if address and source != "default" and not Path(address).is_dir():
            raise Failure(
                f"cannot reach the local registry at {address}: no such directory", REGISTRY_UNREACHABLE
            )
    return await session.registry()


@click.command()
@click.option("--all", "everything", is_flag=True, help="also the broker's own entries (micro.http.broker)")
@output_option
@click.pass_obj
def services(session: Session, everything: bool, output: str | None) -> None:
    """List the registered services, by name and version."""

    async def work(session: Session) -> list[dict[str, Any]]:
        entries = await (await reachable_registry(session)).list_services()
        shown = [e for e in entries if everything or e.name not in INTERNAL]
        return [
            {"name": e.name, "version": e.version} for e in sorted(shown, key=lambda e: (e.name, e.version))
        ]

    emit(session.run(work), ["name", "version"], output)


def shape(value: Value | None) -> str:
    """``HelloRequest{name string, tags []string}``: a request or response shape on one line."""
    if value is None:
        return "-"
    if not value.values:
        return value.type
    fields = ", ".join(f"{v.name} {shape(v)}" for v in value.values)
    return f"{value.type}{{{fields}}}"


def _describe_text(entries: list[Service]) -> str:
    lines: list[str] = []
    for entry in entries:
        lines.append(f"service  {entry.name}")
        lines.append(f"version  {entry.version or '-'}")
        if entry.metadata:
            lines.append("metadata " + ", ".join(f"{k}={v}" for k, v in sorted(entry.metadata.items())))
        lines.append("nodes")
        for node in entry.nodes:
            meta = ", ".join(f"{k}={v}" for k, v in sorted(node.metadata.items()))
            lines.append(f"  {node.id}  {node.address}  {meta}".rstrip())
        lines.append("endpoints")
        for endpoint in sorted(entry.endpoints, key=lambda e: e.name):
            lines.append(f"  {endpoint.name}({shape(endpoint.request)}) -> {shape(endpoint.response)}")
        lines.append("")
    return "\n".join(lines).rstrip()


@click.command()
@click.argument("service", shell_complete=complete_service)
@output_option
@click.pass_obj
def describe(session: Session, service: str, output: str | None) -> None:
    """Show SERVICE: versions, nodes with address and metadata, endpoints with their shapes."""

    async def work(session: Session) -> list[Service]:
        return await (await reachable_registry(session)).get_service(service)

    entries = session.run(work)
    if resolve(output) == "table":
        click.echo(_describe_text(entries))
    else:
        click.echo(to_json([entry.to_dict() for entry in entries], pretty=True))


def _definition(argument: str | None, data: str | None) -> Service:
    from micro_core.registry import Service

    value = body.read(argument, data)
    if value is None:
        raise Failure(
            "no service definition: give JSON as an argument, with -d @file, or on stdin", BAD_INPUT
        )
    try:
        return Service.from_dict(value)
    except Exception as exc:  # msgspec.ValidationError, without importing msgspec here
        raise Failure(f"not a service definition: {exc}", BAD_INPUT) from None


def _summary(verb: str, entry: Service) -> str:
    version = f" {entry.version}" if entry.version else ""
    return f"{verb} {entry.name}{version}: {len(entry.nodes)} node(s)"


_data_option = click.option(
    "--data", "-d", metavar="JSON|@FILE|-", help="the definition: JSON, @file or - (stdin)"
)


@click.command()
@click.argument("definition", required=False)
@_data_option
@click.option("--ttl", type=float, default=None, help="seconds the entry lives [default: --register-ttl]")
@click.pass_obj
def register(session: Session, definition: str | None, data: str | None, ttl: float | None) -> None:
    """Register a service from its JSON definition (name, version, endpoints, nodes).

    \b
    micro register '{"name": "legacy", "nodes": [{"id": "legacy-1", "address": "10.0.0.5:8080"}]}'
    """
    entry = _definition(definition, data)

    async def work(session: Session) -> None:
        lifetime = session.options["register_ttl"] if ttl is None else ttl
        await (await session.registry()).register(entry, lifetime)

    session.run(work)
    click.echo(_summary("registered", entry))


@click.command()
@click.argument("definition", required=False)
@_data_option
@click.pass_obj
def deregister(session: Session, definition: str | None, data: str | None) -> None:
    """Remove the nodes of a service given as a JSON definition."""
    entry = _definition(definition, data)

    async def work(session: Session) -> None:
        await (await session.registry()).deregister(entry)

    session.run(work)
    click.echo(_summary("deregistered", entry))
