"""The state of one stream multiplexed on a connection, shared by the built-in transports.

A connection routes each inbound frame of a stream to :meth:`FrameStream.deliver`
and puts outbound frames on the wire through its :class:`Link`. Ends travel in
``Micro-Error``: ``EOS`` ends one direction, any other value is an error that ends
the stream. A connection keeps routing a stream until both directions have ended
(``Link.stream_finished``), so a late frame is never mistaken for a new stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Protocol

from micro_core import headers
from micro_core.errors import MicroError
from micro_core.transport.base import EndOfStream, Message, Stream

_EOS_HEADER = {headers.ERROR: headers.END_OF_STREAM}


class Link(Protocol):
    """The connection a stream travels on."""

    def send_frame(self, stream_id: str, header: dict[str, str], body: bytes) -> None:
        """Queue one frame of the stream; raises ``ConnectionError`` or ``PayloadTooLarge``."""

    async def drain(self) -> None:
        """Wait while the connection's outgoing buffer is full."""

    def stream_finished(self, stream: FrameStream) -> None:
        """Both directions ended: forget the stream."""


class FrameStream(Stream):
    """One end of a stream: an inbox fed by the connection, and a link to send on."""

    __slots__ = ("_closed", "_end", "_inbox", "_link", "_peer_done", "_sent_end", "_waiter", "id")

    def __init__(self, stream_id: str, link: Link) -> None:
        self.id = stream_id
        self._link = link
        self._inbox: deque[Message] = deque()
        self._waiter: asyncio.Future[None] | None = None
        #: What recv raises once the inbox is empty.
        self._end: BaseException | None = None
        self._peer_done = False
        self._sent_end = False
        self._closed = False

    # --- driven by the connection -----------------------------------------------------

    def deliver(self, message: Message) -> None:
        """An inbound frame of this stream."""
        if self._peer_done:
            return
        error = message.header.get(headers.ERROR)
        if error is None:
            if not self._closed:
                self._inbox.append(message)
                self._wake()
            return
        self._peer_done = True
        if error != headers.END_OF_STREAM and not self._closed:
            self._inbox.append(message)
        self._set_end(EndOfStream())
        self._maybe_finished()

    def abort(self, error: MicroError) -> None:
        """End the stream here with ``error`` (recv raises it) and tell the peer."""
        self._set_end(error)
        self._closed = True
        self._inbox.clear()
        if not self._sent_end:
            self._sent_end = True
            with contextlib.suppress(ConnectionError):  # nobody is left to tell
                self._link.send_frame(self.id, {headers.ERROR: error.to_json().decode()}, b"")
        self._maybe_finished()

    def fail(self, error: ConnectionError) -> None:
        """The connection is gone: every operation from now on raises ``error``."""
        self._peer_done = self._sent_end = True
        self._set_end(error)

    def _set_end(self, error: BaseException) -> None:
        if self._end is None:
            self._end = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _maybe_finished(self) -> None:
        if self._peer_done and self._sent_end:
            self._link.stream_finished(self)

    # --- Stream --------------------------------------------------------------------------

    async def recv(self) -> Message:
        while not self._inbox:
            if self._end is not None:
                raise self._end
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._inbox.popleft()

    async def send(self, message: Message) -> None:
        if self._sent_end:
            if isinstance(self._end, ConnectionError):
                raise self._end
            raise RuntimeError(f"stream {self.id} is closed for sending")
        self._link.send_frame(self.id, message.header, message.body)
        await self._link.drain()

    async def close_send(self) -> None:
        if not self._sent_end:
            self._send_end(_EOS_HEADER)
            await self._link.drain()

    async def close(self, error: Message | None = None) -> None:
        if error is not None and headers.ERROR not in error.header:
            raise ValueError(f"an error closing a stream needs a {headers.ERROR} header: {error!r}")
        if self._closed:
            return
        self._closed = True
        self._inbox.clear()
        self._set_end(EndOfStream())
        if self._sent_end:
            self._maybe_finished()
            return
        with contextlib.suppress(ConnectionError):  # nobody is left to tell
            self._send_end(
                _EOS_HEADER if error is None else error.header, b"" if error is None else error.body
            )

    def _send_end(self, header: dict[str, str], body: bytes = b"") -> None:
        self._sent_end = True
        try:
            self._link.send_frame(self.id, header, body)
        finally:
            self._maybe_finished()
