"""The Kafka broker driver: micro topics are Kafka topics, queue groups are consumer groups.

kafka-python blocks, and the event loop must not: the admin client and the producer's
blocking calls run in one worker thread each, every subscription polls in a thread of
its own, and results come back to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from micro_broker_kafka import _envelope, plugin
from micro_broker_kafka._handoff import Handoff
from micro_broker_kafka._kafka import (
    KafkaAdminClient,
    KafkaError,
    KafkaProducer,
    TopicAlreadyExistsError,
    send_would_block,
)
from micro_broker_kafka._subscription import KafkaSubscription
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
from micro_core.transport import Message

log = logging.getLogger("micro.broker.kafka")

DEFAULT_ADDRESS = "127.0.0.1:9092"
#: kafka-python settings the driver chooses; ``client_config`` may override any of them.
_CLIENT_DEFAULTS: dict[str, Any] = {
    # Retry a restarted broker within a second, not kafka-python's 30 s.
    "reconnect_backoff_max_ms": 1000,
}
_UNKNOWN_TOPIC = 3


def bootstrap_servers(address: str) -> list[str]:
    """``"host:port,host:port"`` as a list; ``ValueError`` naming the entry that is not host:port."""
    servers = [entry.strip() for entry in (address or DEFAULT_ADDRESS).split(",")]
    for entry in servers:
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"kafka broker address {entry!r} in {address!r} is not host:port")
    return servers


def _send(producer: Any, topic: str, value: bytes, settle: Callable[[Any], None]) -> None:
    """Hand ``value`` to the producer's batch; ``settle`` hears whether the broker wrote it."""
    sent = producer.send(topic, value=value)
    sent.add_callback(settle)
    sent.add_errback(settle)


class KafkaBroker(Broker):
    """Publish to and subscribe on Apache Kafka (or anything that speaks its protocol).

    ``address`` lists bootstrap servers, comma-separated. A failing message is
    delivered again up to ``max_redeliveries`` times, then published to
    ``<topic>.dlq`` with a ``Micro-Dead-Letter-Reason`` header. ``client_config`` goes
    to kafka-python unchanged (SASL, TLS, timeouts).
    """

    name = "kafka"

    def __init__(
        self,
        address: str = "",
        *,
        max_redeliveries: int = DEFAULT_MAX_REDELIVERIES,
        session_timeout: float = plugin.DEFAULT_SESSION_TIMEOUT,
        partitions: int = -1,
        replication_factor: int = -1,
        client_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(address or DEFAULT_ADDRESS)
        self.servers = bootstrap_servers(self.address)
        if max_redeliveries < 0:
            raise ValueError(f"max_redeliveries must be 0 or more, not {max_redeliveries}")
        if session_timeout <= 0:
            raise ValueError(f"session_timeout must be positive, not {session_timeout}")
        self.max_redeliveries = max_redeliveries
        self.session_timeout = session_timeout
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.client_config: dict[str, Any] = {
            **_CLIENT_DEFAULTS,
            **(client_config or {}),
            "bootstrap_servers": self.servers,
        }
        self._producer: Any = None
        self._results: Handoff | None = None
        self._admin: Any = None
        # One thread each keeps waiting sends in call order and the admin client single-threaded.
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="micro-kafka-send")
        self._blocked_sends = 0
        self._administrator = ThreadPoolExecutor(1, thread_name_prefix="micro-kafka-admin")
        self._topics: set[str] = set()
        self._subscriptions: set[KafkaSubscription] = set()

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> KafkaBroker:
        return cls(options["broker_address"], **plugin.broker_arguments(options))

    # --- life cycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        if self._producer is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._admin = await loop.run_in_executor(
                self._administrator, lambda: KafkaAdminClient(**self.client_config)
            )
            self._producer = await loop.run_in_executor(
                self._sender, lambda: KafkaProducer(acks="all", **self.client_config)
            )
        except (KafkaError, ValueError, OSError) as exc:
            await self.close()
            raise BrokerError(f"kafka {self.address}: cannot connect: {exc}") from exc

    async def close(self) -> None:
        await asyncio.gather(*(subscription.unsubscribe() for subscription in list(self._subscriptions)))
        loop = asyncio.get_running_loop()
        producer, self._producer = self._producer, None
        admin, self._admin = self._admin, None
        if producer is not None:
            await loop.run_in_executor(self._sender, producer.close)
        if admin is not None:
            await loop.run_in_executor(self._administrator, admin.close)

    # --- publishing --------------------------------------------------------------------

    async def publish(self, topic: str, message: Message) -> None:
        """Returns once every in-sync replica has the message (``acks=all``).

        ``KafkaProducer.send`` is thread-safe and only appends to a batch, so it runs
        right here and concurrent publishes share the producer's batches; the result
        comes back from kafka-python's I/O thread. Only a send that must first fetch the
        topic's metadata blocks: that one runs in the sender thread, and sends started
        while one waits queue behind it, keeping their call order.
        """
        check_message(topic, message)
        producer = self._connected()
        loop = asyncio.get_running_loop()
        value = _envelope.encode(message)
        del message  # not held through the wait: see Broker.publish
        if topic not in self._topics:
            await self.ensure_topic(topic)
        written: asyncio.Future[Any] = loop.create_future()
        settle = self._handoff(loop).settler(written)
        try:
            if self._blocked_sends or send_would_block(producer, topic):
                self._blocked_sends += 1
                try:
                    await loop.run_in_executor(self._sender, _send, producer, topic, value, settle)
                finally:
                    self._blocked_sends -= 1
            else:
                _send(producer, topic, value, settle)
            await written
        except KafkaError as exc:
            raise BrokerError(f"kafka {self.address}: publish to {topic!r} failed: {exc}") from exc

    async def dead_letter(self, topic: str, message: Message, reason: str) -> None:
        """Park a message no handler could take on ``<topic>.dlq`` (the kernel's rules decide)."""
        parked = dead_letter(topic, message, reason)
        if parked is not None:
            await self.publish(*parked)

    async def ensure_topic(self, topic: str) -> None:
        """Create ``topic`` unless it exists, so brokers with auto-creation off work too."""
        if topic in self._topics:
            return
        admin = self._connected_admin()
        await asyncio.get_running_loop().run_in_executor(
            self._administrator, self._create_topic, admin, topic
        )
        self._topics.add(topic)

    def _create_topic(self, admin: Any, topic: str) -> None:
        try:
            [described] = admin.describe_topics([topic])
            if described["error_code"] == _UNKNOWN_TOPIC:
                spec = {"num_partitions": self.partitions, "replication_factor": self.replication_factor}
                try:
                    admin.create_topics({topic: spec}, wait_for_metadata=True)
                except TopicAlreadyExistsError:  # another client was faster
                    admin.wait_for_topics([topic])
            elif described["error_code"]:
                raise KafkaError(f"error code {described['error_code']} describing the topic")
        except KafkaError as exc:
            raise BrokerError(f"kafka {self.address}: topic {topic!r} is not usable: {exc}") from exc

    # --- subscribing ---------------------------------------------------------------------

    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> KafkaSubscription:
        """Returns once the subscription owns its share of the topic's partitions.

        A queue is the Kafka consumer group id; without one, the subscription gets a
        group of its own and so every message.
        """
        check_message(topic, Message())
        self._connected()
        await self.ensure_topic(topic)
        subscription = KafkaSubscription(self, topic, handler, queue=queue, auto_ack=auto_ack)
        await subscription.start()
        self._subscriptions.add(subscription)
        return subscription

    def forget(self, subscription: KafkaSubscription) -> None:
        """Called by a subscription that stopped."""
        self._subscriptions.discard(subscription)

    async def delete_group(self, group: str) -> None:
        """Remove a finished broadcast subscription's group, so groups do not pile up."""
        admin = self._admin
        if admin is None:
            return
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                self._administrator, admin.delete_groups, [group]
            )
        except KafkaError as exc:
            results = {group: exc}
        if results.get(group) != "OK":
            log.warning(
                "kafka %s: consumer group %r not deleted: %s", self.address, group, results.get(group)
            )

    def _handoff(self, loop: asyncio.AbstractEventLoop) -> Handoff:
        """The hand-off of producer results to ``loop`` (made on the first publish from it)."""
        if self._results is None or self._results.loop is not loop:
            self._results = Handoff(loop)
        return self._results

    def _connected(self) -> Any:
        if self._producer is None:
            raise BrokerError(f"kafka {self.address}: not connected (call connect() first)")
        return self._producer

    def _connected_admin(self) -> Any:
        self._connected()
        return self._admin
