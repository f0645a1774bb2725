"""Faults on a real node: a subscriber killed mid-stream, the server frozen or restarted."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from micro_broker_rabbitmq import RabbitMQBroker
from micro_broker_rabbitmq.testing import OpenBroker, RabbitMQServer
from micro_core.broker import BrokerError, Event
from micro_core.transport import Message


class LoopWatch:
    """Measures the longest gap between ticks of a 10 ms timer on the event loop."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self._handle: asyncio.TimerHandle | None = None

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now
        self._handle = asyncio.get_running_loop().call_later(0.01, self._tick)

    def start(self) -> None:
        self._last = time.monotonic()
        self._tick()

    def reset(self) -> None:
        """Measure from now on (connection set-up is not what a test is about)."""
        self.longest, self._last = 0.0, time.monotonic()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


@pytest.fixture
async def loop_watch() -> AsyncIterator[LoopWatch]:
    watch = LoopWatch()
    watch.start()
    yield watch
    watch.stop()


class Received:
    def __init__(self) -> None:
        self.bodies: set[bytes] = set()
        self.changed = asyncio.Event()

    async def handler(self, event: Event) -> None:
        self.bodies.add(event.message.body)
        self.changed.set()

    async def until(self, wanted: set[bytes], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not wanted <= self.bodies:
                self.changed.clear()
                await self.changed.wait()


async def test_frozen_server_does_not_block_the_event_loop(
    rabbitmq_server: RabbitMQServer, open_broker: OpenBroker, topic: str, loop_watch: LoopWatch
) -> None:
    broker = await open_broker()
    received = Received()
    await broker.subscribe(topic, received.handler, queue="workers")
    rabbitmq_server.pause()
    loop_watch.reset()
    try:
        publishes = asyncio.gather(*(broker.publish(topic, Message({}, b"%d" % i)) for i in range(200)))
        await asyncio.sleep(2)  # the confirms cannot come while the server is frozen
        assert not publishes.done()
        assert loop_watch.longest < 0.1, f"the event loop stalled for {loop_watch.longest:.3f}s"
    finally:
        rabbitmq_server.resume()
    await asyncio.wait_for(publishes, 30)
    await received.until({b"%d" % i for i in range(200)}, 30)


async def test_publish_to_a_frozen_server_fails_after_the_timeout(
    rabbitmq_server: RabbitMQServer, open_broker: OpenBroker, topic: str, loop_watch: LoopWatch
) -> None:
    broker = await open_broker(timeout=1.5)
    rabbitmq_server.pause()
    loop_watch.reset()
    try:
        started = time.monotonic()
        with pytest.raises(BrokerError, match=rf"{topic}.*not confirmed within 1.5s"):
            await broker.publish(topic, Message({}, b"stuck"))
        assert 1.4 < time.monotonic() - started < 5
        assert loop_watch.longest < 0.1, f"the event loop stalled for {loop_watch.longest:.3f}s"
    finally:
        rabbitmq_server.resume()
    await broker.publish(topic, Message({}, b"after"))  # the same broker works again


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RabbitMQServer]:
    """A node of this test's own, which it may stop and start."""
    server = RabbitMQServer(tmp_path).start()
    yield server
    server.stop()


async def test_server_restart_loses_nothing_confirmed(own_server: RabbitMQServer) -> None:
    publisher = RabbitMQBroker(own_server.address, timeout=60)
    subscriber = RabbitMQBroker(own_server.address)
    await publisher.connect()
    await subscriber.connect()
    try:
        received = Received()
        await subscriber.subscribe("orders", received.handler, queue="billing")
        confirmed: set[bytes] = set()

        async def publish(count: int) -> None:
            for _ in range(count):
                body = b"order %d" % len(confirmed)
                await publisher.publish("orders", Message({}, body))
                confirmed.add(body)
                await asyncio.sleep(0.005)

        await publish(50)
        restart = asyncio.create_task(asyncio.to_thread(own_server.restart))
        while not restart.done():  # publishing goes on while the node stops and starts
            await publish(1)
        await restart
        await publish(50)
        assert len(confirmed) > 100
        await received.until(confirmed, 60)
    finally:
        await publisher.close()
        await subscriber.close()


async def test_killed_subscriber_leaves_its_messages_to_the_survivors(
    rabbitmq_server: RabbitMQServer, open_broker: OpenBroker, topic: str, tmp_path: Path
) -> None:
    logfile = tmp_path / "victim.log"
    victim = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("subscriber_process.py")),
            rabbitmq_server.address,
            topic,
            "workers",
            str(logfile),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert victim.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(victim.stdout.readline), 30)
        assert line.strip() == b"ready"
        survivor = Received()
        broker = await open_broker(prefetch=5)
        await broker.subscribe(topic, survivor.handler, queue="workers")
        publisher = await open_broker()
        sent = {b"%d" % i for i in range(300)}
        await asyncio.gather(*(publisher.publish(topic, Message({}, body)) for body in sorted(sent)))
        async with asyncio.timeout(30):  # kill it mid-stream, while it holds unacked messages
            while not logfile.exists() or len(logfile.read_bytes().splitlines()) < 10:
                await asyncio.sleep(0.01)
        victim.kill()
        victim.wait(10)
        handled_by_victim = set(logfile.read_bytes().splitlines())
        assert handled_by_victim and handled_by_victim < sent
        await survivor.until(sent - handled_by_victim, 60)
    finally:
        victim.kill()
        victim.wait(10)
        if victim.stdout is not None:
            victim.stdout.close()
