"""``micro completion SHELL``, and the completion of service and endpoint names.

The scripts are click's (bash, zsh, fish); on top of command and flag names, a
SERVICE argument completes from the registry's services and an ENDPOINT argument from
the endpoints of the service before it, asked of the registry the flags on the line
select. Completion must never hang or print an error into the shell, so a registry
that is slow or down simply completes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click
from click.shell_completion import CompletionItem, get_completion_class

from micro_cli.session import Session

if TYPE_CHECKING:
    from micro_core import Registry

#: Seconds a completion may spend asking the registry.
ASK_TIMEOUT = 2.0


@click.command()
@click.argument("shell_name", metavar="SHELL", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell_name: str) -> None:
    """Print the bash, zsh or fish completion script; it completes services and endpoints too.

    \b
    eval "$(micro completion bash)"                        # in ~/.bashrc
    eval "$(micro completion zsh)"                         # in ~/.zshrc
    micro completion fish > ~/.config/fish/completions/micro.fish
    """
    script = get_completion_class(shell_name)
    assert script is not None  # the choice allows only the shells click knows
    click.echo(script(ctx.find_root().command, {}, "micro", "_MICRO_COMPLETE").source())


def _ask(ctx: click.Context, question: Callable[[Registry], Awaitable[list[str]]]) -> list[str]:
    """Ask the registry that the line's global flags select; nothing at all if that fails."""
    root = ctx.find_root()
    flags = {name: str(value) for name, value in root.params.items() if value is not None and name != "debug"}
    session = Session(flags)

    async def work(session: Session) -> list[str]:
        import asyncio

        from micro_cli.commands.registry import reachable_registry  # it imports this module

        async with asyncio.timeout(ASK_TIMEOUT):
            return await question(await reachable_registry(session))

    try:
        return session.run(work)
    except (Exception, click.exceptions.Exit):
        return []


def complete_service(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The registered services whose names start with what was typed."""

    async def names(registry: Registry) -> list[str]:
        return sorted({entry.name for entry in await registry.list_services()})

    return [CompletionItem(name) for name in _ask(ctx, names) if name.startswith(incomplete)]


def complete_endpoint(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The endpoints of the SERVICE given before it on the line."""
    service: Any = ctx.params.get("service")
    if not service:
        return []

    async def endpoints(registry: Registry) -> list[str]:
        return sorted({e.name for entry in await registry.get_service(service) for e in entry.endpoints})

    return [CompletionItem(name) for name in _ask(ctx, endpoints) if name.startswith(incomplete)]
