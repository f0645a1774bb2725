"""The default broker: the conformance suite on the local registry, then real subscriber processes.

Every broker here is a separate ``HTTPBroker`` with its own ``LocalRegistry`` on one
shared directory, exactly what separate processes on one machine hold.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from micro_core.broker.base import Broker, BrokerError, Event
from micro_core.broker.http import BROADCAST, BROKER_SERVICE, HTTPBroker, HTTPSubscription
from micro_core.registry.base import ServiceNotFound
from micro_core.registry.local import LocalRegistry
from micro_core.registry.model import Service
from micro_core.testing.conformance.broker import BrokerConformance, BrokerFactory, Inbox
from micro_core.testing.processes import ServerProcess
from micro_core.transport.base import Message
from micro_core.transport.memory import MemoryTransport

PATIENCE = 20.0


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
async def registries(directory: Path) -> AsyncIterator[Callable[[], LocalRegistry]]:
    """New connected LocalRegistry instances on the shared directory, closed after the test."""
    opened: list[LocalRegistry] = []

    def open_() -> LocalRegistry:
        opened.append(LocalRegistry(str(directory), poll_interval=0.05))
        return opened[-1]

    yield open_
    for registry in opened:
        await registry.close()


class TestHTTPBroker(BrokerConformance):
    confirms_delivery = True

    @pytest.fixture
    def broker_factory(self, registries: Callable[[], LocalRegistry]) -> BrokerFactory:
        async def new() -> Broker:
            registry = registries()
            await registry.connect()
            broker = HTTPBroker(registry)
            await broker.connect()
            return broker

        return new


@pytest.fixture
async def brokers(registries: Callable[[], LocalRegistry]) -> AsyncIterator[Callable[[], HTTPBroker]]:
    opened: list[HTTPBroker] = []

    def open_() -> HTTPBroker:
        opened.append(HTTPBroker(registries()))
        return opened[-1]

    yield open_
    for broker in opened:
        await broker.close()


async def entries(registry: LocalRegistry) -> list[Service]:
    try:
        return await registry.get_service(BROKER_SERVICE)
    except ServiceNotFound:
        return []


# --- registration ------------------------------------------------------------------------------


async def test_each_subscription_is_a_node_of_micro_http_broker(
    brokers: Callable[[], HTTPBroker], registries: Callable[[], LocalRegistry]
) -> None:
    broker, reader = brokers(), registries()
    inbox = Inbox(PATIENCE)
    grouped = await broker.subscribe("orders", inbox.handler, queue="billing")
    await broker.subscribe("orders", inbox.handler)
    found = {service.version: service.nodes for service in await entries(reader)}
    assert set(found) == {"billing", BROADCAST}
    (node,) = found["billing"]
    assert node.id.startswith("orders-")
    assert node.metadata == {"broker": "http", "topic": "orders", "secure": "false", "server": "micro"}
    assert node.address.startswith("127.0.0.1:")
    await grouped.unsubscribe()
    assert [s.version for s in await entries(reader)] == [BROADCAST]
    await broker.close()
    assert await entries(reader) == []


async def test_publisher_reads_the_registry_once_not_per_message(
    brokers: Callable[[], HTTPBroker], directory: Path
) -> None:
    class CountingRegistry(LocalRegistry):
        lookups = 0

        async def get_service(self, name: str) -> list[Service]:
            self.lookups += 1
            return await super().get_service(name)

    inbox = Inbox(PATIENCE)
    await brokers().subscribe("load", inbox.handler)
    registry = CountingRegistry(str(directory))
    publisher = HTTPBroker(registry)
    try:
        for i in range(200):
            await publisher.publish("load", Message({}, b"%d" % i))
    finally:
        await publisher.close()
        await registry.close()
    assert len(inbox.events) == 200
    assert registry.lookups <= 2


async def test_publisher_that_cached_the_list_finds_a_new_subscriber(
    brokers: Callable[[], HTTPBroker],
) -> None:
    first, late = Inbox(PATIENCE), Inbox(PATIENCE)
    publisher = brokers()
    await brokers().subscribe("news", first.handler)
    await publisher.publish("news", Message({}, b"cached"))
    await brokers().subscribe("news", late.handler)

    async def publish_until_seen() -> None:
        for i in range(10_000):  # bounded: the watch sees the new node within a poll or two
            await publisher.publish("news", Message({}, b"%d" % i))
            if late.events:
                return

    await asyncio.wait_for(publish_until_seen(), PATIENCE)
    assert late.events


async def test_failed_publish_names_the_topic_and_the_subscriber(brokers: Callable[[], HTTPBroker]) -> None:
    async def broken(event: Event) -> None:
        raise RuntimeError("disk full")

    subscriber = brokers()
    subscription = await subscriber.subscribe("payments", broken, queue="workers")
    publisher = brokers()
    with pytest.raises(BrokerError) as raised:
        await publisher.publish("payments", Message({}, b"pay"))
    text = str(raised.value)
    assert "payments" in text
    assert isinstance(subscription, HTTPSubscription)
    assert subscription.id in text
    assert "disk full" in text


async def test_bad_settings_are_refused(registries: Callable[[], LocalRegistry]) -> None:
    with pytest.raises(ValueError, match="max_redeliveries"):
        HTTPBroker(registries(), max_redeliveries=-1)
    broker = HTTPBroker(registries())
    with pytest.raises(ValueError, match="queue"):
        await broker.subscribe("t", Inbox(PATIENCE).handler, queue=BROADCAST)
    await broker.close()


async def test_listen_failure_names_the_address(registries: Callable[[], LocalRegistry]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        broker = HTTPBroker(registries(), address)
        with pytest.raises(BrokerError, match=address):
            await broker.subscribe("t", Inbox(PATIENCE).handler)
        await broker.close()


# --- real processes ----------------------------------------------------------------------------

SUBSCRIBER = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from micro_core.broker.http import HTTPBroker
    from micro_core.registry.local import LocalRegistry

    async def main(directory: str, topic: str, queue: str, out: str) -> None:
        registry = LocalRegistry(directory)
        broker = HTTPBroker(registry)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async def handle(event):
            handled.write(event.message.body + b"\\n")

        with open(out + ".tmp", "ab", buffering=0) as handled:
            await broker.subscribe(topic, handle, queue=queue or None)
            os.rename(out + ".tmp", out)  # ready: the test waits for this file
            await stop.wait()
        await broker.close()
        await registry.close()

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.fixture
def subscriber_process(
    directory: Path, tmp_path: Path
) -> Iterator[Callable[[str, str], tuple[ServerProcess, Path]]]:
    """Start a subscriber process on ``topic`` (in ``queue``, "" for broadcast); stopped after the test."""
    started: list[ServerProcess] = []

    def start(topic: str, queue: str) -> tuple[ServerProcess, Path]:
        n = len(started)
        out = tmp_path / f"handled-{n}.txt"
        process = ServerProcess(
            [sys.executable, "-c", SUBSCRIBER, str(directory), topic, queue, str(out)],
            port=0,
            ready=out.exists,
            name=f"subscriber {n}",
        )
        started.append(process)
        return process.start(timeout=30), out

    yield start
    for process in started:
        process.stop()


def handled(out: Path) -> list[bytes]:
    return out.read_bytes().splitlines() if out.exists() else []


@pytest.fixture
async def publisher(registries: Callable[[], LocalRegistry]) -> AsyncIterator[HTTPBroker]:
    broker = HTTPBroker(registries())
    yield broker
    await broker.close()


async def test_queue_group_of_two_processes_gets_each_message_once(
    subscriber_process: Callable[[str, str], tuple[ServerProcess, Path]], publisher: HTTPBroker
) -> None:
    (_, a), (_, b) = subscriber_process("jobs", "workers"), subscriber_process("jobs", "workers")
    sent = [b"job %d" % i for i in range(40)]
    for body in sent:
        await publisher.publish("jobs", Message({}, body))
    # publish returns once a subscriber acked, and a subscriber acks after writing the line
    assert sorted(handled(a) + handled(b)) == sorted(sent)
    assert handled(a) and handled(b), "both members should have taken a share"


async def test_broadcast_reaches_both_processes(
    subscriber_process: Callable[[str, str], tuple[ServerProcess, Path]], publisher: HTTPBroker
) -> None:
    (_, a), (_, b) = subscriber_process("news", ""), subscriber_process("news", "")
    sent = [b"news %d" % i for i in range(10)]
    for body in sent:
        await publisher.publish("news", Message({}, body))
    assert handled(a) == sent
    assert handled(b) == sent


async def test_killed_member_loses_nothing_the_survivor_takes_over(
    subscriber_process: Callable[[str, str], tuple[ServerProcess, Path]], publisher: HTTPBroker
) -> None:
    (victim, victim_out), (_, survivor_out) = (
        subscriber_process("jobs", "workers"),
        subscriber_process("jobs", "workers"),
    )
    sent = [b"job %d" % i for i in range(300)]

    async def publish_all() -> None:
        for body in sent:  # raises if any message could not be delivered
            await publisher.publish("jobs", Message({}, body))

    publishing = asyncio.create_task(publish_all())
    async with asyncio.timeout(PATIENCE):
        while len(handled(victim_out)) < 10:
            await asyncio.sleep(0.005)
    victim.kill()
    assert not publishing.done(), "the stream ended before the kill; nothing was tested"
    await asyncio.wait_for(publishing, PATIENCE)  # the dead node stays registered: the publisher retries
    by_victim, by_survivor = set(handled(victim_out)), set(handled(survivor_out))
    assert len(by_victim) < len(sent)
    assert set(sent) - by_victim <= by_survivor


async def test_any_transport_carries_it(registries: Callable[[], LocalRegistry]) -> None:
    namespace = f"broker-{uuid.uuid4().hex[:8]}"
    subscriber = HTTPBroker(registries(), f"{namespace}:0", transport=MemoryTransport())
    publisher = HTTPBroker(registries(), transport=MemoryTransport())
    inbox = Inbox(PATIENCE)
    try:
        await subscriber.subscribe("t", inbox.handler, queue="q")
        await publisher.publish("t", Message({"Micro-Id": "1", "X-Key": "v"}, b"over memory"))
    finally:
        await publisher.close()
        await subscriber.close()
    (event,) = inbox.events
    assert event.message.body == b"over memory"
    assert event.message.header.items() >= {"Micro-Id": "1", "X-Key": "v"}.items()
