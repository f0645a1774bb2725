"""RabbitMQ specifics on a real node: addresses, dead-letter queues, foreign and bad headers, speed."""

from __future__ import annotations

import asyncio
import time

import pika  # type: ignore[import-untyped]
import pytest

from micro_broker_rabbitmq import RabbitMQBroker
from micro_broker_rabbitmq.testing import OpenBroker, RabbitMQServer
from micro_core.broker import BrokerError, Event
from micro_core.broker.base import DEAD_LETTER_REASON
from micro_core.testing.processes import free_port
from micro_core.transport import Message


class Inbox:
    def __init__(self) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()

    async def handler(self, event: Event) -> None:
        await self.events.put(event)

    async def next(self) -> Event:
        return await asyncio.wait_for(self.events.get(), 20)


async def test_unreachable_server_is_named_without_its_password() -> None:
    port = free_port()
    broker = RabbitMQBroker(f"amqp://app:s3cret@127.0.0.1:{port}/orders", timeout=5)
    with pytest.raises(BrokerError, match=rf"127\.0\.0\.1:{port}/orders") as caught:
        await broker.connect()
    assert "s3cret" not in str(caught.value)
    with pytest.raises(BrokerError, match="not connected"):
        await broker.publish("t", Message({}, b"x"))


async def test_wrong_credentials_are_refused(rabbitmq_server: RabbitMQServer) -> None:
    broker = RabbitMQBroker(f"amqp://guest:wrong@127.0.0.1:{rabbitmq_server.port}/", timeout=10)
    with pytest.raises(BrokerError, match=f"127.0.0.1:{rabbitmq_server.port}"):
        await broker.connect()


@pytest.mark.parametrize("address", ["http://127.0.0.1:5672/", "amqp://", "amqp://host:99999/"])
def test_malformed_address_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="RabbitMQ address"):
        RabbitMQBroker(address)


def test_address_carries_vhost_and_tls() -> None:
    broker = RabbitMQBroker("amqps://u:p%40ss@mq.example:5999/prod%2Feu")
    assert (broker.parameters.host, broker.parameters.port) == ("mq.example", 5999)
    assert broker.parameters.virtual_host == "prod/eu"
    assert broker.parameters.credentials.password == "p@ss"
    assert broker.parameters.ssl_options is not None
    assert RabbitMQBroker().parameters.virtual_host == "/"


async def test_dead_letters_are_kept_in_a_durable_queue(
    rabbitmq_server: RabbitMQServer, open_broker: OpenBroker, topic: str
) -> None:
    tries = 0

    async def poison(event: Event) -> None:
        nonlocal tries
        tries += 1
        raise ValueError("bad order")

    broker = await open_broker(max_redeliveries=1)
    await broker.subscribe(topic, poison, queue="billing")
    await broker.publish(topic, Message({"X-Order": "7"}, b"poison"))
    dlq = f"{topic}.dlq"

    async def parked() -> int:
        listed = await asyncio.to_thread(rabbitmq_server.ctl, "list_queues", "name", "messages", "--quiet")
        return next(
            (int(n) for name, n in (line.split() for line in listed.stdout.splitlines()) if name == dlq), 0
        )

    async with asyncio.timeout(20):
        while await parked() < 1:
            await asyncio.sleep(0.2)
    assert tries == 2

    def read_parked() -> tuple[dict[str, str], bytes]:
        connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.address))
        try:
            _method, properties, body = connection.channel().basic_get(dlq, auto_ack=True)
            return properties.headers, body
        finally:
            connection.close()

    # An operator (or a shovel) reads the dead letters later: the message, why, and no internals.
    header, body = await asyncio.to_thread(read_parked)
    assert body == b"poison"
    assert header["X-Order"] == "7"
    assert "bad order (2 deliveries)" in header[DEAD_LETTER_REASON]
    assert header["Micro-Topic"] == dlq
    assert not {"Micro-Redeliveries", "Micro-Failed-By"} & header.keys()


async def test_headers_from_other_amqp_clients_arrive_as_text(
    rabbitmq_server: RabbitMQServer, open_broker: OpenBroker, topic: str
) -> None:
    inbox = Inbox()
    broker = await open_broker()
    await broker.subscribe(topic, inbox.handler)
    foreign = {
        "count": 3,
        "flag": True,
        "nested": {"a": 1},
        "list": [1, "two"],
        "raw": b"\xff\xfe",
        "none": None,
        "Micro-Redeliveries": "not a number",
    }

    def send() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.address))
        try:
            properties = pika.BasicProperties(headers=foreign)
            connection.channel().basic_publish("micro", topic, b"from elsewhere", properties)
        finally:
            connection.close()

    await asyncio.to_thread(send)
    event = await inbox.next()
    assert event.message.body == b"from elsewhere"
    assert event.message.header["count"] == "3"
    assert event.message.header["flag"] == "True"
    assert event.message.header["raw"] == "\ufffd\ufffd"
    assert "Micro-Redeliveries" not in event.message.header
    assert event.topic == topic


async def test_oversized_and_bad_headers_are_refused_and_the_broker_goes_on(
    open_broker: OpenBroker, topic: str
) -> None:
    inbox = Inbox()
    broker = await open_broker()
    await broker.subscribe(topic, inbox.handler)
    with pytest.raises(BrokerError, match="do not fit"):
        await broker.publish(topic, Message({"X-Huge": "x" * 300_000}, b"big"))
    with pytest.raises(ValueError, match="header name"):
        await broker.publish(topic, Message({"X" * 300: "v"}, b"long name"))
    with pytest.raises(ValueError, match="topic"):
        await broker.publish("t" * 300, Message({}, b"long topic"))
    await broker.publish(topic, Message({"X-Fine": "yes"}, b"good"))
    event = await inbox.next()
    assert (event.message.body, event.message.header["X-Fine"]) == (b"good", "yes")
    assert inbox.events.empty()


async def test_queue_group_messages_wait_for_a_member(open_broker: OpenBroker, topic: str) -> None:
    first = await open_broker()
    subscription = await first.subscribe(topic, Inbox().handler, queue="billing")
    await subscription.unsubscribe()
    await first.publish(topic, Message({}, b"kept"))  # no member now: the durable queue holds it
    inbox = Inbox()
    await (await open_broker()).subscribe(topic, inbox.handler, queue="billing")
    assert (await inbox.next()).message.body == b"kept"


async def test_confirmed_publishes_are_pipelined(open_broker: OpenBroker, topic: str) -> None:
    broker = await open_broker()
    await broker.subscribe(topic, Inbox().handler, queue="sink")  # persistent messages into a queue
    body = b"x" * 200
    started = time.perf_counter()
    for _ in range(500):
        await broker.publish(topic, Message({"X-N": "1"}, body))
    one_by_one = 500 / (time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(*(broker.publish(topic, Message({"X-N": "1"}, body)) for _ in range(5000)))
    pipelined = 5000 / (time.perf_counter() - started)
    print(f"rabbitmq publish: {one_by_one:.0f} msg/s one by one, {pipelined:.0f} msg/s pipelined")
    assert pipelined > 2000
    assert pipelined > 2 * one_by_one, "confirms are not shared between publishes"
