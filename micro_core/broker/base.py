"""What every broker does: publish messages to topics and deliver them to subscribers.

Delivery is at least once. A subscription with a ``queue`` shares each message with
the other members of that queue group (one of them gets it); without a queue every
subscriber gets every message (broadcast). A message is acknowledged after its
handler returns (``auto_ack``) or when the handler calls :meth:`Event.ack`; a handler
that raises, or returns without acking, leaves it to be delivered again.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import ClassVar

from micro_core.options import Options
from micro_core.registry.base import Registry
from micro_core.transport.base import Message


class BrokerError(ConnectionError):
    """The broker could not take or deliver a message; the text says which and where."""


class Event(abc.ABC):
    """A delivered message, with the means to acknowledge it."""

    def __init__(self, topic: str, message: Message) -> None:
        self.topic = topic
        self.message = message
        #: None until settled, then True (acked) or False (handed back).
        self.outcome: bool | None = None

    async def ack(self) -> None:
        """Confirm the message is handled: it will not be delivered again."""
        if self.outcome is None:
            self.outcome = True
            await self._settle(True)

    async def nack(self) -> None:
        """Hand the message back to be delivered again (bounded by the driver's redelivery limit)."""
        if self.outcome is None:
            self.outcome = False
            await self._settle(False)

    @abc.abstractmethod
    async def _settle(self, ok: bool) -> None: ...


EventHandler = Callable[[Event], Awaitable[None]]


class Subscription(abc.ABC):
    """A live subscription; ``unsubscribe()`` stops delivery to it."""

    def __init__(self, topic: str, queue: str | None) -> None:
        self.topic = topic
        self.queue = queue

    @abc.abstractmethod
    async def unsubscribe(self) -> None: ...


async def deliver(event: Event, handler: EventHandler, auto_ack: bool) -> bool:
    """Run ``handler`` and settle ``event`` by the broker contract; True when it was acked.

    Every driver calls this so that the ack rules are the same everywhere.
    """
    try:
        await handler(event)
    except Exception:
        await event.nack()
        return False
    if auto_ack:
        await event.ack()
    else:
        await event.nack()  # no-op when the handler settled it
    return event.outcome is True


class Broker(abc.ABC):
    """Asynchronous messaging: ``publish`` to a topic, ``subscribe`` a handler to it."""

    #: The driver's name, as selected with ``--broker`` / ``MICRO_BROKER``.
    name: ClassVar[str]

    def __init__(self, address: str = "") -> None:
        self.address = address

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> Broker:
        """Build the driver from settings; ``registry`` serves brokers that find peers through it."""
        return cls(options["broker_address"])

    async def connect(self) -> None:
        """Open connections; raise :class:`BrokerError` naming the address if it fails."""

    async def close(self) -> None:
        """Stop delivery, release connections."""

    @abc.abstractmethod
    async def publish(self, topic: str, message: Message) -> None:
        """Hand ``message`` to the broker; returns once the broker has accepted it."""

    @abc.abstractmethod
    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> Subscription:
        """Deliver each message on ``topic`` to ``handler`` (shared within ``queue``)."""
