"""Publish -> consume throughput on a throwaway Kafka: raw kafka-python vs the micro broker.

Run: ``.venv/bin/python plugins/broker-kafka/tests/throughput.py [COUNT] [ROUNDS]``. Not a
test: it only measures, bounded by COUNT messages of 100 bytes (default 5000) per round
and ROUNDS alternating rounds of each (default 3); it prints the median of each. Both
sides are timed from a warm start: topic created, its metadata known, the consumer
joined and one message through. The raw loop sends everything, then flushes; micro keeps
500 publishes in flight (each one awaits its acknowledgement).
"""

from __future__ import annotations

import asyncio
import statistics
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
WINDOW = 500


def raw(address: str, topic: str, count: int) -> float:
    admin = KafkaAdminClient(bootstrap_servers=address)
    admin.create_topics({topic: {}}, wait_for_metadata=True)  # the test server does not auto-create
    admin.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=address, group_id=topic, auto_offset_reset="earliest")
    producer = KafkaProducer(bootstrap_servers=address, acks="all")
    producer.send(topic, BODY).get(10)  # fetches the topic's metadata; not counted
    while not consumer.poll(200):
        pass
    start = time.perf_counter()
    for _ in range(count):
        producer.send(topic, BODY)
    producer.flush()
    got = 0
    while got < count:
        got += sum(len(records) for records in consumer.poll(500).values())
    elapsed = time.perf_counter() - start
    producer.close()
    consumer.close()
    return count / elapsed


async def through_broker(address: str, topic: str, count: int) -> float:
    publisher, subscriber = KafkaBroker(address), KafkaBroker(address)
    await publisher.connect()
    await subscriber.connect()
    done = asyncio.Event()
    got = -1  # the warm-up message

    async def handle(event: Event) -> None:
        nonlocal got
        got += 1
        if got == count:
            done.set()

    await subscriber.subscribe(topic, handle, queue=topic)
    await publisher.publish(topic, Message({}, BODY))  # creates the topic, fetches metadata; not counted
    while got < 0:
        await asyncio.sleep(0.01)
    start = time.perf_counter()
    for i in range(0, count, WINDOW):
        await asyncio.gather(
            *(publisher.publish(topic, Message({}, BODY)) for _ in range(min(WINDOW, count - i)))
        )
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - start
    await subscriber.close()
    await publisher.close()
    return count / elapsed


def main(count: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as work:
        server = KafkaServer(Path(work), partitions=1).start()
        try:
            raws, micros = [], []
            for n in range(rounds):
                raws.append(raw(server.address, f"raw{n}", count))
                micros.append(asyncio.run(through_broker(server.address, f"micro{n}", count)))
        finally:
            server.stop()
    rate, ours = statistics.median(raws), statistics.median(micros)
    print(f"raw kafka-python: {rate:8.0f} messages/s  (rounds: {', '.join(f'{r:.0f}' for r in raws)})")
    print(f"micro broker:     {ours:8.0f} messages/s  (rounds: {', '.join(f'{r:.0f}' for r in micros)})")
    print(f"micro / raw:      {ours / rate:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
