"""The RabbitMQ broker driver: micro topics are routing keys on one durable topic exchange.

One connection per broker carries publishes and deliveries. When it drops, a
background task reconnects with backoff and re-attaches every subscription; a publish
made meanwhile waits for the new connection (up to ``timeout``) and a publish whose
confirm was lost with the old one is sent again, so what the server confirmed is never
lost and what it did not is retried (at least once, never silently dropped).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import pika  # type: ignore[import-untyped]

from micro_broker_rabbitmq import plugin
from micro_broker_rabbitmq._address import DEFAULT_ADDRESS, connection_parameters, redact
from micro_broker_rabbitmq._link import Link, LinkLost
from micro_broker_rabbitmq._subscription import RabbitMQSubscription
from micro_core import headers
from micro_core.broker.base import (
    DEFAULT_MAX_REDELIVERIES,
    Broker,
    BrokerError,
    EventHandler,
    check_message,
    dead_letter,
)
from micro_core.options import Options
from micro_core.registry.base import Registry
from micro_core.tls import client_context
from micro_core.transport import Message

log = logging.getLogger("micro.broker.rabbitmq")

#: RabbitMQ's own limit on a message body (``max_message_size``, 128 MiB by default).
MAX_BODY = 128 * 1024 * 1024
#: AMQP short strings (routing keys, queue and header names) hold at most 255 bytes.
_SHORT_STRING = 255
#: Room for the fixed part of the properties frame beside the headers.
_FRAME_OVERHEAD = 512
_PERSISTENT = pika.spec.PERSISTENT_DELIVERY_MODE
#: Backoff between reconnection attempts, in seconds: doubles from the first to the last.
_BACKOFF = (0.1, 2.0)


def _check_short(kind: str, text: str) -> None:
    if len(text.encode("utf-8", "surrogateescape")) > _SHORT_STRING:
        raise ValueError(f"{kind} {text[:40]!r}… is longer than RabbitMQ's {_SHORT_STRING} bytes")


class RabbitMQBroker(Broker):
    """Publish to and subscribe on RabbitMQ (AMQP 0-9-1).

    ``address`` is ``amqp[s]://user:pass@host:port/vhost``. Publishes are persistent and
    return once the server confirmed them; concurrent publishes share round trips.
    A failing message is delivered again up to ``max_redeliveries`` times, then
    published to ``<topic>.dlq`` with a ``Micro-Dead-Letter-Reason`` header; a durable
    queue of that name keeps dead letters until someone reads them.
    """

    name = "rabbitmq"

    def __init__(
        self,
        address: str = "",
        *,
        exchange: str = plugin.DEFAULT_EXCHANGE,
        prefetch: int = plugin.DEFAULT_PREFETCH,
        max_redeliveries: int = DEFAULT_MAX_REDELIVERIES,
        heartbeat: float = plugin.DEFAULT_HEARTBEAT,
        timeout: float = plugin.DEFAULT_TIMEOUT,
        tls: ssl.SSLContext | None = None,
        tls_ca: str = "",
        tls_cert: str = "",
        tls_key: str = "",
    ) -> None:
        super().__init__(address or DEFAULT_ADDRESS)
        if max_redeliveries < 0:
            raise ValueError(f"max_redeliveries must be 0 or more, not {max_redeliveries}")
        if not 0 < prefetch < 65536:
            raise ValueError(f"prefetch must be between 1 and 65535, not {prefetch}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        _check_short("exchange name", exchange)
        if tls is None and (tls_ca or tls_cert or tls_key):
            tls = client_context(tls_ca, tls_cert, tls_key)
        self.where = redact(self.address)
        self.parameters = connection_parameters(self.address, tls=tls, heartbeat=heartbeat, timeout=timeout)
        self.exchange = exchange
        self.prefetch = prefetch
        self.max_redeliveries = max_redeliveries
        self.timeout = timeout
        self._link: Link | None = None
        #: Set while ``_link`` is open; cleared the moment it is lost.
        self._up = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._subscriptions: set[RabbitMQSubscription] = set()
        self._dead_letter_queues: set[str] = set()

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> RabbitMQBroker:
        return cls(options["broker_address"], **plugin.broker_arguments(options))

    # --- life cycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        if self._supervisor is not None:
            return
        self._link = await self._open()
        self._up.set()
        self._supervisor = asyncio.create_task(self._supervise(), name=f"rabbitmq {self.where}")

    async def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        subscriptions, self._subscriptions = self._subscriptions, set()
        for subscription in subscriptions:
            await subscription.stop()
        link, self._link = self._link, None
        self._up.clear()
        if link is not None:
            await link.close()

    async def _open(self) -> Link:
        """A new connection with the exchange declared and every subscription attached."""
        link = await Link.open(self.parameters, self.where, self._on_lost, self.timeout)
        try:
            await link.call("exchange_declare", self.exchange, exchange_type="topic", durable=True)
            await link.call("basic_qos", prefetch_count=self.prefetch)
            self._dead_letter_queues.clear()
            for subscription in list(self._subscriptions):
                await subscription.attach(link)
        except BaseException:
            await link.close()
            raise
        return link

    def _on_lost(self, link: Link) -> None:
        if link is self._link:
            self._up.clear()

    async def _supervise(self) -> None:
        """Reconnect after the connection (or the server) drops, for as long as the broker is open."""
        while True:
            link = self._link
            assert link is not None
            reason = await asyncio.shield(link.lost)
            log.warning("rabbitmq %s: connection lost (%r); reconnecting", self.where, reason)
            delay = _BACKOFF[0]
            while True:
                try:
                    self._link = await self._open()
                    break
                except Exception as exc:
                    log.info("rabbitmq %s: reconnect failed, next try in %.1fs: %s", self.where, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF[1])
            self._up.set()
            log.warning("rabbitmq %s: reconnected", self.where)

    def _open_link(self) -> Link | None:
        link = self._link
        return link if self._up.is_set() and link is not None and link.is_open else None

    async def _current(self, deadline: float) -> Link:
        """The open connection, waiting until ``deadline`` (loop time) for a reconnection."""
        link = self._open_link()
        if link is not None:
            return link
        async with asyncio.timeout_at(deadline):
            while True:
                if self._supervisor is None:
                    raise BrokerError(f"rabbitmq {self.where}: not connected (call connect() first)")
                link = self._open_link()
                if link is not None:
                    return link
                self._up.clear()
                await self._up.wait()

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout

    # --- publishing --------------------------------------------------------------------------

    def _properties(self, header: dict[str, str], body: bytes, frame_max: int) -> Any:
        if len(body) > MAX_BODY:
            raise BrokerError(f"rabbitmq {self.where}: message body of {len(body)} bytes is over {MAX_BODY}")
        size = 0
        for name, value in header.items():
            _check_short("header name", name)
            size += len(name) + 5 + len(value.encode("utf-8", "surrogateescape"))
        if size + _FRAME_OVERHEAD > frame_max:
            raise BrokerError(
                f"rabbitmq {self.where}: message headers of about {size} bytes do not fit"
                f" in one {frame_max}-byte frame"
            )
        return pika.BasicProperties(headers=header, delivery_mode=_PERSISTENT)

    async def _send(self, exchange: str, routing_key: str, message: Message) -> None:
        """Send until the server confirms: across reconnections, within ``timeout``."""
        deadline = self._deadline()
        try:
            while True:
                link = await self._current(deadline)
                properties = self._properties(message.header, message.body, link.frame_max)
                try:
                    await link.publish(exchange, routing_key, message.body, properties, deadline)
                    return
                except LinkLost as exc:
                    log.info("rabbitmq %s: publish to %r sent again after %s", self.where, routing_key, exc)
        except TimeoutError:
            raise BrokerError(
                f"rabbitmq {self.where}: publish to {routing_key!r} not confirmed within {self.timeout:g}s"
            ) from None

    async def publish(self, topic: str, message: Message) -> None:
        check_message(topic, message)
        _check_short("topic", topic)
        await self._send(
            self.exchange, topic, Message({**message.header, headers.TOPIC: topic}, message.body)
        )

    async def requeue(self, queue: str, message: Message) -> None:
        """Put a failed message back at the end of ``queue`` (only that queue)."""
        await self._send("", queue, message)

    async def dead_letter(self, topic: str, message: Message, reason: str) -> None:
        """Park a message no handler could take on ``<topic>.dlq`` (the kernel's rules decide)."""
        parked = dead_letter(topic, message, reason)
        if parked is None:
            return
        where, message = parked
        if where not in self._dead_letter_queues:
            link = await self._current(self._deadline())
            await link.call("queue_declare", where, durable=True)
            await link.call("queue_bind", where, self.exchange, routing_key=where)
            self._dead_letter_queues.add(where)
        await self.publish(where, message)

    # --- subscribing ---------------------------------------------------------------------------

    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> RabbitMQSubscription:
        check_message(topic, Message())
        _check_short("topic", topic)
        if queue is not None:
            if not queue.strip():
                raise ValueError(f"queue group must be a non-empty name, not {queue!r}")
            _check_short("queue name", f"{topic}:{queue}")
        subscription = RabbitMQSubscription(self, topic, queue, handler, auto_ack)
        deadline = self._deadline()
        try:
            while True:
                link = await self._current(deadline)
                try:
                    async with asyncio.timeout_at(deadline):
                        await subscription.attach(link)
                    break
                except LinkLost:
                    continue
        except TimeoutError:
            raise BrokerError(f"rabbitmq {self.where}: subscribe to {topic!r} timed out") from None
        self._subscriptions.add(subscription)
        return subscription

    def forget(self, subscription: RabbitMQSubscription) -> None:
        """Stop re-attaching ``subscription`` after reconnections."""
        self._subscriptions.discard(subscription)
