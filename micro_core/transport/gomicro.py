"""Talking to Go Micro nodes: how to tell them apart, and a pool of one-call-at-a-time connections.

Go Micro's HTTP transport serves a connection one request at a time, and answers every
request on it with the headers of the connection's first request (that ``Micro-Id``
included). A request pipelined behind another is never served, and replies cannot be
matched by id: only by order, one in flight. Go Micro's own client therefore keeps a
pool of connections per node and sends each call on an idle one. :class:`NodePool`
does the same for micro's client and broker, over connections the transport dials.

micro's nodes register ``server: micro`` in their metadata (services and broker
subscriptions alike) and keep their multiplexed connections. Any other registered
node is taken for Go Micro's. A node known only by its address (``call(...,
address=...)``) has no metadata and is taken for micro's.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Mapping

from micro_core import errors
from micro_core.transport.base import Connection, Message, Stream

#: The ``server`` metadata value every micro node registers.
MICRO_SERVER = "micro"
#: Connections a pool opens to one node at most: Go Micro's client's default.
DEFAULT_POOL_SIZE = 100
#: Seconds a connection rests after a reply before it carries the next request, while
#: the pool has room for another connection instead. Go Micro v5's server files each
#: request under an id it never finds in the headers (``Micro-ID``, canonicalised to
#: ``Micro-Id``), so all requests of a connection share one slot, freed only after the
#: reply is on the wire: a request that arrives in between joins the finished one and is
#: never answered. Go Micro's own client loses about 1 call in 7000 to it here (5 s
#: timeouts); micro's faster client lost one in a few thousand at one call in flight.
_REST = 0.002

Dial = Callable[[float | None], Awaitable[Connection]]


def is_go_micro(metadata: Mapping[str, str]) -> bool:
    """Whether a node that registered ``metadata`` is Go Micro's (see the module docstring)."""
    return bool(metadata) and metadata.get("server") != MICRO_SERVER


class NodePool(Connection):
    """Connections to one node, each carrying one call at a time; opened on demand, kept while healthy.

    ``dial(timeout)`` opens one connection. A call takes an idle connection, or dials one
    while fewer than ``size`` are open, or waits for one to come back, all within its
    timeout. A connection that fails or times out is dropped: a late reply on it would
    otherwise be read as the answer to the next call.
    """

    def __init__(self, address: str, dial: Dial, size: int = DEFAULT_POOL_SIZE) -> None:
        if size < 1:
            raise ValueError(f"a pool needs room for at least one connection, not {size}")
        self.address = address
        self._dial = dial
        self._size = size
        self._idle: collections.deque[tuple[Connection, float]] = collections.deque()  # oldest first
        self._open = 0  # connections open or being dialled
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        connection = await self._acquire(deadline)
        try:
            return await connection.call(request, None if deadline is None else deadline - loop.time())
        finally:
            self._release(connection)

    async def warm(self, timeout: float | None) -> None:
        """Open the first connection now, so that an unreachable node fails here, as a dial does."""
        loop = asyncio.get_running_loop()
        self._release(await self._acquire(None if timeout is None else loop.time() + timeout))

    async def _acquire(self, deadline: float | None) -> Connection:
        loop = asyncio.get_running_loop()
        while True:
            if self._closed:
                raise ConnectionError(f"the connections to {self.address} were closed")
            while self._idle:
                connection, released = self._idle[0]
                if connection.closed:
                    self._idle.popleft()
                    self._open -= 1
                elif loop.time() - released >= _REST or self._open >= self._size:
                    self._idle.popleft()
                    return connection
                else:
                    break  # rested too little: a new connection, if there is room
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise TimeoutError(f"no free connection to {self.address} in time")
            if self._open < self._size:
                self._open += 1
                try:
                    return await self._dial(left)
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, left)
            except BaseException as error:
                if waiter.done() and not waiter.cancelled():
                    # Woken in the loop turn it timed out or was cancelled: the wake-up is
                    # the next waiter's, or it waits out its timeout beside an idle connection.
                    self._wake()
                waiter.cancel()
                if not isinstance(error, TimeoutError):
                    raise
                raise TimeoutError(f"all {self._size} connections to {self.address} stayed busy") from None

    def _release(self, connection: Connection) -> None:
        if connection.closed or self._closed:
            self._open -= 1
            if not connection.closed:
                asyncio.get_running_loop().create_task(connection.close())
        else:
            self._idle.append((connection, asyncio.get_running_loop().time()))
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def stream(self, request: Message) -> Stream:
        raise errors.from_code(
            501, f"streams to the Go Micro node {self.address} are not supported", id="micro.transport"
        )

    async def close(self) -> None:
        self._closed = True
        idle = [connection for connection, _ in self._idle]
        self._idle.clear()
        self._open -= len(idle)
        waiters, self._waiters = self._waiters, collections.deque()
        for waiter in waiters:  # they see the pool closed
            if not waiter.done():
                waiter.set_result(None)
        for connection in idle:
            await connection.close()


__all__ = ["DEFAULT_POOL_SIZE", "MICRO_SERVER", "NodePool", "is_go_micro"]
