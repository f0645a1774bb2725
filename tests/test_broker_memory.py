"""The in-process broker: the conformance suite, plus what only it promises."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from micro_core.broker.base import DEAD_LETTER_SUFFIX, Broker, BrokerError, Event
from micro_core.broker.memory import MemoryBroker
from micro_core.testing.conformance.broker import BrokerConformance, BrokerFactory, Inbox
from micro_core.transport.base import Message


class TestMemoryBroker(BrokerConformance):
    @pytest.fixture
    def broker_factory(self) -> BrokerFactory:
        address = f"test-{uuid.uuid4().hex[:8]}"

        async def new() -> Broker:
            broker = MemoryBroker(address)
            await broker.connect()
            return broker

        return new


PATIENCE = 20.0


@pytest.fixture
def address() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def brokers(address: str) -> AsyncIterator[Callable[..., MemoryBroker]]:
    opened: list[MemoryBroker] = []

    def open_(at: str = address, **settings: int) -> MemoryBroker:
        opened.append(MemoryBroker(at, **settings))
        return opened[-1]

    yield open_
    for broker in opened:
        await broker.close()


async def test_a_different_address_is_a_different_world(brokers: Callable[..., MemoryBroker]) -> None:
    here, elsewhere = Inbox(PATIENCE), Inbox(PATIENCE)
    await brokers().subscribe("t", here.handler)
    await brokers("elsewhere-" + uuid.uuid4().hex).subscribe("t", elsewhere.handler)
    await brokers().publish("t", Message({}, b"hi"))
    await here.count(1)
    assert elsewhere.events == []


async def test_publish_does_not_wait_for_handlers(brokers: Callable[..., MemoryBroker]) -> None:
    gate, inbox = asyncio.Event(), Inbox(PATIENCE)

    async def slow(event: Event) -> None:
        await gate.wait()
        inbox.note(event)

    await brokers().subscribe("t", slow)
    await asyncio.wait_for(brokers().publish("t", Message({}, b"queued")), PATIENCE)
    assert inbox.events == []
    gate.set()
    await inbox.count(1)


async def test_unsubscribing_member_hands_its_queue_to_the_group(
    brokers: Callable[..., MemoryBroker],
) -> None:
    gate, leaving, staying = asyncio.Event(), Inbox(PATIENCE), Inbox(PATIENCE)

    async def stuck(event: Event) -> None:
        await gate.wait()
        leaving.note(event)

    subscription = await brokers().subscribe("t", stuck, queue="q")
    await brokers().subscribe("t", staying.handler, queue="q")
    publisher = brokers()
    for i in range(4):  # members take turns: 0 and 2 wait behind the stuck handler
        await publisher.publish("t", Message({}, b"%d" % i))
    unsubscribing = asyncio.create_task(subscription.unsubscribe())
    await staying.count(3)
    gate.set()
    await asyncio.wait_for(unsubscribing, PATIENCE)
    assert leaving.bodies == [b"0"]
    assert sorted(staying.bodies) == [b"1", b"2", b"3"]


async def test_zero_redeliveries_dead_letters_after_one_try(brokers: Callable[..., MemoryBroker]) -> None:
    tries, dead = Inbox(PATIENCE), Inbox(PATIENCE)

    async def poison(event: Event) -> None:
        tries.note(event)
        raise ValueError("no")

    await brokers(max_redeliveries=0).subscribe("t", poison)
    await brokers().subscribe("t" + DEAD_LETTER_SUFFIX, dead.handler)
    await brokers().publish("t", Message({}, b"x"))
    await dead.count(1)
    assert len(tries.events) == 1


async def test_closed_broker_refuses_clearly(brokers: Callable[..., MemoryBroker], address: str) -> None:
    broker = brokers()
    await broker.close()
    with pytest.raises(BrokerError, match=address):
        await broker.publish("t", Message({}, b"x"))
    with pytest.raises(BrokerError, match=address):
        await broker.subscribe("t", Inbox(PATIENCE).handler)
    with pytest.raises(ValueError, match="max_redeliveries"):
        MemoryBroker(address, max_redeliveries=-1)
