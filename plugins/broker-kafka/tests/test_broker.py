"""The Kafka broker on a real Apache Kafka: what a service author sees, one behaviour per test."""

from __future__ import annotations

import asyncio
import time

import pytest

from micro_broker_kafka import KafkaBroker, KafkaEvent
from micro_broker_kafka._kafka import KafkaProducer
from micro_core.broker.base import DEAD_LETTER_REASON, BrokerError, Event
from micro_core.testing import EventRecorder
from micro_core.testing.processes import free_port
from micro_core.transport import Message

from .conftest import BrokerFactory


async def test_a_subscriber_gets_headers_and_body(broker: KafkaBroker, topic: str) -> None:
    recorder = await EventRecorder.subscribe(broker, topic)
    await broker.publish(topic, Message({"Trace-Id": "t-1", "Émoji": "✓"}, b"\x00payload\xff"))
    [event] = await recorder.wait(1)
    assert event.message.body == b"\x00payload\xff"
    assert event.message.header == {"Trace-Id": "t-1", "Émoji": "✓", "Micro-Topic": topic}
    assert isinstance(event, KafkaEvent) and event.offset >= 0


async def test_a_record_from_a_plain_kafka_producer_arrives_as_its_value_and_headers(
    kafka_server, broker: KafkaBroker, topic: str
) -> None:
    recorder = await EventRecorder.subscribe(broker, topic)
    producer = await asyncio.to_thread(KafkaProducer, bootstrap_servers=kafka_server.address)
    try:
        sent = producer.send(
            topic, value=b'{"not": "micro"}', headers=[("Trace-Id", b"t-1"), ("Raw", b"\xff")]
        )
        await asyncio.to_thread(sent.get, 30)
    finally:
        await asyncio.to_thread(producer.close)
    [event] = await recorder.wait(1)
    assert event.message.body == b'{"not": "micro"}'
    assert event.message.header == {"Trace-Id": "t-1", "Raw": "\ufffd", "Micro-Topic": topic}


async def test_a_queue_group_shares_the_messages(broker_factory: BrokerFactory, topic: str) -> None:
    members = [await broker_factory(), await broker_factory()]
    recorders = [await EventRecorder.subscribe(member, topic, queue="workers") for member in members]
    publisher = await broker_factory()
    for i in range(40):
        await publisher.publish(topic, Message({"n": str(i)}))
    deadline = time.monotonic() + 20
    while sum(len(r.events) for r in recorders) < 40 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # nothing more may arrive
    received = [event.message.header["n"] for r in recorders for event in r.events]
    assert sorted(received, key=int) == [str(i) for i in range(40)]
    assert all(r.events for r in recorders), "both members own a partition and get work"


async def test_every_broadcast_subscriber_gets_every_message(
    broker_factory: BrokerFactory, topic: str
) -> None:
    recorders = [await EventRecorder.subscribe(await broker_factory(), topic) for _ in range(3)]
    publisher = await broker_factory()
    for i in range(5):
        await publisher.publish(topic, Message({"n": str(i)}))
    for recorder in recorders:
        events = await recorder.wait(5, timeout=20)
        assert sorted(e.message.header["n"] for e in events) == ["0", "1", "2", "3", "4"]


async def test_a_failed_message_comes_again_and_is_committed_once_handled(
    broker: KafkaBroker, topic: str, committed
) -> None:
    seen: list[str] = []
    handled = asyncio.Event()

    async def flaky(event: Event) -> None:
        seen.append(event.message.header["n"])
        if len(seen) == 1:
            raise RuntimeError("database briefly away")
        handled.set()

    await broker.subscribe(topic, flaky, queue="flaky")
    await broker.publish(topic, Message({"n": "1"}))
    await asyncio.wait_for(handled.wait(), 20)
    assert seen == ["1", "1"]
    async with asyncio.timeout(10):
        while sum((await committed("flaky")).values()) != 1:
            await asyncio.sleep(0.1)


async def test_an_offset_is_committed_only_after_the_handler_returns(
    broker: KafkaBroker, topic: str, committed
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(event: Event) -> None:
        started.set()
        await release.wait()

    await broker.subscribe(topic, slow, queue="slow")
    before = await committed("slow")
    await broker.publish(topic, Message(body=b"work"))
    await asyncio.wait_for(started.wait(), 20)
    await asyncio.sleep(0.5)
    assert await committed("slow") == before, "nothing is committed while the handler runs"
    release.set()
    async with asyncio.timeout(10):
        while sum((await committed("slow")).values()) != sum(before.values()) + 1:
            await asyncio.sleep(0.1)


async def test_explicit_ack_mode_redelivers_what_was_not_acked(broker: KafkaBroker, topic: str) -> None:
    deliveries: list[bytes] = []
    done = asyncio.Event()

    async def handler(event: Event) -> None:
        deliveries.append(event.message.body)
        if event.message.body == b"ack me" or deliveries.count(event.message.body) == 2:
            await event.ack()
        if len(deliveries) == 3:
            done.set()

    await broker.subscribe(topic, handler, auto_ack=False)
    await broker.publish(topic, Message(body=b"ack me"))
    await broker.publish(topic, Message(body=b"forgotten"))
    await asyncio.wait_for(done.wait(), 20)
    await asyncio.sleep(0.5)
    assert sorted(deliveries) == [b"ack me", b"forgotten", b"forgotten"]  # two partitions: any order


async def test_a_poison_message_goes_to_the_dead_letter_topic(
    broker_factory: BrokerFactory, topic: str
) -> None:
    broker = await broker_factory(max_redeliveries=2)
    dead = await EventRecorder.subscribe(broker, topic + ".dlq")
    good = asyncio.Event()
    attempts = 0

    async def handler(event: Event) -> None:
        nonlocal attempts
        if event.message.body == b"poison":
            attempts += 1
            raise ValueError("cannot parse")
        good.set()

    await broker.subscribe(topic, handler, queue="parser")
    await broker.publish(topic, Message({"Order": "42"}, b"poison"))
    await broker.publish(topic, Message(body=b"fine"))
    [parked] = await dead.wait(1, timeout=20)
    await asyncio.wait_for(good.wait(), 20)
    assert attempts == 3, "first delivery plus max_redeliveries"
    assert parked.message.body == b"poison"
    assert parked.message.header["Order"] == "42"
    assert "ValueError: cannot parse" in parked.message.header[DEAD_LETTER_REASON]


async def test_a_handler_may_unsubscribe_itself(broker: KafkaBroker, topic: str) -> None:
    got: list[bytes] = []

    async def once(event: Event) -> None:
        got.append(event.message.body)
        await subscription.unsubscribe()

    subscription = await broker.subscribe(topic, once)
    await broker.publish(topic, Message(body=b"1"))
    async with asyncio.timeout(20):
        while not got:
            await asyncio.sleep(0.05)
    await broker.publish(topic, Message(body=b"2"))
    await asyncio.sleep(1)
    assert got == [b"1"]


async def test_the_event_loop_never_waits_for_kafka(broker_factory: BrokerFactory, topic: str) -> None:
    """A heartbeat on the loop keeps ticking while consumers poll and messages flow."""
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beating = asyncio.create_task(heartbeat())
    recorders = [await EventRecorder.subscribe(await broker_factory(), topic) for _ in range(3)]
    publisher = await broker_factory()
    await asyncio.gather(*(publisher.publish(topic, Message(body=b"%d" % i)) for i in range(200)))
    for recorder in recorders:
        await recorder.wait(200, timeout=30)
    beating.cancel()
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f}s"


# --- bad input: a clear error, nothing lost ----------------------------------------------


async def test_an_invalid_topic_name_is_refused_by_name(broker: KafkaBroker, topic: str) -> None:
    with pytest.raises(BrokerError, match="'no spaces allowed'"):
        await broker.publish("no spaces allowed", Message(body=b"x"))
    with pytest.raises(ValueError, match="non-empty"):
        await broker.publish("", Message(body=b"x"))
    recorder = await EventRecorder.subscribe(broker, topic)
    await broker.publish(topic, Message(body=b"still fine"))
    assert (await recorder.wait(1))[0].message.body == b"still fine"


async def test_a_message_too_large_for_kafka_is_refused_and_the_next_one_goes_through(
    broker: KafkaBroker, topic: str
) -> None:
    recorder = await EventRecorder.subscribe(broker, topic)
    with pytest.raises(BrokerError, match=r"too large|TooLarge"):
        await broker.publish(topic, Message(body=b"x" * 2_000_000))
    await broker.publish(topic, Message(body=b"small"))
    [event] = await recorder.wait(1)
    assert event.message.body == b"small"


async def test_headers_must_be_text(broker: KafkaBroker, topic: str) -> None:
    with pytest.raises(TypeError, match="'Count'"):
        await broker.publish(topic, Message({"Count": 3}, b""))  # type: ignore[dict-item]


def test_a_malformed_address_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"'kafka2' in '127\.0\.0\.1:9092,kafka2'"):
        KafkaBroker("127.0.0.1:9092,kafka2")


async def test_an_unreachable_server_is_a_broker_error_naming_it() -> None:
    address = f"127.0.0.1:{free_port()}"
    broker = KafkaBroker(address, client_config={"bootstrap_timeout_ms": 1000})
    with pytest.raises(BrokerError, match=address):
        await broker.connect()


async def test_publishing_before_connect_says_so(topic: str) -> None:
    with pytest.raises(BrokerError, match="not connected"):
        await KafkaBroker().publish(topic, Message())


async def test_several_bootstrap_servers_one_of_them_down(kafka_server, topic: str) -> None:
    broker = KafkaBroker(f"127.0.0.1:{free_port()}, {kafka_server.address}")
    await broker.connect()
    try:
        recorder = await EventRecorder.subscribe(broker, topic)
        await broker.publish(topic, Message(body=b"via the live one"))
        await recorder.wait(1, timeout=20)
    finally:
        await broker.close()
