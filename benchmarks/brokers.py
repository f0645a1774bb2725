"""Brokers: publish N messages and consume them, through micro and through the raw client
doing the same work, in the same run.

Each message is published with the broker's confirmation awaited (at most ``window``
awaiting at once), taken by a queue-group subscriber on a connection of its own,
decoded, and acknowledged after its handler ran. Throughput counts from the first
publish to the last handled message; latency is publish → handler, stamped in the body.
A wide window measures throughput (its latency includes the queue the publishers build
up); a window of one measures the latency of a lone message.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pika  # type: ignore[import-untyped]
from pika.adapters.asyncio_connection import AsyncioConnection  # type: ignore[import-untyped]

from benchmarks.harness import Result, measure, median_round
from micro_core import Options, Service

#: Messages published and consumed before the clock starts: connections, queues, code paths.
WARM_UP = 200
#: Seconds the consumer may lag behind the last publish before a case gives up on it.
GRACE = 10.0


@dataclass(frozen=True)
class Plan:
    messages: int
    window: int
    max_seconds: float
    #: Rounds of each micro-against-raw pair; the median round is reported.
    rounds: int = 1
    size: int = 100


class Stamped(msgspec.Struct):
    """The message: when it was published (``perf_counter``) and padding to the payload size."""

    sent: float
    data: str


def stamped(size: int) -> Stamped:
    return Stamped(time.perf_counter(), "x" * max(0, size - len('{"sent":0.0000000000000,"data":""}')))


class Tally:
    """The consumer side: publish → handler latency of each message, done once ``expected`` arrived."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.expected = 0
        self.last = 0.0
        self.done = asyncio.Event()

    def expect(self, count: int) -> None:
        self.latencies, self.expected, self.last = [], count, 0.0
        self.done.clear()

    def record(self, message: Stamped) -> None:
        self.last = time.perf_counter()
        self.latencies.append(self.last - message.sent)
        if len(self.latencies) >= self.expected:
            self.done.set()


Publish = Callable[[Stamped], Awaitable[object]]


async def _publish(publish: Publish, count: int, plan: Plan, stop_at: float) -> int:
    """``count`` publishes from ``plan.window`` concurrent publishers, stopping at ``stop_at``."""
    remaining = count

    async def publisher() -> None:
        nonlocal remaining
        while remaining > 0 and time.perf_counter() < stop_at:
            remaining -= 1
            await publish(stamped(plan.size))

    await asyncio.gather(*(publisher() for _ in range(plan.window)))
    return count - remaining


async def _round(publish: Publish, tally: Tally, count: int, plan: Plan) -> tuple[int, float, float]:
    """Messages published, seconds until the last was handled, seconds until the last was confirmed."""
    tally.expect(count)
    began = time.perf_counter()
    published = await _publish(publish, count, plan, began + plan.max_seconds)
    publishing = time.perf_counter() - began
    tally.expected = min(tally.expected, published)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            tally.done.wait(), max(0.0, began + plan.max_seconds - time.perf_counter()) + GRACE
        )
    return published, (tally.last or time.perf_counter()) - began, publishing


async def run_case(name: str, publish: Publish, tally: Tally, plan: Plan) -> Result:
    """Warm up, then ``plan.messages`` messages through ``publish`` into ``tally``, bounded in time."""
    await _round(publish, tally, min(WARM_UP, plan.messages), plan)
    published, seconds, publishing = await _round(publish, tally, plan.messages, plan)
    result = measure(
        "broker",
        name,
        len(tally.latencies),
        seconds,
        tally.latencies,
        messages=plan.messages,
        window=plan.window,
    )
    # Near 100%, the consumer kept up and publishing set the pace; well below, the consumer lagged.
    result.note = f"publishing took {publishing / seconds:.0%} of the time" if seconds > 0 else ""
    if len(tally.latencies) < plan.messages:
        result.note = f"bounded: {published} published, {len(tally.latencies)} consumed in time"
    return result


def topic() -> str:
    return f"bench.{uuid.uuid4().hex[:8]}"


async def bench_micro(name: str, environ: dict[str, str], plan: Plan) -> Result:
    """A publishing service and a subscribing one, the broker chosen by ``environ`` as a user would."""
    tally = Tally()
    where = topic()
    with tempfile.TemporaryDirectory() as registry:
        environ = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": registry, **environ}
        consumer = Service("bench-consumer", options=Options(environ=environ))

        async def handle(message: Stamped) -> None:
            tally.record(message)

        consumer.subscribe(where, handle, queue="bench")
        publisher = Service("bench-publisher", options=Options(environ=environ))
        await consumer.start()
        await publisher.connect()
        try:
            return await run_case(f"micro {name}", lambda m: publisher.client.publish(where, m), tally, plan)
        finally:
            await publisher.close()
            await consumer.stop()


class _PikaChannel:
    """One pika connection and channel on the running loop, its callbacks turned into awaitables."""

    def __init__(self, connection: Any, channel: Any) -> None:
        self.connection = connection
        self.channel = channel
        self.closed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        connection.add_on_close_callback(self._on_closed)

    def _on_closed(self, _connection: Any, reason: Exception) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)

    @classmethod
    async def open(cls, address: str) -> _PikaChannel:
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[Any] = loop.create_future()
        connection = AsyncioConnection(
            pika.URLParameters(address),
            on_open_callback=lambda c: c.channel(on_open_callback=opened.set_result),
            on_open_error_callback=lambda _c, error: opened.set_exception(ConnectionError(error)),
            custom_ioloop=loop,
        )
        channel = await asyncio.wait_for(opened, 30)
        return cls(connection, channel)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A synchronous AMQP method (declare, bind, qos…): its reply frame."""
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        getattr(self.channel, method)(*args, callback=reply.set_result, **kwargs)
        return await asyncio.wait_for(reply, 30)

    async def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
        await asyncio.wait_for(self.closed, 30)


async def bench_raw_pika(address: str, plan: Plan) -> Result:
    """The same work with pika alone: confirm-mode publishes, a durable queue, manual acks."""
    tally = Tally()
    exchange, where = "bench-raw", topic()
    publisher = await _PikaChannel.open(address)
    consumer = await _PikaChannel.open(address)
    unconfirmed: dict[int, asyncio.Future[None]] = {}
    published = 0

    def on_confirm(frame: Any) -> None:
        method = frame.method
        tags = (
            [t for t in unconfirmed if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        )
        for tag in tags:
            future = unconfirmed.pop(tag)
            if isinstance(method, pika.spec.Basic.Ack):
                future.set_result(None)
            else:
                future.set_exception(ConnectionError("RabbitMQ refused a message"))

    def on_message(channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        tally.record(msgspec.json.decode(body, type=Stamped))
        channel.basic_ack(method.delivery_tag)

    persistent = pika.BasicProperties(delivery_mode=pika.spec.PERSISTENT_DELIVERY_MODE)

    async def publish(message: Stamped) -> None:
        nonlocal published
        publisher.channel.basic_publish(exchange, where, msgspec.json.encode(message), persistent)
        published += 1
        confirmed = unconfirmed[published] = asyncio.get_running_loop().create_future()
        await confirmed

    try:
        await publisher.call("confirm_delivery", on_confirm)
        await publisher.call("exchange_declare", exchange, exchange_type="topic", durable=True)
        await consumer.call("basic_qos", prefetch_count=32)  # as micro's RabbitMQ driver
        await consumer.call("queue_declare", f"{where}:bench", durable=True)
        await consumer.call("queue_bind", f"{where}:bench", exchange, routing_key=where)
        await consumer.call("basic_consume", f"{where}:bench", on_message)
        return await run_case("raw pika", publish, tally, plan)
    finally:
        await publisher.close()
        await consumer.close()


Bench = Callable[[str, Plan], Awaitable[Result]]


async def against_raw(raw_bench: Bench, broker: str, address: str, plans: Sequence[Plan]) -> list[Result]:
    """For each plan, the raw client's case and micro's in alternating rounds (noise hits both),
    the median round of each reported, micro's rate and p50 as ratios to the raw ones."""
    environ = {"MICRO_BROKER": broker, "MICRO_BROKER_ADDRESS": address}
    results: list[Result] = []
    for plan in plans:
        raws: list[Result] = []
        micros: list[Result] = []
        for _ in range(plan.rounds):
            raws.append(await raw_bench(address, plan))
            micros.append(await bench_micro(broker, environ, plan))
        raw, micro = median_round(raws), median_round(micros)
        micro.ratios[raw.name] = micro.rate / raw.rate if raw.rate else 0.0
        if raw.p50_ms:
            micro.ratios[f"p50 / {raw.name} p50"] = micro.p50_ms / raw.p50_ms
        results += [raw, micro]
    return results


async def rabbitmq_cases(address: str, plans: Sequence[Plan]) -> list[Result]:
    return await against_raw(bench_raw_pika, "rabbitmq", address, plans)


async def builtin_cases(plans: Sequence[Plan]) -> list[Result]:
    """The kernel's own brokers, nothing to compare with: reported for scale."""
    return [
        await bench_micro(broker, {"MICRO_BROKER": broker}, plan)
        for plan in plans
        for broker in ("memory", "http")
    ]


def _kafka_consume(
    address: str, where: str, tally: Tally, loop: asyncio.AbstractEventLoop, stop: threading.Event
) -> None:
    """A consumer-group member: poll, have the loop handle the batch, commit once it has.

    Committing only after the handlers ran is what makes delivery at-least-once, as
    micro's driver does; the loop is where an asyncio service's handlers run.
    """
    from kafka import KafkaConsumer  # type: ignore[import-untyped]

    async def handle(values: list[bytes]) -> None:
        for value in values:
            tally.record(msgspec.json.decode(value, type=Stamped))

    consumer = KafkaConsumer(
        where,
        bootstrap_servers=address,
        group_id="bench",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=200)
            if batches:
                values = [record.value for records in batches.values() for record in records]
                asyncio.run_coroutine_threadsafe(handle(values), loop).result()
                consumer.commit()
    finally:
        consumer.close()


async def bench_raw_kafka(address: str, plan: Plan) -> Result:
    """The same work with kafka-python alone: ``acks=all`` sends, a group member committing after handling."""
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic  # type: ignore[import-untyped]

    tally, where, loop = Tally(), topic(), asyncio.get_running_loop()
    admin = KafkaAdminClient(bootstrap_servers=address)
    admin.create_topics([NewTopic(where, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=address, acks="all")
    stop = threading.Event()
    consumer = loop.run_in_executor(None, _kafka_consume, address, where, tally, loop, stop)

    async def publish(message: Stamped) -> None:
        written: asyncio.Future[object] = loop.create_future()
        sent = producer.send(where, value=msgspec.json.encode(message))
        sent.add_callback(lambda metadata: loop.call_soon_threadsafe(written.set_result, metadata))
        sent.add_errback(lambda error: loop.call_soon_threadsafe(written.set_exception, error))
        await written

    try:
        return await run_case("raw kafka-python", publish, tally, plan)
    finally:
        stop.set()
        await consumer
        await loop.run_in_executor(None, producer.close)


async def kafka_cases(address: str, plans: Sequence[Plan]) -> list[Result]:
    return await against_raw(bench_raw_kafka, "kafka", address, plans)
