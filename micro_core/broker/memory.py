"""``memory``: the broker for tests and single-process apps, with the semantics of the real ones.

Brokers built with the same address share one hub of topics in this process, so
each component of a test can hold its own instance and still see one world.
``publish`` only queues: every subscription has its own queue and worker task, which
keeps the order of one publisher's messages, and a message that is not acked is
queued again (to another member of its group when there is one) until
``max_redeliveries`` is used up; then it goes to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import weakref
from dataclasses import dataclass

from micro_core import headers
from micro_core.broker.base import (
    DEFAULT_MAX_REDELIVERIES,
    Broker,
    BrokerError,
    Event,
    EventHandler,
    Rejected,
    Subscription,
    attempt,
    check_message,
    dead_letter,
)
from micro_core.transport.base import Message

log = logging.getLogger(__name__)


class _Event(Event):
    async def _settle(self, ok: bool) -> None:
        """Nothing to tell a backend: the worker reads ``outcome``."""


@dataclass(slots=True)
class _Delivery:
    """A message on its way to one queue group (or one broadcast subscriber)."""

    topic: str
    message: Message
    group: str | None
    attempts: int = 0


class _Hub:
    """The topics of one address: topic → subscriptions, and how to pick a group member."""

    def __init__(self) -> None:
        self.topics: dict[str, list[MemorySubscription]] = {}
        self._turns = itertools.count()

    def publish(self, topic: str, message: Message) -> None:
        message = Message({**message.header, headers.TOPIC: topic}, message.body)
        groups: set[str] = set()
        for sub in self.topics.get(topic, ()):
            if sub.queue is None:
                sub.put(_Delivery(topic, message, None))
            elif sub.queue not in groups:
                groups.add(sub.queue)
                self.route(_Delivery(topic, message, sub.queue))

    def route(self, delivery: _Delivery, avoid: MemorySubscription | None = None) -> bool:
        """Queue ``delivery`` at a member of its group (not ``avoid`` if another exists); False if none."""
        members = [s for s in self.topics.get(delivery.topic, ()) if s.queue == delivery.group]
        if len(members) > 1 and avoid in members:
            members.remove(avoid)
        if not members:
            return False
        members[next(self._turns) % len(members)].put(delivery)
        return True


#: The hubs of this process by address, alive while a broker holds one.
_HUBS: weakref.WeakValueDictionary[str, _Hub] = weakref.WeakValueDictionary()


class MemorySubscription(Subscription):
    """One subscriber: its queue and the task that feeds its handler one message at a time."""

    def __init__(
        self, broker: MemoryBroker, topic: str, handler: EventHandler, queue: str | None, auto_ack: bool
    ) -> None:
        super().__init__(topic, queue)
        self._broker = broker
        self._handler = handler
        self._auto_ack = auto_ack
        self._inbox: asyncio.Queue[_Delivery | None] = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._work(), name=f"subscriber of {topic}")

    def put(self, delivery: _Delivery) -> None:
        self._inbox.put_nowait(delivery)

    async def _work(self) -> None:
        while (delivery := await self._inbox.get()) is not None:
            delivery.attempts += 1
            message = Message(dict(delivery.message.header), delivery.message.body)
            reason = await attempt(_Event(delivery.topic, message), self._handler, self._auto_ack)
            if reason is not None:
                self._broker.redeliver(delivery, self, reason)

    async def unsubscribe(self) -> None:
        """Stop delivery; queued messages of a queue group go to the other members."""
        hub = self._broker.hub
        subs = hub.topics.get(self.topic, [])
        if self not in subs:
            return
        subs.remove(self)
        if not subs:
            del hub.topics[self.topic]
        self._broker.subscriptions.discard(self)
        while not self._inbox.empty():
            delivery = self._inbox.get_nowait()
            if delivery is not None and delivery.group is not None and not hub.route(delivery):
                log.debug("topic %s: group %s has no members left", delivery.topic, delivery.group)
        self._inbox.put_nowait(None)
        if asyncio.current_task() is not self._worker:  # a handler may unsubscribe itself
            await self._worker


class MemoryBroker(Broker):
    """``memory``: topics in this process's memory, shared by every broker with the same address."""

    name = "memory"

    def __init__(self, address: str = "", *, max_redeliveries: int = DEFAULT_MAX_REDELIVERIES) -> None:
        super().__init__(address)
        if max_redeliveries < 0:
            raise ValueError(f"max_redeliveries must be 0 or more, not {max_redeliveries}")
        self.max_redeliveries = max_redeliveries
        hub = _HUBS.get(address)
        if hub is None:
            hub = _HUBS[address] = _Hub()
        self.hub = hub
        self.subscriptions: set[MemorySubscription] = set()
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        for sub in list(self.subscriptions):
            await sub.unsubscribe()

    async def publish(self, topic: str, message: Message) -> None:
        """Queue ``message`` for every subscriber group of ``topic``; with none, nobody wants it."""
        check_message(topic, message)
        if self._closed:
            raise BrokerError(f"cannot publish to {topic}: memory broker {self.address!r} is closed")
        self.hub.publish(topic, message)

    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> Subscription:
        check_message(topic, Message())
        if self._closed:
            raise BrokerError(f"cannot subscribe to {topic}: memory broker {self.address!r} is closed")
        sub = MemorySubscription(self, topic, handler, queue, auto_ack)
        self.hub.topics.setdefault(topic, []).append(sub)
        self.subscriptions.add(sub)
        return sub

    def redeliver(self, delivery: _Delivery, failed: MemorySubscription, reason: str) -> None:
        """Queue a failed delivery again, or dead-letter it once its redeliveries are used up
        (at once when it was :class:`Rejected`)."""
        if delivery.attempts <= self.max_redeliveries and not isinstance(reason, Rejected):
            if delivery.group is None:
                if failed in self.hub.topics.get(delivery.topic, ()):
                    failed.put(delivery)
                return
            if not self.hub.route(delivery, avoid=failed):
                log.debug("topic %s: group %s has no members left", delivery.topic, delivery.group)
            return
        parked = dead_letter(
            delivery.topic, delivery.message, f"{reason} ({delivery.attempts} deliveries on {delivery.topic})"
        )
        if parked is not None:
            self.hub.publish(*parked)
