"""The broker conformance suite: what every broker driver must do, tested the same way.

A driver's tests subclass :class:`BrokerConformance` and override ``broker_factory``:
an async factory that returns a new, connected broker on the same backend as the
others, as a separate process would hold. Subscribers and the publisher each get their
own instance; the suite closes every broker it opens::

    class TestRabbitMQBroker(BrokerConformance):
        @pytest.fixture
        def broker_factory(self, rabbitmq_server):
            async def new() -> Broker:
                broker = RabbitMQBroker(rabbitmq_server.url)
                await broker.connect()
                return broker
            return new

The broker-wide rules it checks: at-least-once delivery; a queue group gets each
message once, a subscriber without a queue gets every message; headers survive; a
message that is not acked is delivered again, at most ``broker.max_redeliveries``
times, then published to ``<topic>.dlq`` with ``Micro-Dead-Letter-Reason``; one
publisher's messages keep their order (``ordered = False`` opts out); a message that
one queue-group member fails goes to another member (``redelivers_to_other_members =
False`` opts out: then the failing member retries it and dead-letters it, and nothing
is lost). Every test uses
topics of its own, so a backend may be shared between tests.
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from micro_core import errors, headers
from micro_core.broker.base import DEAD_LETTER_REASON, DEAD_LETTER_SUFFIX, Broker, BrokerError, Event
from micro_core.transport.base import Message

BrokerFactory = Callable[[], Awaitable[Broker]]


class Inbox:
    """What one subscriber was handed, in order; tests wait on it with a bounded timeout."""

    def __init__(self, patience: float, changed: asyncio.Event | None = None) -> None:
        self.events: list[Event] = []
        self.patience = patience
        #: Set on every delivery; inboxes that share it let a test wait on several at once.
        self._changed = changed or asyncio.Event()

    def note(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def handler(self, event: Event) -> None:
        """A handler that takes everything."""
        self.note(event)

    @property
    def bodies(self) -> list[bytes]:
        return [event.message.body for event in self.events]

    async def until(self, done: Callable[[], bool], what: str) -> None:
        """Wait until ``done()``; fail naming ``what`` after ``patience`` seconds."""
        try:
            async with asyncio.timeout(self.patience):
                while not done():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"{what}: not seen within {self.patience}s; got {self.bodies!r}") from None

    async def count(self, n: int) -> None:
        await self.until(lambda: len(self.events) >= n, f"{n} messages")


class BrokerConformance:
    """Subclass and override the ``broker_factory`` fixture."""

    #: False for a driver that cannot keep one publisher's order within a topic.
    ordered = True
    #: False for a driver whose messages belong to one member (Kafka: the partition's owner),
    #: so a member whose handler fails retries and then dead-letters them itself.
    redelivers_to_other_members = True
    #: True for a driver whose ``publish`` waits for the handlers and raises BrokerError on failure.
    confirms_delivery = False
    #: Seconds to wait for a delivery: generous, test machines are busy.
    patience = 20.0

    @pytest.fixture
    def broker_factory(self) -> BrokerFactory:
        raise NotImplementedError("override the broker_factory fixture")

    @pytest.fixture
    async def open_broker(self, broker_factory: BrokerFactory) -> AsyncIterator[BrokerFactory]:
        """``broker_factory``, with every broker it made closed after the test."""
        opened: list[Broker] = []

        async def open_() -> Broker:
            opened.append(await broker_factory())
            return opened[-1]

        yield open_
        for broker in reversed(opened):
            await broker.close()

    @pytest.fixture
    async def publisher(self, open_broker: BrokerFactory) -> Broker:
        return await open_broker()

    @pytest.fixture
    def topic(self) -> str:
        return f"conformance.{uuid.uuid4().hex[:8]}"

    def inbox(self) -> Inbox:
        """A new inbox; all of one test's inboxes wake a waiter on any of them."""
        if not hasattr(self, "_changed"):
            self._changed = asyncio.Event()
        return Inbox(self.patience, self._changed)

    async def publish_all(self, publisher: Broker, topic: str, count: int) -> list[bytes]:
        bodies = [f"message {i}".encode() for i in range(count)]
        for body in bodies:
            await publisher.publish(topic, Message({}, body))
        return bodies

    async def all_handled(self, members: list[Inbox], count: int) -> None:
        """Wait until the members of a group handled ``count`` messages between them."""
        await members[0].until(lambda: sum(len(m.events) for m in members) >= count, f"{count} messages")

    # --- delivery ------------------------------------------------------------------------

    async def test_round_trip_keeps_body_and_headers(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        inbox = self.inbox()
        await (await open_broker()).subscribe(topic, inbox.handler)
        header = {"X-Trace": "abc 123", headers.ID: "m-1", headers.CONTENT_TYPE: "application/json"}
        await publisher.publish(topic, Message(dict(header), b'{"n": 1}'))
        await inbox.count(1)
        (event,) = inbox.events
        assert event.topic == topic
        assert event.message.body == b'{"n": 1}'
        assert event.message.header.items() >= header.items()
        assert event.message.header[headers.TOPIC] == topic

    async def test_publish_without_subscribers_returns(self, publisher: Broker, topic: str) -> None:
        await asyncio.wait_for(publisher.publish(topic, Message({}, b"nobody")), self.patience)

    async def test_queue_group_gets_each_message_exactly_once(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        members = [self.inbox() for _ in range(3)]
        for member in members:
            await (await open_broker()).subscribe(topic, member.handler, queue="workers")
        sent = await self.publish_all(publisher, topic, 30)
        await self.all_handled(members, len(sent))
        handled = [body for member in members for body in member.bodies]
        assert sorted(handled) == sorted(sent)
        assert sum(1 for member in members if member.events) >= 2, "the group did not share the work"

    async def test_broadcast_reaches_every_subscriber(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        subscribers = [self.inbox() for _ in range(3)]
        for subscriber in subscribers:
            await (await open_broker()).subscribe(topic, subscriber.handler)
        sent = await self.publish_all(publisher, topic, 5)
        for subscriber in subscribers:
            await subscriber.count(len(sent))
            assert sorted(subscriber.bodies) == sorted(sent)

    async def test_each_queue_group_gets_every_message(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        groups = {"billing": [self.inbox(), self.inbox()], "audit": [self.inbox(), self.inbox()]}
        for queue, members in groups.items():
            for member in members:
                await (await open_broker()).subscribe(topic, member.handler, queue=queue)
        sent = await self.publish_all(publisher, topic, 10)
        for queue, members in groups.items():
            await self.all_handled(members, len(sent))
            assert sorted(body for member in members for body in member.bodies) == sorted(sent), queue

    async def test_order_of_one_publisher_is_kept(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        if not self.ordered:
            pytest.skip(f"{type(self).__name__} declares ordered = False")
        inbox = self.inbox()
        await (await open_broker()).subscribe(topic, inbox.handler)
        sent = await self.publish_all(publisher, topic, 50)
        await inbox.count(len(sent))
        assert inbox.bodies == sent

    async def test_unsubscribe_stops_delivery(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        leaving, staying = self.inbox(), self.inbox()
        subscription = await (await open_broker()).subscribe(topic, leaving.handler)
        await (await open_broker()).subscribe(topic, staying.handler)
        await publisher.publish(topic, Message({}, b"before"))
        await leaving.count(1)
        await subscription.unsubscribe()
        await publisher.publish(topic, Message({}, b"after"))
        await staying.until(lambda: b"after" in staying.bodies, "the message after unsubscribe")
        assert leaving.bodies == [b"before"]

    # --- failures and acknowledgement ----------------------------------------------------

    async def test_handler_that_raises_gets_the_message_again(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        inbox = self.inbox()
        tries: collections.Counter[bytes] = collections.Counter()

        async def flaky(event: Event) -> None:
            tries[event.message.body] += 1
            if tries[event.message.body] <= 2:
                raise RuntimeError("not yet")
            inbox.note(event)

        await (await open_broker()).subscribe(topic, flaky, queue="flaky")
        sent = await self.publish_all(publisher, topic, 5)
        await inbox.count(len(sent))
        assert sorted(inbox.bodies) == sorted(sent)
        assert all(tries[body] == 3 for body in sent), tries

    async def test_failing_member_leaves_the_message_to_the_group(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        working, failed = self.inbox(), self.inbox()

        async def broken(event: Event) -> None:
            failed.note(event)
            raise RuntimeError("this member is broken")

        broken_member = await open_broker()
        await broken_member.subscribe(topic, broken, queue="workers")
        await (await open_broker()).subscribe(topic, working.handler, queue="workers")
        dead = self.inbox()
        await (await open_broker()).subscribe(topic + DEAD_LETTER_SUFFIX, dead.handler)
        sent = await self.publish_all(publisher, topic, 10)
        if self.redelivers_to_other_members:
            await working.count(len(sent))
            assert sorted(working.bodies) == sorted(sent)
            assert dead.events == []
            return
        # The broken member keeps what it was given: retried there, then dead-lettered.
        await working.until(lambda: len(working.events) + len(dead.events) >= len(sent), "every message")
        assert sorted(working.bodies + dead.bodies) == sorted(sent), "each message handled or parked once"
        tries = 1 + broken_member.max_redeliveries
        assert all(failed.bodies.count(body) == tries for body in dead.bodies), failed.bodies

    async def test_unacked_message_is_delivered_again_in_explicit_ack_mode(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        seen = self.inbox()
        acked = self.inbox()

        async def acks_second_time(event: Event) -> None:
            seen.note(event)
            if seen.bodies.count(event.message.body) >= 2:
                await event.ack()
                acked.note(event)

        await (await open_broker()).subscribe(topic, acks_second_time, auto_ack=False)
        await publisher.publish(topic, Message({}, b"ack me later"))
        await acked.count(1)
        await publisher.publish(topic, Message({}, b"marker"))
        await acked.until(lambda: b"marker" in acked.bodies, "the marker message")
        assert seen.bodies.count(b"ack me later") == 2

    async def test_exhausted_redeliveries_go_to_the_dead_letter_topic(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        tries = self.inbox()

        async def poison(event: Event) -> None:
            tries.note(event)
            raise ValueError("cannot handle this")

        subscriber = await open_broker()
        await subscriber.subscribe(topic, poison, queue="workers")
        dead = self.inbox()
        await (await open_broker()).subscribe(topic + DEAD_LETTER_SUFFIX, dead.handler)
        message = Message({"X-Order": "42"}, b"poison")
        if self.confirms_delivery:
            with pytest.raises(BrokerError, match=topic):
                await publisher.publish(topic, message)
        else:
            await publisher.publish(topic, message)
        await dead.count(1)
        (parked,) = dead.events
        assert parked.topic == topic + DEAD_LETTER_SUFFIX
        assert parked.message.body == b"poison"
        assert parked.message.header["X-Order"] == "42"
        assert "cannot handle this" in parked.message.header[DEAD_LETTER_REASON]
        assert len(tries.events) == 1 + subscriber.max_redeliveries

    async def test_a_rejected_message_goes_to_the_dead_letter_topic_at_once(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        """A handler that refuses the message itself (it does not decode: BadRequest) will
        refuse every redelivery too: it is dead-lettered after one delivery, with the reason."""
        tries = self.inbox()

        async def strict(event: Event) -> None:
            tries.note(event)
            raise errors.BadRequest("not an order: missing field 'sku'")

        subscriber = await open_broker()
        await subscriber.subscribe(topic, strict, queue="workers")
        dead = self.inbox()
        await (await open_broker()).subscribe(topic + DEAD_LETTER_SUFFIX, dead.handler)
        if self.confirms_delivery:
            with pytest.raises(errors.BadRequest, match="rejected"):
                await publisher.publish(topic, Message({}, b"garbage"))
        else:
            await publisher.publish(topic, Message({}, b"garbage"))
        await dead.count(1)
        assert "missing field 'sku'" in dead.events[0].message.header[DEAD_LETTER_REASON]
        assert len(tries.events) == 1

    # --- bad input -----------------------------------------------------------------------

    async def test_bad_topic_or_headers_are_refused_and_lose_nothing(
        self, open_broker: BrokerFactory, publisher: Broker, topic: str
    ) -> None:
        inbox = self.inbox()
        subscriber = await open_broker()
        with pytest.raises(ValueError, match="topic"):
            await subscriber.subscribe("", inbox.handler)
        await subscriber.subscribe(topic, inbox.handler)
        with pytest.raises(ValueError, match="topic"):
            await publisher.publish(" ", Message({}, b"no topic"))
        with pytest.raises(ValueError, match="X-Bad"):
            await publisher.publish(topic, Message({"X-Bad": "line\r\nX-Injected: 1"}, b"bad header"))
        with pytest.raises(TypeError, match="X-Number"):
            await publisher.publish(topic, Message({"X-Number": 1}, b"bad value"))  # type: ignore[dict-item]
        await publisher.publish(topic, Message({}, b"good"))
        await inbox.until(lambda: b"good" in inbox.bodies, "the good message")
        assert inbox.bodies == [b"good"]
