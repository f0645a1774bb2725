"""Pub/sub commands: ``publish`` and ``subscribe``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from micro_cli import body
from micro_cli.failures import BAD_INPUT, Failure
from micro_cli.output import to_json
from micro_cli.session import Session

if TYPE_CHECKING:
    from micro_core import Event


@click.command()
@click.argument("topic")
@click.argument("message", required=False)
@click.option("--data", "-d", metavar="JSON|@FILE|-", help="the message: JSON, @file or - (stdin)")
@click.option("--metadata", "-m", multiple=True, metavar="KEY=VALUE", help="headers sent with the message")
@click.pass_obj
def publish(
    session: Session, topic: str, message: str | None, data: str | None, metadata: tuple[str, ...]
) -> None:
    """Publish a JSON MESSAGE to TOPIC.

    \b
    micro publish greetings '{"name": "Ada"}'
    """
    from micro_cli.commands.rpc import _metadata

    value = body.read(message, data)
    if value is None:
        raise Failure("no message: give JSON as an argument, with -d @file, or on stdin", BAD_INPUT)
    header = _metadata(metadata)

    async def work(session: Session) -> None:
        client = await session.client(discovery=False, broker=True)
        await client.publish(topic, value, metadata=header)

    session.run(work)


def _event_json(event: Event, session: Session) -> str:
    from micro_core import headers
    from micro_core.codec import CodecError

    header = event.message.header
    content_type = header.get(headers.CONTENT_TYPE, session.options["content_type"])
    try:
        message: Any = session.plugins.codec(content_type, session.options).decode(event.message.body)
    except (CodecError, LookupError):
        message = event.message.body
    return to_json({"topic": event.topic, "header": header, "message": message})


@click.command()
@click.argument("topic")
@click.option("--queue", "-q", help="join this queue group: each message goes to one member of the group")
@click.pass_obj
def subscribe(session: Session, topic: str, queue: str | None) -> None:
    """Print the events on TOPIC as JSON lines until interrupted (Ctrl-C or SIGTERM: exit 0)."""

    async def work(session: Session) -> None:
        import asyncio
        import signal

        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)

        async def show(event: Event) -> None:
            click.echo(_event_json(event, session))

        broker = await session.broker()
        subscription = await broker.subscribe(topic, show, queue=queue)
        try:
            await stopping.wait()
        finally:
            await subscription.unsubscribe()

    session.run(work)
