"""The default transport: messages as HTTP/1.1 requests and responses, wire-compatible with Go Micro.

Every client message is ``POST / HTTP/1.1`` and every server message ``HTTP/1.1 200 OK``,
each with ``Content-Length`` and the message headers. Unlike Go Micro's client, one
connection carries many calls at once: each request carries its own ``Micro-Id``,
the server echoes it, and replies are matched by it in whatever order they come.
Streams share the connection, each frame tagged ``Micro-Stream``.

This is the framework's hot path, so it sits directly on asyncio protocols and
httptools, and gathers the frames of one event-loop iteration into one write.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

import httptools

from micro_core import errors, headers
from micro_core.tls import TLSConfig
from micro_core.transport._stream import FrameStream
from micro_core.transport.base import (
    Connection,
    Listener,
    Message,
    ServerHandler,
    Stream,
    Transport,
)
from micro_core.transport.gomicro import NodePool, is_go_micro
from micro_core.transport.limits import ServerLimits
from micro_core.transport.reachable import reachable_host

if TYPE_CHECKING:
    import ssl

    from httptools.parser.parser import HttpParser

    from micro_core.registry import Node

log = logging.getLogger(__name__)

#: Headers the transport writes itself; a message's own copies are left out.
_CONTROL = frozenset({headers.ID, headers.STREAM, "Content-Length", "Host", "Transfer-Encoding"})
#: Received headers that frame the HTTP message rather than belong to it (lower case).
_FRAMING = frozenset({b"host", b"content-length", b"transfer-encoding"})
_FRAMING_LENGTHS = frozenset(len(name) for name in _FRAMING)
#: The headers a client reads from a reply, by their lower-case wire names: HTTP header
#: names are case-insensitive, and some servers lower-case them (uvicorn on httptools,
#: anything behind an HTTP/2 hop). Other names are kept as they came.
_REPLY_NAMES = {name.lower(): name for name in headers.RESERVED}
#: Received name → the header name a reply is read under ("" for a framing header), kept
#: so that a reply's header costs one dict look-up as before; bounded against a peer that
#: sends endless new names.
_reply_names: dict[bytes, str] = {name: "" for name in _FRAMING}
_REPLY_NAMES_KEPT = 512

#: Frames gathered before a write goes out mid-iteration. One write per loop iteration
#: saves syscalls, but a whole burst in one write makes the two ends take turns (each
#: idles while the other works through the burst); sending every few frames lets the
#: peer start at once. Measured here: 64 concurrent calls went from ~45k to ~75k calls/s.
_FLUSH_FRAMES = 4
#: Seconds a refused connection is still read (and dropped) from after the refusal went out.
_LINGER = 1.0
_REQUEST_LINE = "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: "
_STATUS_LINE = "HTTP/1.1 200 OK\r\nContent-Length: "


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` or ``"[v6]:port"`` → (host, port); an empty host means every interface."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.strip("[]"), int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _header_lines(header: dict[str, str]) -> str:
    """The message headers as HTTP header lines, refusing any that would break the framing."""
    if not _CONTROL.isdisjoint(header):
        header = {name: value for name, value in header.items() if name not in _CONTROL}
    if not header:
        return ""
    lines = "\r\n".join(map(": ".join, header.items()))
    breaks = len(header) - 1
    if lines.count("\n") != breaks or lines.count("\r") != breaks:
        raise ValueError(f"header names and values must not contain line breaks: {header!r}")
    return lines + "\r\n"


def _error_header(error: errors.MicroError) -> dict[str, str]:
    return {headers.ERROR: error.to_json().decode()}


def _refusal(error: errors.MicroError) -> bytes:
    """A whole response refusing a request, the error in the body and in ``Micro-Error``;
    the server hangs up after it."""
    body = error.to_json()
    return b"HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\n%s%s\r\n\r\n%s" % (
        error.code,
        error.status.encode(),
        b"Content-Length: %d\r\n" % len(body),
        b"%s: %s" % (headers.ERROR.encode(), body),
        body,
    )


def _too_large(what: str, size: int, limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"{what} of {size} bytes exceeds the limit of {limit} bytes", id="micro.transport"
    )


class _Peer(asyncio.Protocol):
    """One end of an HTTP connection: parses frames, batches writes, routes stream frames.

    Subclasses set ``_start`` (the frame's first lines, up to the Content-Length
    value) and ``_parser``, and say what a complete inbound message means.
    """

    _start: str
    _parser: HttpParser

    def __init__(self, max_size: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._max = max_size
        self._transport: asyncio.Transport | None = None
        self._out: list[bytes] = []
        self._frames = 0  # frames in ``_out``
        self._paused = False
        self._resumed: asyncio.Future[None] | None = None
        #: Set once the connection is gone; raised by everything after.
        self._lost: ConnectionError | None = None
        self._streams: dict[str, FrameStream] = {}
        # The inbound message being parsed.
        self._header: dict[str, str] = {}
        self._chunks: list[bytes] = []
        self._size = 0

    # --- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._protocol_error(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._shutdown(self._connection_error(exc))
        self._transport = None

    def _shutdown(self, error: ConnectionError) -> None:
        """Fail everything waiting on this connection with ``error``; idempotent."""
        if self._lost is not None:
            return
        self._lost = error
        self._out, self._frames = [], 0
        streams, self._streams = self._streams, {}
        for stream in streams.values():
            stream.fail(error)
        self.resume_writing()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    # --- writing ---------------------------------------------------------------------------

    def _write(self, id_line: str, header: dict[str, str], body: bytes) -> None:
        """Queue one frame; the queue goes out in one write at the end of this loop iteration."""
        head = f"{self._start}{len(body)}\r\n{id_line}{_header_lines(header)}\r\n".encode()
        out = self._out
        if not out:
            self._loop.call_soon(self._flush)
        out.append(head)
        if body:
            out.append(body)
        self._frames += 1
        if self._frames >= _FLUSH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        out, self._out = self._out, []
        self._frames = 0
        if out and self._lost is None and self._transport is not None:
            self._transport.write(b"".join(out))

    async def drain(self) -> None:
        if self._paused and self._lost is None:
            if self._resumed is None:
                self._resumed = self._loop.create_future()
            await self._resumed
        if self._lost is not None:
            raise self._lost

    # --- reading (httptools callbacks) -----------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) in _FRAMING_LENGTHS and name.lower() in _FRAMING:
            return
        self._header[name.decode()] = value.decode()

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= self._max:
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        header, chunks, size = self._header, self._chunks, self._size
        self._header, self._chunks, self._size = {}, [], 0
        if size > self._max:
            self._oversized(header, size)
            return
        message = Message(header, chunks[0] if len(chunks) == 1 else b"".join(chunks))
        stream_id = header.get(headers.STREAM)
        if stream_id is None:
            self._unary(message)
        else:
            self._stream_frame(stream_id, message)

    def _oversized(self, header: dict[str, str], size: int) -> None:
        error = _too_large("message", size, self._max)
        stream_id = header.get(headers.STREAM)
        if stream_id is None:
            self._unary_too_large(header.get(headers.ID), error)
            return
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.abort(error)
        elif headers.ERROR not in header:
            self.send_frame(stream_id, _error_header(error), b"")

    # --- streams (the Link the FrameStreams send on) ---------------------------------------

    def send_frame(self, stream_id: str, header: dict[str, str], body: bytes) -> None:
        if self._lost is not None:
            raise self._lost
        if len(body) > self._max:
            raise _too_large("stream message", len(body), self._max)
        self._write(f"{headers.STREAM}: {stream_id}\r\n", header, body)

    def stream_finished(self, stream: FrameStream) -> None:
        if self._streams.get(stream.id) is stream:
            del self._streams[stream.id]

    # --- what each end does ----------------------------------------------------------------

    def _unary(self, message: Message) -> None:
        raise NotImplementedError

    def _stream_frame(self, stream_id: str, message: Message) -> None:
        raise NotImplementedError

    def _unary_too_large(self, message_id: str | None, error: errors.PayloadTooLarge) -> None:
        raise NotImplementedError

    def _protocol_error(self, exc: Exception) -> None:
        raise NotImplementedError

    def _connection_error(self, exc: Exception | None) -> ConnectionError:
        raise NotImplementedError


class _ServerPeer(_Peer):
    """The server end of one accepted connection."""

    _start = _STATUS_LINE

    def __init__(self, listener: HTTPListener) -> None:
        super().__init__(listener.max_message_size)
        self._listener = listener
        self._handler = listener.handler
        self._parser = httptools.HttpRequestParser(self)
        self._peer_name = "?"
        self._limits = listener.limits
        # No clock is read per request: the listener's sweeper compares these between its
        # rounds to see how long a request has been arriving, or a connection idle.
        self._reading = False  # inside a request: begun, not complete
        self._head_done = False  # ... and its headers complete
        self._head_bytes = 0
        self._busy = 0  # unary handlers running
        self._ticks = 0  # requests completed plus replies sent: the connection's sign of life
        self._seen = (-1, False)
        self._since = 0.0
        #: Set once the connection is to end: the response to send last, and why.
        self._closing: tuple[bytes, str] | None = None

    def on_url(self, url: bytes) -> None:
        """A target other than ``/`` reaches the handler as the ``:path`` header (Go Micro's
        http broker names the subscriber in it)."""
        if url != b"/":
            self._header[headers.PATH] = url.decode()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        if peer:
            self._peer_name = join_address(str(peer[0]), int(peer[1]))
        cap = self._limits.max_connections
        if len(self._listener.peers) >= cap:
            log.warning(
                "%s: refusing %s, %d connections are open", self._listener.address, self._peer_name, cap
            )
            error = errors.ServiceUnavailable(
                f"{self._listener.address} has {cap} connections open", id="micro.transport"
            )
            self._transport.write(_refusal(error))  # type: ignore[union-attr]
            self._transport.close()  # type: ignore[union-attr]
            return
        self._listener.peers.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._listener.peers.discard(self)
        super().connection_lost(exc)
        # The parser holds this protocol's callbacks and the protocol holds the parser:
        # without breaking the cycle, a half-read request's buffers (up to the header
        # limit) stay until the next full garbage collection.
        del self._parser
        self._header, self._chunks = {}, []

    def data_received(self, data: bytes) -> None:
        if self._closing is not None:
            return  # refused: what the client still sends is dropped
        super().data_received(data)
        if self._reading and not self._head_done:  # this read ended inside a request's headers
            self._head_bytes += len(data)
            limit = self._limits.max_header_bytes
            if self._head_bytes > limit:
                self._refuse(
                    errors.MicroError(
                        f"request headers exceed {limit} bytes", code=431, id="micro.transport"
                    ),
                    "too long",
                )

    def on_message_begin(self) -> None:
        self._reading = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_done = True
        if len(self._header) > self._limits.max_headers:
            error = errors.MicroError(
                f"more than {self._limits.max_headers} header fields", code=431, id="micro.transport"
            )
            self._refuse(error, "too many headers")

    def on_message_complete(self) -> None:
        self._reading = self._head_done = False
        self._ticks += 1
        if self._closing is None:
            super().on_message_complete()
        else:  # refused: nothing more is served on this connection
            self._header, self._chunks, self._size = {}, [], 0

    def sweep(self, now: float) -> None:
        """Called by the listener's sweeper: hang up on a client too slow or idle too long."""
        state = (self._ticks, self._reading)
        if state != self._seen:
            self._seen, self._since = state, now
            return
        waited, limits = now - self._since, self._limits
        if self._reading:
            limit = limits.read_timeout if self._head_done else limits.header_timeout
            if waited > limit:
                what = "request" if self._head_done else "request's headers"
                self._refuse(
                    errors.Timeout(f"the {what} took over {limit:g}s", id="micro.transport"), "too slow"
                )
        elif not self._busy and not self._streams and waited > limits.idle_timeout:
            self.close(f"idle for {limits.idle_timeout:g}s")

    def pause_writing(self) -> None:
        """A client that does not read its replies gets no more requests read either."""
        super().pause_writing()
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._transport is not None and self._lost is None and self._closing is None:
            self._transport.resume_reading()

    def _connection_error(self, exc: Exception | None) -> ConnectionError:
        return ConnectionError(f"client {self._peer_name} of {self._listener.address} went away")

    def _unary(self, message: Message) -> None:
        self._busy += 1
        self._loop.create_task(self._serve_unary(message, message.header.get(headers.ID)))

    async def _serve_unary(self, request: Message, message_id: str | None) -> None:
        try:
            reply = await self._handler.unary(request)
        except Exception as exc:
            log.exception("unary handler failed on %s", self._listener.address)
            reply = Message(
                _error_header(
                    errors.InternalServerError(f"{type(exc).__name__}: {exc}", id="micro.transport")
                )
            )
        if self._lost is None:
            self._reply(message_id, reply)
        self._busy -= 1
        self._ticks += 1
        if self._closing is not None and not self._busy:
            self._hang_up()

    def _reply(self, message_id: str | None, reply: Message) -> None:
        id_line = "" if message_id is None else f"{headers.ID}: {message_id}\r\n"
        if len(reply.body) > self._max:
            error: errors.MicroError = _too_large("reply", len(reply.body), self._max)
            reply = Message(_error_header(error))
        try:
            self._write(id_line, reply.header, reply.body)
        except (ValueError, TypeError) as exc:
            error = errors.InternalServerError(f"unsendable reply: {exc}", id="micro.transport")
            self._write(id_line, _error_header(error), b"")

    def _unary_too_large(self, message_id: str | None, error: errors.PayloadTooLarge) -> None:
        self._reply(message_id, Message(_error_header(error)))

    def _stream_frame(self, stream_id: str, message: Message) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.deliver(message)
        elif headers.ERROR not in message.header:  # the end of a stream already forgotten is dropped
            stream = self._streams[stream_id] = FrameStream(stream_id, self)
            self._loop.create_task(self._serve_stream(message, stream))

    async def _serve_stream(self, request: Message, stream: FrameStream) -> None:
        try:
            await self._handler.stream(request, stream)
        except Exception as exc:
            log.exception("stream handler failed on %s", self._listener.address)
            error = errors.InternalServerError(f"{type(exc).__name__}: {exc}", id="micro.transport")
            await stream.close(Message(_error_header(error)))
        else:
            await stream.close()

    def _protocol_error(self, exc: Exception) -> None:
        """Bytes that are not HTTP: answer 400 and hang up; the other connections go on."""
        self._refuse(errors.BadRequest(f"not an HTTP/1.1 request: {exc}", id="micro.transport"), "not HTTP")

    def _refuse(self, error: errors.MicroError, why: str) -> None:
        """Read no more; once the calls already running have replied, answer ``error`` and hang up."""
        if self._lost is not None or self._transport is None or self._closing is not None:
            return
        self._transport.pause_reading()
        self._closing = (_refusal(error), f"client {self._peer_name} refused ({why}): {error.detail}")
        if not self._busy:
            self._hang_up()

    def _hang_up(self) -> None:
        """Send the refusal and end the connection; keep reading (and dropping) for a moment,
        as Go's server does: closing with unread bytes resets the connection, and the client
        may then never read the refusal."""
        transport = self._transport
        if self._closing is None or transport is None:
            return
        response, why = self._closing
        self._out.append(response)
        if not transport.can_write_eof():
            self.close(why)
            return
        self._flush()
        self._shutdown(ConnectionError(f"connection {self._peer_name} to {self._listener.address}: {why}"))
        transport.write_eof()
        transport.resume_reading()
        self._loop.call_later(_LINGER, transport.close)

    def close(self, why: str) -> None:
        """Send what is queued, then hang up; the stream handlers still running see ``why``."""
        self._flush()
        self._shutdown(ConnectionError(f"connection {self._peer_name} to {self._listener.address}: {why}"))
        if self._transport is not None:
            self._transport.close()


class _Deadlines:
    """The timeouts of a connection's pending calls, on one timer.

    A timer per call costs more than the rest of a call's bookkeeping. Instead
    deadlines go on a heap; entries of calls already answered are dropped when
    they surface, or all at once when they outnumber the pending calls.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        pending: dict[str, asyncio.Future[Message]],
        expire: Callable[[str, float], None],
    ) -> None:
        self._loop = loop
        self._pending = pending
        self._expire = expire
        self._heap: list[tuple[float, str, float]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = math.inf

    def add(self, timeout: float, message_id: str) -> None:
        deadline = self._loop.time() + timeout
        heap = self._heap
        heapq.heappush(heap, (deadline, message_id, timeout))
        if deadline < self._armed_for:
            self._arm(deadline)
        if len(heap) > 2 * len(self._pending) + 64:
            self._heap = [entry for entry in heap if entry[1] in self._pending]
            heapq.heapify(self._heap)

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._fire)
        self._armed_for = deadline

    def _fire(self) -> None:
        self._timer, self._armed_for = None, math.inf
        heap, now = self._heap, self._loop.time()
        while heap and heap[0][0] <= now:
            _, message_id, timeout = heapq.heappop(heap)
            self._expire(message_id, timeout)
        if heap:
            self._arm(heap[0][0])

    def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._armed_for, self._heap = None, math.inf, []


class HTTPConnection(_Peer, Connection):
    """A client connection; any number of calls and streams share it."""

    def __init__(self, address: str, max_size: int, target: str = "/") -> None:
        super().__init__(max_size)
        self.address = address
        self._start = _REQUEST_LINE.format(target, address)
        self._parser = self._response_parser = httptools.HttpResponseParser(self)
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._deadlines = _Deadlines(self._loop, self._pending, self._expire)
        self._ids = itertools.count(1)

    @property
    def closed(self) -> bool:
        return self._lost is not None

    def _connection_error(self, exc: Exception | None) -> ConnectionError:
        why = f": {exc}" if exc else ""
        return ConnectionError(f"connection to {self.address} lost{why}")

    def _shutdown(self, error: ConnectionError) -> None:
        if self._lost is not None:
            return
        super()._shutdown(error)
        self._deadlines.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        if self._lost is not None:
            raise self._lost
        body = request.body
        if len(body) > self._max:
            raise _too_large(f"request to {self.address}", len(body), self._max)
        message_id = str(next(self._ids))
        self._write(f"{headers.ID}: {message_id}\r\n", request.header, body)
        reply: asyncio.Future[Message] = self._loop.create_future()
        self._pending[message_id] = reply
        if timeout is not None:
            self._deadlines.add(timeout, message_id)
        try:
            if self._paused:
                await self.drain()
            return await reply
        finally:
            self._pending.pop(message_id, None)

    def _expire(self, message_id: str, timeout: float) -> None:
        reply = self._pending.pop(message_id, None)
        if reply is not None and not reply.done():
            reply.set_exception(TimeoutError(f"no reply from {self.address} within {timeout:.3g}s"))

    async def stream(self, request: Message) -> Stream:
        if self._lost is not None:
            raise self._lost
        stream_id = request.header.get(headers.STREAM) or f"s{next(self._ids)}"
        if stream_id in self._streams:
            raise ValueError(f"stream {stream_id} is already open on {self.address}")
        self.send_frame(stream_id, request.header, request.body)
        stream = self._streams[stream_id] = FrameStream(stream_id, self)
        await self.drain()
        return stream

    async def close(self) -> None:
        self._flush()
        self._shutdown(ConnectionError(f"connection to {self.address} was closed"))
        if self._transport is not None:
            self._transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        key = _reply_names.get(name)
        if key is None:
            key = _reply_name(name)
        if key:
            self._header[key] = value.decode()

    def on_message_complete(self) -> None:
        status = self._response_parser.get_status_code()
        if status != 200:
            self._protocol_error(ConnectionError(f"{self.address} answered HTTP {status}"))
            return
        super().on_message_complete()

    def _unary(self, message: Message) -> None:
        reply = self._pending.pop(message.header.get(headers.ID, ""), None)
        if reply is not None and not reply.done():
            reply.set_result(message)

    def _stream_frame(self, stream_id: str, message: Message) -> None:
        stream = self._streams.get(stream_id)
        if stream is not None:
            stream.deliver(message)

    def _unary_too_large(self, message_id: str | None, error: errors.PayloadTooLarge) -> None:
        reply = self._pending.pop(message_id or "", None)
        if reply is not None and not reply.done():
            reply.set_exception(error)

    def _protocol_error(self, exc: Exception) -> None:
        """A reply we cannot read: the connection is unusable, fail everything on it."""
        self._shutdown(ConnectionError(f"unreadable reply from {self.address}: {exc}"))
        if self._transport is not None:
            self._transport.abort()


def _reply_name(name: bytes) -> str:
    """The name a reply header is read under: the kernel's spelling of its own headers
    whatever their case, any other name as it came, nothing for a framing header."""
    if name.lower() in _FRAMING:
        return ""
    text = name.decode()
    key = _REPLY_NAMES.get(text.lower(), text)
    if len(_reply_names) < _REPLY_NAMES_KEPT:
        _reply_names[name] = key
    return key


class _InOrderConnection(HTTPConnection):
    """A connection to a peer that serves one request at a time (Go Micro's): the reply
    answers the oldest pending call, whatever ``Micro-Id`` it carries. Its pool keeps one
    call in flight on it."""

    def _unary(self, message: Message) -> None:
        for message_id in self._pending:
            reply = self._pending.pop(message_id)
            if not reply.done():
                reply.set_result(message)
            return

    def _expire(self, message_id: str, timeout: float) -> None:
        super()._expire(message_id, timeout)
        # The late reply would be read as the next call's: this connection is done.
        self._protocol_error(TimeoutError(f"no reply within {timeout:.3g}s"))


async def _open(
    address: str,
    timeout: float | None,
    connection: Callable[[], HTTPConnection],
    tls: ssl.SSLContext | None = None,
) -> HTTPConnection:
    host, port = split_address(address)
    connecting = asyncio.get_running_loop().create_connection(
        connection, host, port, ssl=tls, server_hostname=host if tls is not None else None
    )
    try:
        _, opened = await asyncio.wait_for(connecting, timeout)
    except TimeoutError:
        raise ConnectionError(f"cannot connect to {address}: no answer within {timeout}s") from None
    except OSError as exc:
        raise ConnectionError(f"cannot connect to {address}: {exc.strerror or exc}") from exc
    return opened


async def dial_in_order(
    address: str,
    timeout: float | None,
    max_size: int,
    target: str = "/",
    tls: ssl.SSLContext | None = None,
) -> Connection:
    """A connection for one call at a time to a Go Micro node, posting to ``target``.

    Used through a :class:`~micro_core.transport.gomicro.NodePool`, which keeps one call
    in flight on it.
    """
    return await _open(address, timeout, lambda: _InOrderConnection(address, max_size, target), tls)


class HTTPListener(Listener):
    """A listening socket and the connections it accepted."""

    def __init__(
        self,
        handler: ServerHandler,
        max_message_size: int,
        limits: ServerLimits | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.max_message_size = max_message_size
        self.limits = limits or ServerLimits()
        self.tls = tls
        self.peers: set[_ServerPeer] = set()
        self.address = ""
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, address: str) -> None:
        host, port = split_address(address)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _ServerPeer(self),
                host or None,
                port,
                reuse_address=True,
                ssl=self.tls,
                ssl_handshake_timeout=self.limits.header_timeout if self.tls is not None else None,
            )
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {address}: {exc.strerror}") from exc
        name = self._server.sockets[0].getsockname()
        # Bound to every interface: advertise one that callers on other hosts can reach.
        self.address = join_address(reachable_host(host or str(name[0])), int(name[1]))
        self._sweeper = loop.create_task(self._sweep(), name=f"http listener {self.address}")

    async def _sweep(self) -> None:
        """One timer for every connection's timeouts: a timer per request would cost more than the request."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.limits.sweep_interval)
            now = loop.time()
            for peer in list(self.peers):
                peer.sweep(now)

    async def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        server.close()
        for peer in list(self.peers):
            peer.close("the listener closed")
        await server.wait_closed()


class HTTPTransport(Transport):
    """``http``: HTTP/1.1 framing, wire-compatible with Go Micro's default transport."""

    name = "http"

    _client_tls: ssl.SSLContext | None = None

    def _load_tls(self, tls: TLSConfig) -> None:
        self._client_tls = tls.client_context()
        if tls.cert:  # a bad server file fails now too, not at the first listen
            tls.server_context()

    async def dial(self, address: str, timeout: float | None = None) -> Connection:
        return await _open(
            address, timeout, lambda: HTTPConnection(address, self.max_message_size), self._client_tls
        )

    async def connect(self, node: Node, timeout: float | None = None) -> Connection:
        """micro's nodes get one multiplexed connection, Go Micro's a pool of one-call connections."""
        if not is_go_micro(node.metadata):
            return await self.dial(node.address, timeout)
        dial = partial(dial_in_order, node.address, max_size=self.max_message_size, tls=self._client_tls)
        pool = NodePool(node.address, dial)
        await pool.warm(timeout)
        return pool

    async def listen(self, address: str, handler: ServerHandler) -> Listener:
        server_tls = self.tls.server_context() if self.tls is not None else None
        listener = HTTPListener(handler, self.max_message_size, self.limits, server_tls)
        await listener.start(address)
        return listener
