"""``memory``: the transport for tests, inside one process, with the semantics of the real ones.

Listeners live in a per-process table keyed by address; an address ending in ``:0``
gets a fresh number, like a free port. Messages are handed over as objects (each
hop gets its own header dict; bodies are never copied), yet calls still run
concurrently on one connection, time out, hit the size limit, and fail with
``ConnectionError`` when the listener goes away, exactly as over a socket.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging

from micro_core import errors, headers
from micro_core.transport._stream import FrameStream
from micro_core.transport.base import Connection, Listener, Message, ServerHandler, Stream, Transport

log = logging.getLogger(__name__)

_listeners: dict[str, MemoryListener] = {}
_numbers = itertools.count(1)


def _error_message(error: errors.MicroError) -> Message:
    return Message({headers.ERROR: error.to_json().decode()})


def _too_large(what: str, size: int, limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"{what} of {size} bytes exceeds the limit of {limit} bytes", id="micro.transport"
    )


class _End:
    """The link of one end of a stream: frames it sends are delivered to the other end."""

    def __init__(self, connection: MemoryConnection, limit: int, peer_limit: int) -> None:
        self.connection = connection
        self.limit = limit
        self.peer_limit = peer_limit
        self.peer: FrameStream | None = None

    def send_frame(self, stream_id: str, header: dict[str, str], body: bytes) -> None:
        self.connection.check()
        if len(body) > self.limit:
            raise _too_large("stream message", len(body), self.limit)
        if self.peer is None:
            return  # the other end refused the stream's first message
        if len(body) > self.peer_limit:
            self.peer.abort(_too_large("message", len(body), self.peer_limit))
        else:
            self.peer.deliver(Message(dict(header), body))

    async def drain(self) -> None:
        self.connection.check()

    def stream_finished(self, stream: FrameStream) -> None:
        self.connection.streams.discard(stream)


class MemoryConnection(Connection):
    """A client's connection to a :class:`MemoryListener`."""

    def __init__(self, listener: MemoryListener, max_size: int) -> None:
        self.listener = listener
        self.address = listener.address
        self._max = max_size
        self._lost: ConnectionError | None = None
        self._pending: set[asyncio.Future[Message]] = set()
        self.streams: set[FrameStream] = set()
        self._ids = itertools.count(1)
        listener.connections.add(self)

    @property
    def closed(self) -> bool:
        return self._lost is not None

    def check(self) -> None:
        if self._lost is not None:
            raise self._lost

    def shutdown(self, error: ConnectionError) -> None:
        """Fail every pending call and open stream (both ends) with ``error``; idempotent."""
        if self._lost is not None:
            return
        self._lost = error
        self.listener.connections.discard(self)
        pending, self._pending = self._pending, set()
        for reply in pending:
            if not reply.done():
                reply.set_exception(error)
        streams, self.streams = self.streams, set()
        for stream in streams:
            stream.fail(error)

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        self.check()
        if len(request.body) > self._max:
            raise _too_large(f"request to {self.address}", len(request.body), self._max)
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Message] = loop.create_future()
        self._pending.add(reply)
        task = loop.create_task(self.listener.serve_unary(Message(dict(request.header), request.body)))
        task.add_done_callback(lambda done: self._answer(reply, done))
        timer = None if timeout is None else loop.call_later(timeout, self._expire, reply, timeout)
        try:
            return await reply
        finally:
            if timer is not None:
                timer.cancel()
            self._pending.discard(reply)

    def _answer(self, reply: asyncio.Future[Message], task: asyncio.Task[Message]) -> None:
        if reply.done() or task.cancelled():
            return
        message = task.result()
        if len(message.body) > self._max:
            reply.set_exception(_too_large("message", len(message.body), self._max))
        else:
            reply.set_result(Message(dict(message.header), message.body))

    def _expire(self, reply: asyncio.Future[Message], timeout: float) -> None:
        if not reply.done():
            reply.set_exception(TimeoutError(f"no reply from {self.address} within {timeout:.3g}s"))

    async def stream(self, request: Message) -> Stream:
        self.check()
        stream_id = request.header.get(headers.STREAM) or f"s{next(self._ids)}"
        limit = self.listener.max_message_size
        if len(request.body) > self._max:
            raise _too_large("stream message", len(request.body), self._max)
        client_end, server_end = _End(self, self._max, limit), _End(self, limit, self._max)
        client = FrameStream(stream_id, client_end)
        if len(request.body) > limit:
            client.deliver(_error_message(_too_large("message", len(request.body), limit)))
            return client
        server = FrameStream(stream_id, server_end)
        client_end.peer, server_end.peer = server, client
        self.streams.update((client, server))
        opening = Message({**request.header, headers.STREAM: stream_id}, request.body)
        asyncio.get_running_loop().create_task(self.listener.serve_stream(opening, server))
        return client

    async def close(self) -> None:
        self.shutdown(ConnectionError(f"connection to {self.address} was closed"))


class MemoryListener(Listener):
    """An entry in the process's table of listeners."""

    def __init__(self, address: str, handler: ServerHandler, max_message_size: int) -> None:
        self.address = address
        self.handler = handler
        self.max_message_size = max_message_size
        self.connections: set[MemoryConnection] = set()

    async def serve_unary(self, request: Message) -> Message:
        if len(request.body) > self.max_message_size:
            return _error_message(_too_large("message", len(request.body), self.max_message_size))
        try:
            reply = await self.handler.unary(request)
        except Exception as exc:
            log.exception("unary handler failed on %s", self.address)
            return _error_message(
                errors.InternalServerError(f"{type(exc).__name__}: {exc}", id="micro.transport")
            )
        if len(reply.body) > self.max_message_size:
            return _error_message(_too_large("reply", len(reply.body), self.max_message_size))
        return reply

    async def serve_stream(self, request: Message, stream: FrameStream) -> None:
        try:
            await self.handler.stream(request, stream)
        except Exception as exc:
            log.exception("stream handler failed on %s", self.address)
            await stream.close(
                _error_message(
                    errors.InternalServerError(f"{type(exc).__name__}: {exc}", id="micro.transport")
                )
            )
        else:
            await stream.close()

    async def close(self) -> None:
        if _listeners.get(self.address) is self:
            del _listeners[self.address]
        for connection in list(self.connections):
            connection.shutdown(ConnectionError(f"connection to {self.address} lost: the listener closed"))


class MemoryTransport(Transport):
    """``memory``: in-process listeners, for fast tests."""

    name = "memory"

    async def dial(self, address: str, timeout: float | None = None) -> Connection:
        listener = _listeners.get(address)
        if listener is None:
            raise ConnectionError(f"cannot connect to {address}: nothing listens there")
        return MemoryConnection(listener, self.max_message_size)

    async def listen(self, address: str, handler: ServerHandler) -> Listener:
        if address.endswith(":0"):
            prefix = address[:-1]
            address = next(a for a in (f"{prefix}{n}" for n in _numbers) if a not in _listeners)
        if address in _listeners:
            raise OSError(errno.EADDRINUSE, f"cannot listen on {address}: address already in use")
        listener = _listeners[address] = MemoryListener(address, handler, self.max_message_size)
        return listener
