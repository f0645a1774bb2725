"""Publish -> consume throughput on a throwaway Kafka: raw kafka-python vs the micro broker.

Run: ``.venv/bin/python plugins/broker-kafka/tests/throughput.py [COUNT]``. Not a test: it
only measures (bounded by COUNT, default 5000 messages of 100 bytes).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from micro_broker_kafka import KafkaBroker
from micro_broker_kafka._kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from micro_broker_kafka.testing import KafkaServer

from micro_core.broker import Event
from micro_core.transport import Message

BODY = b"x" * 100


def raw(address: str, count: int) -> float:
    admin = KafkaAdminClient(bootstrap_servers=address)
    admin.create_topics({"raw": {}}, wait_for_metadata=True)  # the test server does not auto-create
    admin.close()
    consumer = KafkaConsumer("raw", bootstrap_servers=address, group_id="raw", auto_offset_reset="earliest")
    producer = KafkaProducer(bootstrap_servers=address, acks="all")
    producer.send("raw", BODY).get(10)  # creates the topic's metadata; not counted
    while not consumer.poll(200):
        pass
    start = time.perf_counter()
    for _ in range(count):
        producer.send("raw", BODY)
    producer.flush()
    got = 0
    while got < count:
        got += sum(len(records) for records in consumer.poll(500).values())
    elapsed = time.perf_counter() - start
    producer.close()
    consumer.close()
    return count / elapsed


async def through_broker(address: str, count: int) -> float:
    publisher, subscriber = KafkaBroker(address), KafkaBroker(address)
    await publisher.connect()
    await subscriber.connect()
    done = asyncio.Event()
    got = 0

    async def handle(event: Event) -> None:
        nonlocal got
        got += 1
        if got == count:
            done.set()

    await subscriber.subscribe("micro", handle, queue="bench")
    start = time.perf_counter()
    for i in range(0, count, 500):  # 500 publishes in flight at a time
        await asyncio.gather(
            *(publisher.publish("micro", Message({}, BODY)) for _ in range(min(500, count - i)))
        )
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    await subscriber.close()
    await publisher.close()
    return count / elapsed


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        server = KafkaServer(Path(work), partitions=1).start()
        try:
            print(f"raw kafka-python: {raw(server.address, count):8.0f} messages/s")
            print(f"micro broker:     {asyncio.run(through_broker(server.address, count)):8.0f} messages/s")
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
