"""Crashes on a real Apache Kafka: a member killed mid-stream, the server restarted."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_broker_kafka import KafkaBroker
from micro_broker_kafka.testing import KafkaServer
from micro_core.testing import EventRecorder
from micro_core.transport import Message

MEMBER = Path(__file__).with_name("member.py")


def handled(logs: list[Path]) -> list[str]:
    return [line for log in logs if log.exists() for line in log.read_text().splitlines()]


async def test_a_killed_member_s_messages_are_handled_by_the_survivors(
    kafka_server: KafkaServer, topic: str, tmp_path: Path
) -> None:
    logs = [tmp_path / f"member-{i}.log" for i in range(3)]
    members = [
        subprocess.Popen(
            [sys.executable, str(MEMBER), kafka_server.address, topic, str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for log in logs
    ]
    try:
        for member in members:
            assert await asyncio.wait_for(asyncio.to_thread(member.stdout.readline), 60) == "ready\n"
        publisher = KafkaBroker(kafka_server.address)
        await publisher.connect()
        sent = [f"m{i}" for i in range(300)]
        for i, body in enumerate(sent):
            await publisher.publish(topic, Message(body=body.encode()))
            if i == 100:
                members[0].kill()  # SIGKILL: no goodbye to the group, no last commit
        await publisher.close()
        deadline = time.monotonic() + 60
        while set(handled(logs)) != set(sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert set(handled(logs)) == set(sent), f"lost {sorted(set(sent) - set(handled(logs)))}"
        assert members[0].poll() is not None and all(m.poll() is None for m in members[1:])
    finally:
        for member in members:
            member.kill()
            member.wait()
            member.stdout.close()


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[KafkaServer]:
    """A server of this test's own, so restarting it disturbs no other test."""
    server = KafkaServer(tmp_path / "kafka").start()
    yield server
    server.stop()


async def test_after_a_server_restart_everything_acknowledged_arrives(own_kafka: KafkaServer) -> None:
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    beating = asyncio.create_task(heartbeat())
    subscriber, publisher = KafkaBroker(own_kafka.address), KafkaBroker(own_kafka.address)
    await subscriber.connect()
    await publisher.connect()
    try:
        recorder = await EventRecorder.subscribe(subscriber, "orders", queue="restart")
        acknowledged = []
        for i in range(20):
            await publisher.publish("orders", Message(body=b"before %d" % i))
            acknowledged.append(b"before %d" % i)
        await recorder.wait(20, timeout=30)

        await asyncio.to_thread(own_kafka.stop)
        publishing = asyncio.create_task(publisher.publish("orders", Message(body=b"during")))
        await asyncio.sleep(2)  # consumers poll and the publisher waits against a dead server
        assert not publishing.done()
        await asyncio.to_thread(own_kafka.start)
        await asyncio.wait_for(publishing, 60)
        acknowledged.append(b"during")
        for i in range(20):
            await publisher.publish("orders", Message(body=b"after %d" % i))
            acknowledged.append(b"after %d" % i)

        deadline = time.monotonic() + 60
        while not set(acknowledged) <= {e.message.body for e in recorder.events}:
            assert time.monotonic() < deadline, "acknowledged messages did not arrive"
            await asyncio.sleep(0.2)
        assert max(gaps) < 0.25, f"the event loop stalled for {max(gaps):.3f}s"
    finally:
        beating.cancel()
        await subscriber.close()
        await publisher.close()
