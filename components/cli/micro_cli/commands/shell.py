"""``micro shell``: an interactive async Python prompt with a connected client.

Every registered service is an object in the prompt's namespace, its endpoints methods
typed from the shapes the service publishes (:mod:`micro_cli.remote`); the prompt is
Python's console with top-level ``await`` (:mod:`micro_cli.console`). Both are imported
only when the command runs, so ``micro --help`` stays cheap.
"""

from __future__ import annotations

from typing import Any

import click

from micro_cli.commands.registry import INTERNAL, reachable_registry
from micro_cli.declared import cache_dir
from micro_cli.failures import INTERRUPTED, Failure, translate
from micro_cli.session import Session


@click.command()
@click.pass_obj
def shell(session: Session) -> None:
    """An async Python prompt with a connected client and every service as an object.

    \b
    >>> await greeter.hello(name="Ada")

    Its endpoints are methods typed from the registry (help() shows them);
    `client` and `registry` are there too, and `await refresh()` reads the registry
    again. Tab completes, the history is kept, Ctrl-D leaves.
    """
    import asyncio

    from micro_cli.console import LoopThread, interact
    from micro_cli.remote import RemoteService, identifier, read_services

    loop = LoopThread()
    try:
        registry = loop.run(reachable_registry(session))
        client = loop.run(session.client())
        services = loop.run(read_services(client, registry, INTERNAL))
    except BaseException as exc:
        loop.run(session.close())
        loop.stop()
        if isinstance(exc, KeyboardInterrupt):
            raise Failure("interrupted", INTERRUPTED) from None
        if session.debug:
            raise
        raise translate(exc, session.describe_registry()) from None

    namespace: dict[str, Any] = {"asyncio": asyncio, "client": client, "registry": registry}

    def expose(found: dict[str, RemoteService]) -> None:
        for name in [n for n, v in namespace.items() if isinstance(v, RemoteService)]:
            del namespace[name]
        namespace["services"] = found
        namespace.update({ident: svc for name, svc in found.items() if (ident := identifier(name))})

    async def refresh() -> dict[str, RemoteService]:
        """Read the registry again: new services appear, gone ones leave."""
        found = await read_services(client, registry, INTERNAL)
        expose(found)
        return found

    expose(services)
    namespace["refresh"] = refresh
    cache_dir().mkdir(parents=True, exist_ok=True)
    listed = "\n".join(f"  {name} = {svc!r}" for name, svc in services.items()) or "  (no services yet)"
    banner = (
        f"micro shell on the {session.describe_registry()}, {len(services)} service(s):\n{listed}\n"
        'Try: await greeter.hello(name="Ada")   Tab completes; await refresh(); Ctrl-D leaves.'
    )
    try:
        interact(namespace, loop, banner, str(cache_dir() / "shell_history"))
    finally:
        loop.run(session.close())
        loop.stop()
