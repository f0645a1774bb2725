"""One subscription: a consumer-group member polling in its own thread, handlers run on the loop.

The thread polls a batch, hands it to the event loop and waits; the loop runs the
handler for each record and answers, per partition, the offset to commit (after the
last handled record) and the offset to rewind to (the first failed one). Only then does
the thread commit: an offset is never committed before its handler succeeded. A record
that fails is delivered again at once, and after ``max_redeliveries`` it is moved to
``<topic>.dlq`` and then committed like a handled one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from micro_broker_kafka import _envelope
from micro_broker_kafka._kafka import (
    ConsumerRebalanceListener,
    KafkaConsumer,
    KafkaError,
    OffsetAndMetadata,
    TopicPartition,
)
from micro_core.broker.base import BrokerError, Event, EventHandler, Rejected, Subscription, attempt
from micro_core.transport import Message

if TYPE_CHECKING:
    from micro_broker_kafka.broker import KafkaBroker

log = logging.getLogger("micro.broker.kafka")

#: Longest a poll waits for records before the thread looks at its stop flag again.
_POLL_MS = 200
#: Seconds a new subscription may take to join its group and own its partitions.
_JOIN_TIMEOUT = 60.0
#: Seconds a commit or a close may wait for an unreachable coordinator.
_COMMIT_TIMEOUT_MS = 10_000


class KafkaEvent(Event):
    """A Kafka record as an event; it is settled by committing (or not) the offset after it."""

    def __init__(self, topic: str, message: Message, partition: int, offset: int) -> None:
        super().__init__(topic, message)
        self.partition = partition
        self.offset = offset

    async def _settle(self, ok: bool) -> None:
        """Nothing to send now: the subscription commits or rewinds once the handler returned."""


@dataclass
class _Outcome:
    """What a batch left to do in the consumer thread, per partition."""

    commit: dict[Any, int] = field(default_factory=dict)
    rewind: dict[Any, int] = field(default_factory=dict)


class KafkaSubscription(Subscription):
    """A member of consumer group ``queue`` (or of a group of its own, for broadcast)."""

    def __init__(
        self, broker: KafkaBroker, topic: str, handler: EventHandler, *, queue: str | None, auto_ack: bool
    ) -> None:
        super().__init__(topic, queue)
        self.group = queue or f"micro-broadcast-{topic}-{uuid.uuid4().hex}"
        self._broker = broker
        self._handler = handler
        self._auto_ack = auto_ack
        self._loop = asyncio.get_running_loop()
        self._joined: asyncio.Future[None] = self._loop.create_future()
        self._finished: asyncio.Future[None] = self._loop.create_future()
        self._stopping = threading.Event()
        self._delivering: asyncio.Task[Any] | None = None
        #: Partitions assigned since the last poll; the thread pins their start offsets.
        self._fresh: set[Any] = set()
        self._assigned = False
        self._thread = threading.Thread(
            target=self._run, name=f"micro-kafka-{topic}-{self.group}", daemon=True
        )

    async def start(self) -> None:
        """Start polling; returns once the group has given this member its partitions."""
        self._thread.start()
        try:
            async with asyncio.timeout(_JOIN_TIMEOUT):
                await asyncio.shield(self._joined)
        except TimeoutError:
            await self.unsubscribe()
            raise BrokerError(
                f"kafka {self._broker.address}: group {self.group!r} gave no partitions of "
                f"{self.topic!r} within {_JOIN_TIMEOUT:.0f}s"
            ) from None
        except BaseException:
            await self.unsubscribe()
            raise

    async def unsubscribe(self) -> None:
        """Stop after the record in hand; its offset is committed if it was handled."""
        first = not self._stopping.is_set()
        self._stopping.set()
        self._broker.forget(self)
        if asyncio.current_task() is self._delivering:
            return  # called from this subscription's own handler: the thread ends after it returns
        await asyncio.shield(self._finished)
        if first and self.queue is None:
            await self._broker.delete_group(self.group)

    # --- the consumer thread -------------------------------------------------------------

    def _run(self) -> None:
        consumer = None
        try:
            consumer = self._open()
            while not self._stopping.is_set():
                self._poll(consumer)
        except Exception as exc:
            error = BrokerError(f"kafka {self._broker.address}: subscription to {self.topic!r} failed: {exc}")
            self._to_loop(self._reject, self._joined, error)
            if not isinstance(exc, KafkaError):
                log.exception("kafka subscription to %r stopped", self.topic)
        finally:
            if consumer is not None:
                consumer.close(autocommit=False, timeout_ms=_COMMIT_TIMEOUT_MS)
            self._to_loop(self._resolve, self._finished)

    def _open(self) -> Any:
        session_ms = int(self._broker.session_timeout * 1000)
        consumer = KafkaConsumer(
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 10),
            **self._broker.client_config,
        )
        consumer.subscribe([self.topic], listener=_Rebalance(self))
        return consumer

    def _poll(self, consumer: Any) -> None:
        try:
            batch = consumer.poll(timeout_ms=_POLL_MS)
        except KafkaError as exc:  # the client reconnects by itself; try again shortly
            log.warning("kafka %s: poll of %r failed: %s", self._broker.address, self.topic, exc)
            self._stopping.wait(1.0)
            return
        if self._fresh:
            self._pin_start(consumer, batch)
        if self._assigned and not self._fresh and not self._joined.done() and self._all_pinned(consumer):
            self._to_loop(self._resolve, self._joined)
        if batch:
            outcome = asyncio.run_coroutine_threadsafe(self._deliver_batch(batch), self._loop).result()
            for partition, offset in outcome.rewind.items():
                consumer.seek(partition, offset)
            self._commit(consumer, outcome.commit)

    def _pin_start(self, consumer: Any, batch: dict[Any, list[Any]]) -> None:
        """Commit where a new group starts reading, so a later member never skips past it.

        The group starts at the end of the log; without this commit, a member that took
        over a partition before anything was committed would start at the end again and
        skip what was published in between. A partition whose pin failed (the commit
        meets a rebalance when members join together) stays fresh and is tried again
        after the next poll, and the subscription is not ready until every partition it
        holds is pinned: so nothing published after ``subscribe`` returned is skipped.
        """
        for partition in list(self._fresh):
            try:
                if consumer.committed(partition, timeout_ms=_COMMIT_TIMEOUT_MS) is None:
                    records = batch.get(partition)
                    start = records[0].offset if records else consumer.position(partition)
                    consumer.commit(
                        {partition: OffsetAndMetadata(start, "", -1)}, timeout_ms=_COMMIT_TIMEOUT_MS
                    )
            except KafkaError as exc:
                log.info(
                    "kafka %s: start offset of %s not pinned yet, trying again: %s",
                    self._broker.address,
                    partition,
                    exc,
                )
            else:
                self._fresh.discard(partition)

    def _all_pinned(self, consumer: Any) -> bool:
        """Whether the group has a start offset for every partition of the topic, whoever holds it.

        A member can be handed nothing at first (more members than partitions, or a
        first assignment made before the group leader knew the topic's partitions):
        it is ready only once the members that do hold them have pinned their starts.
        """
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            return False
        try:
            return all(
                consumer.committed(TopicPartition(self.topic, p), timeout_ms=_COMMIT_TIMEOUT_MS) is not None
                for p in partitions
            )
        except KafkaError:
            return False

    def _commit(self, consumer: Any, offsets: dict[Any, int]) -> None:
        """Commit handled offsets; a failed commit only means those records come again."""
        if not offsets:
            return
        try:
            consumer.commit(
                {partition: OffsetAndMetadata(offset, "", -1) for partition, offset in offsets.items()},
                timeout_ms=_COMMIT_TIMEOUT_MS,
            )
        except KafkaError as exc:
            log.warning(
                "kafka %s: commit on %r failed, records will be redelivered: %s",
                self._broker.address,
                self.topic,
                exc,
            )

    def _to_loop(self, callback: Any, *args: Any) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback, *args)

    @staticmethod
    def _resolve(future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)

    @staticmethod
    def _reject(future: asyncio.Future[None], error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    # --- on the event loop ---------------------------------------------------------------

    async def _deliver_batch(self, batch: dict[Any, list[Any]]) -> _Outcome:
        self._delivering = asyncio.current_task()
        outcome = _Outcome()
        for partition, records in batch.items():
            for record in records:
                if self._stopping.is_set():
                    return outcome
                reason = await attempt(_event(record), self._handler, self._auto_ack)
                if reason is not None and not await self._redeliver(record, reason):
                    outcome.rewind[partition] = record.offset
                    break
                outcome.commit[partition] = record.offset + 1
        return outcome

    async def _redeliver(self, record: Any, reason: str) -> bool:
        """Deliver again a record whose handler failed; True once handled or dead-lettered.

        Redelivery happens here rather than by seeking back: a seek races kafka-python's
        prefetch, and a message in hand cannot be lost that way. Until this returns True
        nothing after the record is committed, so a crash still redelivers it.
        """
        deliveries = 1
        while deliveries <= self._broker.max_redeliveries and not isinstance(reason, Rejected):
            if self._stopping.is_set():
                return False
            deliveries += 1
            failed = await attempt(_event(record), self._handler, self._auto_ack)
            if failed is None:
                return True
            reason = failed
        try:
            await self._broker.dead_letter(
                record.topic, _envelope.decode(record), f"{reason} ({deliveries} deliveries)"
            )
        except BrokerError as exc:
            log.warning("kafka: dead letter for %r not written, will retry: %s", record.topic, exc)
            return False
        return True


def _event(record: Any) -> KafkaEvent:
    """A delivery of ``record``, decoded afresh each time: a handler's changes to the message
    must reach neither the next delivery nor the dead letter."""
    return KafkaEvent(record.topic, _envelope.decode(record), record.partition, record.offset)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes new assignments; the thread acts on them after ``poll`` returns."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self._subscription = subscription

    def on_partitions_revoked(self, revoked: Any) -> None:
        self._subscription._fresh.clear()

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._subscription._fresh = set(assigned)
        self._subscription._assigned = True
