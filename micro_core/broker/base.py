"""What every broker does: publish messages to topics and deliver them to subscribers.

Delivery is at least once. A subscription with a ``queue`` shares each message with
the other members of that queue group (one of them gets it); without a queue every
subscriber gets every message (broadcast). A message is acknowledged after its
handler returns (``auto_ack``) or when the handler calls :meth:`Event.ack`; a handler
that raises, or returns without acking, leaves it to be delivered again.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar

from micro_core.errors import BadRequest
from micro_core.options import Options
from micro_core.registry.base import Registry
from micro_core.transport.base import Message

log = logging.getLogger(__name__)

#: Times a message is delivered again after its first delivery failed, unless the driver is told otherwise.
DEFAULT_MAX_REDELIVERIES = 3
#: A message that exhausted its redeliveries goes to ``<topic>`` + this suffix.
DEAD_LETTER_SUFFIX = ".dlq"
#: Header added to a dead-lettered message: why and where delivery failed.
DEAD_LETTER_REASON = "Micro-Dead-Letter-Reason"


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


class Rejected(str):
    """Why a delivery failed, when the message itself is at fault: it does not decode as
    the subscriber's type, or the handler raised ``BadRequest``. Delivering it again cannot
    succeed, so a driver dead-letters it at once. A ``str``, so a driver that only reports
    the reason needs no change."""


async def attempt(event: Event, handler: EventHandler, auto_ack: bool) -> str | None:
    """Run ``handler`` and settle ``event`` by the broker contract; None when acked, else why not
    (a :class:`Rejected` reason when no redelivery can help).

    Every driver delivers through this, so that the ack rules are the same everywhere. A
    failure is logged in one line; its traceback only at debug level.
    """
    try:
        await handler(event)
    except Exception as exc:
        reason = f"handler raised {type(exc).__name__}: {exc}"
        rejected = isinstance(exc, BadRequest)  # CodecError included
        log.warning(
            "topic %s: %s the message: %s", event.topic, "rejected" if rejected else "failed on", reason
        )
        log.debug("topic %s: the handler's traceback", event.topic, exc_info=True)
        await event.nack()
        return Rejected(reason) if rejected else reason
    if auto_ack:
        await event.ack()
    else:
        await event.nack()  # no-op when the handler settled it
    return None if event.outcome is True else "handler returned without acknowledging"


async def deliver(event: Event, handler: EventHandler, auto_ack: bool) -> bool:
    """:func:`attempt`, answering only whether ``event`` was acked."""
    return await attempt(event, handler, auto_ack) is None


def check_message(topic: str, message: Message) -> None:
    """Refuse what no backend can carry: an empty topic, non-text or multi-line headers."""
    if not isinstance(topic, str) or not topic.strip() or topic != topic.strip():
        raise ValueError(f"topic must be a non-empty string without surrounding spaces, not {topic!r}")
    for name, value in message.header.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header {name!r}: names and values must be str, not {type(value).__name__}")
        if "\n" in name or "\n" in value or "\r" in name or "\r" in value:
            raise ValueError(f"header {name!r}: names and values must not contain line breaks")


def dead_letter(topic: str, message: Message, reason: str) -> tuple[str, Message] | None:
    """Where to park a message nobody could handle, and the message to park; logs why.

    Redelivery is bounded so a poison message cannot loop forever; it goes where an
    operator can look at it instead of being dropped. A message that fails on a
    dead-letter topic itself is logged as an error and not forwarded again (None).
    """
    if topic.endswith(DEAD_LETTER_SUFFIX):
        log.error("dead-letter topic %s: dropping a message nobody could handle (%s)", topic, reason)
        return None
    where = topic + DEAD_LETTER_SUFFIX
    log.warning("topic %s: giving up on a message (%s); it goes to %s", topic, reason, where)
    return where, Message({**message.header, DEAD_LETTER_REASON: reason}, message.body)


class Broker(abc.ABC):
    """Asynchronous messaging: ``publish`` to a topic, ``subscribe`` a handler to it."""

    #: The driver's name, as selected with ``--broker`` / ``MICRO_BROKER``.
    name: ClassVar[str]

    #: Redeliveries after the first failed delivery, before the message is dead-lettered.
    max_redeliveries: int = DEFAULT_MAX_REDELIVERIES

    def __init__(self, address: str = "") -> None:
        self.address = address

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> Broker:
        """Build the driver from settings; ``registry`` serves brokers that find peers through it."""
        broker = cls(options["broker_address"])
        broker.max_redeliveries = options["broker_max_redeliveries"]
        return broker

    async def connect(self) -> None:
        """Open connections; raise :class:`BrokerError` naming the address if it fails."""

    async def close(self) -> None:
        """Stop delivery, release connections."""

    @abc.abstractmethod
    async def publish(self, topic: str, message: Message) -> None:
        """Hand ``message`` to the broker; returns once the broker has accepted it.

        A driver that waits for a confirmation should hold no more of ``message``
        through the wait than it needs (the Kafka driver encodes it, then drops it).
        With many publishes in flight, each object held through the wait survives a
        young garbage collection and is promoted, and the older-generation collections
        that follow cost a Kafka publish ~2 µs, a quarter of its framework CPU.
        """

    @abc.abstractmethod
    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> Subscription:
        """Deliver each message on ``topic`` to ``handler`` (shared within ``queue``)."""
