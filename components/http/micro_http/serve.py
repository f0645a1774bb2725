"""From ``micro <flags> api`` to a serving aiohttp app: the kernel connected, SIGTERM handled.

Every HTTP component needs the same start: the global flags (``micro --registry
consul api``) and ``MICRO_*`` variables turned into a connected kernel
:class:`~micro_core.Service` (client, registry, broker), an app listening on an
address, and on SIGTERM or SIGINT a clean stop (no new connections, in-flight
requests finished, then the kernel closed). Components cannot import ``micro_cli``,
so the flags are read duck-typed from the root click context's ``obj.flags``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from functools import partial

import click
from aiohttp import web

from micro_core import Options, Plugins, Service, run
from micro_core.transport.http import split_address
from micro_http.edge import ACCESS_LINES, AccessLines
from micro_http.plugins import http_plugins

#: Seconds a stopping app waits for requests in flight.
SHUTDOWN_GRACE = 10.0
#: Seconds access-log lines may wait in memory before they are written, in one write
#: (see :class:`~micro_http.edge.AccessLines`).
ACCESS_LOG_FLUSH = 0.2

#: Allocations (less deallocations) between young-generation collections once serving.
#: Python's 700 is fewer than the objects 64 requests in flight hold, so collections ran
#: every few requests and promoted them all (measured in micro web: 10-15 us of cyclic GC
#: per proxied request, 8-10% of its CPU per request under wrk at 64 connections).
GC_YOUNG = 10_000

Build = Callable[[Service], Awaitable[web.Application]]


def global_flags(ctx: click.Context) -> dict[str, str]:
    """The ``micro`` command's global flags (option name -> text) from the root context."""
    flags: Mapping[str, str] | None = getattr(ctx.find_root().obj, "flags", None)
    return dict(flags or {})


def kernel(name: str, flags: Mapping[str, str], plugins: Plugins | None = None) -> Service:
    """An unstarted :class:`~micro_core.Service` whose options are ``flags`` > ``MICRO_*`` > defaults.

    :raises click.BadParameter: a flag that does not parse (``--client-retries x``).
    """
    plugins = plugins or http_plugins()
    options = Options()
    plugins.add_options(options)
    declared = {option.name: option for option in options}
    for key, text in flags.items():
        option = declared.get(key)
        if option is None:
            continue  # declared by a plugin that is gone since the CLI cached its flags
        try:
            options.flags[key] = option.parse(text)
        except ValueError as exc:
            raise click.BadParameter(f"{option.flag} {text!r}: {exc}") from None
    return Service(name, plugins=plugins, options=options)


async def serve(
    app: web.Application,
    address: str,
    *,
    on_listening: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``app`` on ``address`` until SIGTERM/SIGINT (or ``stop`` is set), then stop cleanly.

    :param on_listening: called with the bound ``host:port`` (port 0 picks a free one).
    """
    host, port = split_address(address)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE)
    await runner.setup()
    stopping = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        site = web.TCPSite(runner, host or None, port)
        await site.start()
        bound = runner.addresses[0]
        if on_listening is not None:
            on_listening(f"{bound[0]}:{bound[1]}")
        await stopping.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()


def steady_gc() -> None:
    """Collect less often once serving: the start-up's objects (modules, the route table,
    the kernel) frozen out of every collection, the young generation made large enough for
    the requests in flight. :func:`run_component` calls it once the app listens."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, old)


async def _flush_every(lines: AccessLines, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        lines.flush()


def _listening(then: Callable[[str], None] | None, address: str) -> None:
    if then is not None:
        then(address)  # the gateway builds its route table here: frozen with the rest
    steady_gc()


def run_component(
    ctx: click.Context,
    name: str,
    address: str,
    build: Build,
    *,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """The body of an HTTP component's click command: connect, build the app, serve, close.

    :param name: the kernel service's name (the component is a client, it does not register).
    :param build: makes the app from the connected service; its cleanup hooks run at stop.
    :raises click.ClickException: the registry or broker cannot be reached (one line, exit 1).
    """
    logging.basicConfig(
        level=os.environ.get("MICRO_LOG_LEVEL", "INFO").upper(), format="%(name)s: %(message)s"
    )
    service = kernel(name, global_flags(ctx))

    async def main() -> None:
        try:
            await service.connect()
        except ConnectionError as exc:  # RegistryUnavailable, BrokerError: the backend names itself
            raise click.ClickException(f"{name} cannot start: {exc}") from None
        lines = AccessLines(sys.stderr.buffer)
        flusher = asyncio.create_task(_flush_every(lines, ACCESS_LOG_FLUSH))
        try:
            app = await build(service)
            app[ACCESS_LINES] = lines
            await serve(app, address, on_listening=partial(_listening, on_listening))
        finally:
            flusher.cancel()
            lines.flush()
            await service.close()

    run(main())


__all__ = ["GC_YOUNG", "SHUTDOWN_GRACE", "global_flags", "kernel", "run_component", "serve", "steady_gc"]
