"""Commands that call services: ``call``, ``stream``, ``health``, ``stats``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from micro_cli import body
from micro_cli.failures import BAD_INPUT, REMOTE_ERROR, Failure
from micro_cli.output import emit, output_option, to_json
from micro_cli.session import Session

if TYPE_CHECKING:
    import asyncio

    from micro_core.registry import Service
    from micro_core.selector.base import Filter


def _metadata(pairs: Sequence[str]) -> dict[str, str]:
    metadata: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise Failure(f"--metadata {pair!r}: expected KEY=VALUE", BAD_INPUT)
        metadata[key] = value
    return metadata


def _version_filter(version: str | None) -> list[Filter]:
    if version is None:
        return []

    def only(services: list[Service]) -> list[Service]:
        return [service for service in services if service.version == version]

    return [only]


_metadata_option = click.option(
    "--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="metadata sent with the request (repeatable)"
)
_address_option = click.option("--address", metavar="HOST:PORT", help="call this node, skipping discovery")
_version_option = click.option("--version", "version", help="call only nodes of this service version")


@click.command()
@click.argument("service")
@click.argument("endpoint")
@click.argument("request", required=False)
@click.option("--data", "-d", metavar="JSON|@FILE|-", help="the request: JSON, @file or - (stdin)")
@click.option(
    "--timeout", type=float, default=None, help="seconds for the call [default: --client-request-timeout]"
)
@_metadata_option
@_address_option
@_version_option
@click.pass_obj
def call(
    session: Session,
    service: str,
    endpoint: str,
    request: str | None,
    data: str | None,
    timeout: float | None,
    metadata: tuple[str, ...],
    address: str | None,
    version: str | None,
) -> None:
    """Call ENDPOINT (Type.Method) of SERVICE with a JSON REQUEST; print the answer as JSON.

    \b
    micro call greeter Greeter.Hello '{"name": "Ada"}'
    echo '{"name": "Ada"}' | micro call greeter Greeter.Hello
    """
    value = body.read(request, data)
    header = _metadata(metadata)

    async def work(session: Session) -> Any:
        client = await session.client(discovery=address is None)
        return await client.call(
            service,
            endpoint,
            value,
            timeout=timeout,
            metadata=header,
            address=address,
            filters=_version_filter(version),
        )

    click.echo(to_json(session.run(work), pretty=sys.stdout.isatty()))


def _read_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Feed stdin lines to the loop from a daemon thread, so a blocked read never delays exit."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


@click.command()
@click.argument("service")
@click.argument("endpoint")
@click.argument("request", required=False)
@_metadata_option
@_address_option
@_version_option
@click.pass_obj
def stream(
    session: Session,
    service: str,
    endpoint: str,
    request: str | None,
    metadata: tuple[str, ...],
    address: str | None,
    version: str | None,
) -> None:
    """Open a stream to ENDPOINT of SERVICE: send each JSON line of stdin, print each reply as it arrives.

    REQUEST, if given, opens the stream (what a server-streaming endpoint takes);
    the stream's sending side closes at the end of stdin.

    \b
    micro stream counter Counter.Count '{"to": 3}' < /dev/null
    printf '{"text": "a"}\\n{"text": "b"}\\n' | micro stream chat Chat.Echo
    """
    opening = None if request is None else body.parse_json(request, "the argument")
    header = _metadata(metadata)

    async def work(session: Session) -> None:
        import asyncio
        import contextlib
        import threading

        client = await session.client(discovery=address is None)
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        async with client.stream(
            service, endpoint, opening, metadata=header, address=address, filters=_version_filter(version)
        ) as replies:

            async def send() -> None:
                threading.Thread(
                    target=_read_lines, args=(asyncio.get_running_loop(), lines), daemon=True
                ).start()
                number = 0
                while (line := await lines.get()) is not None:
                    number += 1
                    if line.strip():
                        try:
                            value = body.parse_json(line, f"stdin line {number}")
                        except Failure:
                            await replies.close()  # ends the replies too: the bad line is the error
                            raise
                        await replies.send(value)
                await replies.close_send()

            sending = asyncio.create_task(send())
            try:
                try:
                    async for reply in replies:
                        click.echo(to_json(reply))
                except Exception:
                    if not (sending.done() and sending.exception()):
                        raise
                if sending.done():
                    sending.result()  # a bad line is reported rather than how the stream ended
            finally:
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sending

    session.run(work)


async def _each_node(session: Session, service: str, endpoint: str, timeout: float) -> list[dict[str, Any]]:
    """Call ``endpoint`` on every node of ``service`` at once; one row per node, failures included."""
    import asyncio

    registry = await session.registry()
    client = await session.client()
    nodes = [(entry.version, node) for entry in await registry.get_service(service) for node in entry.nodes]

    async def one(version: str, node: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "service": service,
            "version": version,
            "node": node.id,
            "address": node.address,
        }
        try:
            reply = await client.call(service, endpoint, address=node.address, timeout=timeout, retries=0)
        except Exception as exc:
            return {**row, "error": str(exc)}
        return {**row, **reply}

    return list(await asyncio.gather(*(one(version, node) for version, node in nodes)))


def _report(
    session: Session, service: str, endpoint: str, columns: list[str], output: str | None, timeout: float
) -> None:
    rows = session.run(lambda s: _each_node(s, service, endpoint, timeout))
    failed = any("error" in row for row in rows)
    emit(rows, [*columns, "error"] if failed else columns, output)
    if failed:
        raise Failure(f"{sum('error' in row for row in rows)} of {len(rows)} nodes failed", REMOTE_ERROR)


_timeout_option = click.option(
    "--timeout", type=float, default=5.0, show_default=True, help="seconds per node"
)


@click.command()
@click.argument("service")
@output_option
@_timeout_option
@click.pass_obj
def health(session: Session, service: str, output: str | None, timeout: float) -> None:
    """Call Debug.Health on every node of SERVICE: its status and the checks that fail.

    A node is ``ok``, ``not_ready`` (a check failed: callers pass it over) or ``failing``
    (a liveness check failed: restart it). Non-zero exit if any node is not ok or does not answer.
    """
    rows = [
        _failing_checks(row) for row in session.run(lambda s: _each_node(s, service, "Debug.Health", timeout))
    ]
    columns = ["node", "address", "version", "status"]
    columns += [extra for extra in ("failing", "error") if any(extra in row for row in rows)]
    emit(rows, columns, output)
    unwell = sum(row.get("status") != "ok" for row in rows)
    if unwell:
        raise Failure(f"{unwell} of {len(rows)} nodes are not ok", REMOTE_ERROR)


def _failing_checks(row: dict[str, Any]) -> dict[str, Any]:
    """The node's row with its failing checks named: ``database: ConnectionError: refused``."""
    failing = [f"{check['name']}: {check['error']}" for check in row.get("checks", ()) if not check["ok"]]
    return {**row, "failing": "; ".join(failing)} if failing else row


@click.command()
@click.argument("service")
@output_option
@_timeout_option
@click.pass_obj
def stats(session: Session, service: str, output: str | None, timeout: float) -> None:
    """Call Debug.Stats on every node of SERVICE: uptime, memory, threads, requests, errors."""
    columns = ["node", "address", "uptime", "memory", "threads", "gc", "requests", "errors"]
    _report(session, service, "Debug.Stats", columns, output, timeout)
