"""One AMQP connection and its confirm-mode channel, driven by pika on the asyncio event loop.

pika's :class:`AsyncioConnection` does its socket I/O through the running loop, so
nothing here blocks it; this module turns pika's callbacks into awaitables. Publishes
are pipelined: each gets a future that the server's (possibly ``multiple``) Basic.Ack
resolves, so many publishes share one round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from typing import Any

import pika  # type: ignore[import-untyped]
from pika.adapters.asyncio_connection import AsyncioConnection  # type: ignore[import-untyped]

from micro_core.broker import BrokerError

log = logging.getLogger("micro.broker.rabbitmq")

#: Seconds between checks for overdue publisher confirms.
SWEEP_EVERY = 0.1

#: Called from pika for each delivery: (channel, method, properties, body).
OnMessage = Callable[[Any, Any, Any, bytes], None]


class LinkLost(BrokerError):
    """The connection went away; what was in flight may be tried again on the next one."""


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class _BatchedConnection(AsyncioConnection):  # type: ignore[misc]
    """pika hands each frame to the socket with a system call of its own (three per
    publish, one per ack); this connection joins the frames of one loop iteration into
    one write. On a busy connection that was the largest single cost of a message."""

    def __init__(self, *args: Any, custom_ioloop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        self._frames: list[bytes] = []
        self._write_loop = custom_ioloop
        super().__init__(*args, custom_ioloop=custom_ioloop, **kwargs)

    def _adapter_emit_data(self, data: bytes) -> None:
        # pika's own hook for adapters: every outgoing frame passes here, in order.
        if not self._frames:
            self._write_loop.call_soon(self._write)
        self._frames.append(data)

    def _write(self) -> None:
        data = b"".join(self._frames)
        self._frames.clear()
        if self._transport is not None:  # None once the connection is gone: nothing to send on
            super()._adapter_emit_data(data)


class Link:
    """A connection with one channel; ``lost`` resolves (to the reason) once it is closed."""

    def __init__(self, where: str, on_lost: Callable[[Link], None]) -> None:
        self.where = where
        self._on_lost = on_lost
        self._loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self.lost: asyncio.Future[BaseException] = self._loop.create_future()
        self._connection: Any = None
        self._channel: Any = None
        self._calls: set[asyncio.Future[Any]] = set()
        #: Publishes awaiting the server's confirm, by delivery tag: (future, deadline).
        self._unconfirmed: dict[int, tuple[asyncio.Future[None], float]] = {}
        self._published = 0
        self._sweeper: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, parameters: Any, where: str, on_lost: Callable[[Link], None], timeout: float) -> Link:
        """Connect and open a confirm-mode channel; :class:`BrokerError` naming ``where`` if that fails."""
        link = cls(where, on_lost)
        link._connection = _BatchedConnection(
            parameters,
            on_open_callback=link._on_connection_open,
            on_open_error_callback=link._on_connection_error,
            on_close_callback=link._on_connection_closed,
            custom_ioloop=link._loop,
        )
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(link._opened)
        except TimeoutError:
            await link.close()
            raise BrokerError(
                f"cannot connect to RabbitMQ at {where}: no answer within {timeout:g}s"
            ) from None
        except BaseException:
            await link.close()
            raise
        return link

    @property
    def is_open(self) -> bool:
        return not self.lost.done() and self._channel is not None and self._channel.is_open

    @property
    def frame_max(self) -> int:
        """Largest frame the server takes; message properties (headers) must fit in one."""
        return int(self._connection.params.frame_max)

    # --- pika callbacks ------------------------------------------------------------------

    def _on_connection_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(self._on_confirm, callback=lambda _frame: _resolve(self._opened, None))

    def _on_connection_error(self, _connection: Any, error: BaseException) -> None:
        _reject(self._opened, BrokerError(f"cannot connect to RabbitMQ at {self.where}: {error!r}"))
        self._closed(error)

    def _on_connection_closed(self, _connection: Any, reason: BaseException) -> None:
        _reject(self._opened, BrokerError(f"RabbitMQ at {self.where} closed the connection: {reason!r}"))
        self._closed(reason)

    def _on_channel_closed(self, _channel: Any, reason: BaseException) -> None:
        # A channel error (say, a queue declared twice with different settings) fails the
        # call that caused it and ends the whole link: the broker starts afresh on a new
        # connection, where unconfirmed publishes are sent again.
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            error = BrokerError(f"RabbitMQ at {self.where} refused: {reason.reply_code} {reason.reply_text}")
            for future in self._calls:
                _reject(future, error)
        self._fail(LinkLost(f"RabbitMQ at {self.where} closed the channel: {reason!r}"))
        if self._connection.is_open:
            self._connection.close()

    def _closed(self, reason: BaseException) -> None:
        self._fail(LinkLost(f"lost the connection to RabbitMQ at {self.where}: {reason!r}"))
        if not self.lost.done():
            self.lost.set_result(reason)
            self._on_lost(self)

    def _fail(self, error: BrokerError) -> None:
        for future in [*self._calls, *(future for future, _ in self._unconfirmed.values())]:
            _reject(future, error)
        self._calls.clear()
        self._unconfirmed.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        error = None
        if isinstance(method, pika.spec.Basic.Nack):
            error = BrokerError(f"RabbitMQ at {self.where} refused a message (Basic.Nack)")
        tags = [method.delivery_tag]
        if method.multiple:  # tags are in the order they were sent
            tags = list(itertools.takewhile(lambda tag: tag <= method.delivery_tag, self._unconfirmed))
        for tag in tags:
            future, _ = self._unconfirmed.pop(tag, (None, 0.0))
            if future is None:  # given up on at its deadline
                continue
            if error is None:
                _resolve(future, None)
            else:
                _reject(future, error)

    def _sweep(self) -> None:
        """Fail the publishes whose confirm is overdue: one timer per link, not one per message."""
        now = self._loop.time()
        for tag in [tag for tag, (_, deadline) in self._unconfirmed.items() if deadline <= now]:
            future, _ = self._unconfirmed.pop(tag)
            _reject(future, TimeoutError())
        self._sweeper = self._loop.call_later(SWEEP_EVERY, self._sweep) if self._unconfirmed else None

    # --- operations ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if not self.is_open:
            raise LinkLost(f"not connected to RabbitMQ at {self.where}")

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run a synchronous AMQP method (declare, bind, qos, cancel…) and return its reply frame."""
        self._check_open()
        future: asyncio.Future[Any] = self._loop.create_future()
        self._calls.add(future)
        try:
            getattr(self._channel, method)(*args, callback=lambda frame: _resolve(future, frame), **kwargs)
            return await future
        finally:
            self._calls.discard(future)

    def publish(
        self, exchange: str, routing_key: str, body: bytes, properties: Any, deadline: float
    ) -> asyncio.Future[None]:
        """Send a message; the future resolves when the server confirms it, fails on a Nack
        or when the link is lost, and raises :class:`TimeoutError` after ``deadline``
        (loop time, checked every :data:`SWEEP_EVERY` seconds)."""
        self._check_open()
        tag = self._published + 1
        try:
            self._channel.basic_publish(exchange, routing_key, body, properties)
        except (pika.exceptions.AMQPError, ValueError, TypeError) as exc:
            # Nothing reached the server, so the delivery tag is not used up.
            raise BrokerError(f"cannot send to {routing_key!r} on RabbitMQ at {self.where}: {exc!r}") from exc
        self._published = tag
        future: asyncio.Future[None] = self._loop.create_future()
        self._unconfirmed[tag] = (future, deadline)
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(SWEEP_EVERY, self._sweep)
        return future

    async def consume(self, queue: str, on_message: OnMessage) -> str:
        """Start delivering ``queue`` to ``on_message``; the consumer tag (for :meth:`cancel`)."""
        self._check_open()
        future: asyncio.Future[Any] = self._loop.create_future()
        self._calls.add(future)
        try:
            tag: str = self._channel.basic_consume(
                queue, on_message, callback=lambda frame: _resolve(future, frame)
            )
            await future
            return tag
        finally:
            self._calls.discard(future)

    def ack(self, delivery_tag: int) -> None:
        """Settle a delivery; on a lost link there is nothing to settle (the server redelivers)."""
        if self.is_open:
            self._channel.basic_ack(delivery_tag)

    def reject(self, delivery_tag: int) -> None:
        """Give a delivery back to its queue."""
        if self.is_open:
            self._channel.basic_nack(delivery_tag, requeue=True)

    async def close(self, timeout: float = 5.0) -> None:
        """Close gracefully; a server that does not answer in ``timeout`` gets the socket dropped."""
        connection = self._connection
        if connection is None or self.lost.done():
            return
        if not (connection.is_closing or connection.is_closed):
            connection.close()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self.lost)
        except TimeoutError:
            log.warning("RabbitMQ at %s did not answer the close; dropping the connection", self.where)
            with contextlib.suppress(Exception):
                connection._terminate_stream(None)  # pika has no public abort
            await asyncio.shield(self.lost)
