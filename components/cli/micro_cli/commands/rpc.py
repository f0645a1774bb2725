"""Commands that call services: ``call``, ``stream``, ``health``, ``stats``."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from micro_cli import body
from micro_cli.commands.completion import complete_endpoint, complete_service
from micro_cli.commands.registry import reachable_registry
from micro_cli.failures import BAD_INPUT, NOT_FOUND, REMOTE_ERROR, Failure
from micro_cli.output import emit, output_option, resolve, to_json
from micro_cli.session import Session

if TYPE_CHECKING:
    import asyncio

    from micro_core.registry import Endpoint, Service
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


async def check_call(
    session: Session, service: str, endpoint: str, version: str | None, *, streaming: bool
) -> None:
    """What the registry knows about SERVICE, checked before calling it, so that each mistake
    gets its own message instead of a bare 404 or a timeout: a version no node has, an
    endpoint the service does not list (with its endpoints and a did-you-mean), a stream
    endpoint given to ``call``, nodes that speak another transport than this one."""
    entries = await (await reachable_registry(session)).get_service(service)  # NotFound: exit 3
    if version is not None:
        matching = [entry for entry in entries if entry.version == version]
        if not matching:
            versions = ", ".join(sorted(entry.version or '""' for entry in entries))
            raise Failure(f"{service} has no node of version {version} (its versions: {versions})", NOT_FOUND)
        entries = matching
    endpoints = {e.name: e for entry in entries for e in entry.endpoints}
    if endpoints and endpoint not in endpoints:
        raise Failure(_unknown(service, endpoint, endpoints), NOT_FOUND)
    if not streaming and endpoint in endpoints and endpoints[endpoint].metadata.get("stream") == "true":
        raise Failure(
            f"{service} {endpoint} is a stream, for micro stream {service} {endpoint} [JSON]",
            BAD_INPUT,
        )
    ours = session.options["transport"]
    theirs = sorted(
        {node.metadata["transport"] for e in entries for node in e.nodes if "transport" in node.metadata}
    )
    if theirs and ours not in theirs:
        raise Failure(
            f"{service}'s nodes speak {' and '.join(theirs)}, not {ours}: add --transport {theirs[0]}",
            BAD_INPUT,
        )


def _unknown(service: str, endpoint: str, endpoints: dict[str, Endpoint]) -> str:
    by_lower = {name.lower(): name for name in endpoints}
    close = difflib.get_close_matches(endpoint.lower(), by_lower, n=1, cutoff=0.6)
    hint = f"did you mean {by_lower[close[0]]}? " if close else ""
    return f"{service} has no endpoint {endpoint}; {hint}its endpoints: {', '.join(sorted(endpoints))}"


_metadata_option = click.option(
    "--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="metadata sent with the request (repeatable)"
)
_address_option = click.option("--address", metavar="HOST:PORT", help="call this node, skipping discovery")
_version_option = click.option(
    "--version", "version", metavar="VERSION", help="call only nodes of this service version"
)
_service_argument = click.argument("service", shell_complete=complete_service)
_endpoint_argument = click.argument("endpoint", shell_complete=complete_endpoint)


@click.command()
@_service_argument
@_endpoint_argument
@click.argument("request", required=False)
@click.option("--data", "-d", metavar="JSON|@FILE|-", help="the request: JSON, @file or - (stdin)")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="seconds for the call, more than 0 [default: --client-request-timeout]",
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
        if address is None:
            await check_call(session, service, endpoint, version, streaming=False)
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
@_service_argument
@_endpoint_argument
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

        if address is None:
            await check_call(session, service, endpoint, version, streaming=True)
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
    session: Session,
    service: str,
    endpoint: str,
    columns: list[str],
    output: str | None,
    timeout: float,
    readable: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """One row per node; ``readable`` rewrites a row for a table (JSON keeps the raw values)."""
    rows = session.run(lambda s: _each_node(s, service, endpoint, timeout))
    failed = any("error" in row for row in rows)
    shown = [readable(row) for row in rows] if readable and resolve(output) == "table" else rows
    emit(shown, [*columns, "error"] if failed else columns, output)
    if failed:
        raise Failure(f"{sum('error' in row for row in rows)} of {len(rows)} nodes failed", REMOTE_ERROR)


_timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="seconds per node",
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


def duration(seconds: float) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 10s``, ``12s``: the two largest units."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def size(count: float) -> str:
    """``512 B``, ``1.5 KiB``, ``42.0 MiB``, ``1.2 GiB``."""
    units = ["B", "KiB", "MiB", "GiB"]
    power = 0
    while count >= 1024 and power < len(units) - 1:
        count /= 1024
        power += 1
    return f"{count:.0f} B" if power == 0 else f"{count:.1f} {units[power]}"


def _readable_stats(row: dict[str, Any]) -> dict[str, Any]:
    if "error" in row:
        return row
    return {**row, "uptime": duration(row["uptime"]), "memory": size(row["memory"])}


@click.command()
@_service_argument
@output_option
@_timeout_option
@click.pass_obj
def stats(session: Session, service: str, output: str | None, timeout: float) -> None:
    """Call Debug.Stats on every node of SERVICE: uptime, memory, threads, requests, errors.

    A table shows uptime and memory in human units; JSON keeps seconds and bytes.
    """
    columns = ["node", "address", "uptime", "memory", "threads", "gc", "requests", "errors"]
    _report(session, service, "Debug.Stats", columns, output, timeout, _readable_stats)
