"""The RPC client: call, stream and publish by service name.

One call's way through it: encode the request → the call chain (plugins'
``micro_wrap_call`` around :meth:`Client._send`) → the selector picks a node from its
cache → a pooled, multiplexed transport connection → the reply, or the remote error
re-raised as the same typed exception. A connection failure or a retriable error
(502/503/504) marks the node and tries another one, with backoff, within the call's
deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from micro_core import context, errors, headers
from micro_core.registry import Node
from micro_core.selector.base import Unreachable
from micro_core.transport import Connection, EndOfStream, Message, Stream, Transport

if TYPE_CHECKING:
    from micro_core.broker import Broker
    from micro_core.codec import Codec
    from micro_core.options import Options
    from micro_core.plugins import Plugins
    from micro_core.selector import Filter, Selector

T = TypeVar("T")

_BACKOFF = 0.02  # seconds before going round the nodes again; doubles per round, never past the deadline
#: Seconds a probe of an unreachable node may take to connect.
_PROBE_TIMEOUT = 1.0


@dataclass(slots=True)
class Call:
    """One outgoing call as call wrappers see it; the message is already encoded."""

    service: str
    endpoint: str
    message: Message
    timeout: float
    retries: int
    address: str | None = None
    filters: Sequence[Filter] = field(default_factory=tuple)


def _new_id() -> str:
    """128 random bits in hex, like ``uuid4().hex``: ids need uniqueness, not secrecy, and
    ``os.urandom`` (under ``uuid4``) releases the GIL, a thread switch per message when
    other threads are busy. ``random`` is reseeded in a forked child."""
    return random.getrandbits(128).to_bytes(16).hex()  # twice as fast as formatting the int


class Pool:
    """The connection to each node (the transport's :meth:`~Transport.connect`), made again when it breaks."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._connections: dict[str, Connection] = {}
        self._dialling: dict[str, asyncio.Future[Connection]] = {}

    def cached(self, address: str) -> Connection | None:
        """The open connection to ``address``, if there is one (no await on the hot path)."""
        connection = self._connections.get(address)
        return connection if connection is not None and not connection.closed else None

    async def get(self, node: Node, timeout: float) -> Connection:
        """The connection to ``node``, made if needed; concurrent callers share one dial."""
        address = node.address
        connection = self.cached(address)
        if connection is not None:
            return connection
        pending = self._dialling.get(address)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self._dialling[address] = future
        try:
            connection = await self.transport.connect(node, timeout)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here; waiters get it through shield
            raise
        finally:
            del self._dialling[address]
        self._connections[address] = connection
        future.set_result(connection)
        return connection

    async def close(self) -> None:
        connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            await connection.close()


class RetryBudget:
    """How many retries a client may make: ``ratio`` of its calls, plus ``floor`` a second.

    A call retries on node after node within its deadline, which rides out dying nodes;
    a budget shared by all calls, rather than a count per call, keeps a failing service
    from being sent each call many times over (a retry storm). Finagle's RetryBudget is
    the same idea.
    """

    def __init__(self, ratio: float = 0.2, floor: float = 10.0, cap: float = 1000.0) -> None:
        self.ratio = ratio
        self.floor = floor
        self.cap = cap
        self._tokens = cap
        self._since = time.monotonic()

    def deposit(self) -> None:
        """A call was made: it earns ``ratio`` of a retry."""
        tokens = self._tokens + self.ratio
        self._tokens = tokens if tokens < self.cap else self.cap

    def withdraw(self) -> bool:
        """Take one retry if the budget holds one."""
        now = time.monotonic()
        tokens = min(self.cap, self._tokens + (now - self._since) * self.floor)
        self._since = now
        if tokens < 1:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1
        return True


class Client:
    """Calls services by name; one instance is shared by everything in a process."""

    def __init__(
        self,
        *,
        selector: Selector,
        transport: Transport,
        plugins: Plugins,
        options: Options,
        broker: Broker | None = None,
    ) -> None:
        self.selector = selector
        self.transport = transport
        self.broker = broker
        self.plugins = plugins
        self.options = options
        self.pool = Pool(transport)
        self.timeout: float = options["client_request_timeout"]
        self.retries: int = options["client_retries"]
        self.budget = RetryBudget()
        self.content_type: str = options["content_type"]
        if selector.probe is None:
            selector.probe = self._probe
        self._call = plugins.wrap_call(self._send, options)
        # The broker's own method when no plugin wraps publishing: no layer added per publish.
        self._publish = plugins.wrap_publish(broker.publish, options) if broker is not None else None

    def codec(self, content_type: str | None = None) -> Codec:
        return self.plugins.codec(content_type or self.content_type, self.options)

    def _header(
        self, service: str, endpoint: str, codec: Codec, metadata: Mapping[str, str] | None
    ) -> dict[str, str]:
        header = {**context.metadata(), **metadata} if metadata else dict(context.metadata())
        header[headers.SERVICE] = service
        header[headers.ENDPOINT] = endpoint  # a Go Micro server fills in Micro-Method from it
        header[headers.CONTENT_TYPE] = codec.content_type
        return header

    def _timeout(self, timeout: float | None) -> float:
        limit = self.timeout if timeout is None else timeout
        left = context.remaining(limit)
        return limit if left is None else left

    async def call(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        response_type: type[T] | Any = None,
        timeout: float | None = None,
        retries: int | None = None,
        metadata: Mapping[str, str] | None = None,
        address: str | None = None,
        filters: Sequence[Filter] = (),
        content_type: str | None = None,
    ) -> T | Any:
        """Call ``endpoint`` of ``service`` and return the decoded reply.

        :param response_type: decode the reply into this type (a dataclass, Struct, …).
        :param timeout: seconds for the whole call, retries included (default
            ``client_request_timeout``; never beyond the deadline of the call being served).
        :param address: skip discovery and call this "host:port".
        :param filters: selector filters, e.g. ``by_version("2.0")``.
        :raises MicroError: the remote error, typed (``NotFound``, ``Timeout``, …).
        """
        codec = self.codec(content_type)
        message = Message(self._header(service, endpoint, codec, metadata), codec.encode(request))
        call = Call(
            service,
            endpoint,
            message,
            self._timeout(timeout),
            self.retries if retries is None else retries,
            address,
            filters,
        )
        reply = await self._call(call)
        try:
            return codec.decode(reply.body, response_type)
        except errors.MicroError as exc:  # a reply this client cannot read: its own error
            raise errors.attributed(exc, "micro.client") from None

    async def _send(self, call: Call) -> Message:
        """The innermost call layer: pick a node and send; after a retriable failure, another
        node at once, for as long as the deadline and the retry budget allow (``call.retries``
        caps the count when not negative)."""
        deadline = time.monotonic() + call.timeout
        fixed = Node(id=call.address, address=call.address) if call.address else None
        tried: list[str] = []
        attempt = rounds = 0
        last: BaseException | None = None  # the latest retriable failure
        self.budget.deposit()
        while True:
            if fixed is not None:
                node = fixed
            else:
                try:
                    node = await self.selector.select(call.service, filters=call.filters, exclude=tried)
                except errors.ServiceUnavailable:
                    if last is None:
                        raise
                    # Every node failed once: pause, then go round again, within the deadline.
                    rounds += 1
                    await self._pause(call, deadline, rounds, last)
                    tried.clear()
                    continue
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                connection = self.pool.cached(node.address) or await self._connect(node, left)
                call.message.header[headers.TIMEOUT] = str(int(left * 1e9))
                reply = await connection.call(call.message, left)
                failure: BaseException | None = _remote_error(reply)
            except TimeoutError:
                self.selector.mark(call.service, node, None)
                raise errors.Timeout(
                    f"{call.service} {call.endpoint} did not answer within {call.timeout:.3g}s",
                    id="micro.client",
                ) from None
            except (ConnectionError, OSError) as exc:
                failure = exc
            if failure is None:
                self.selector.mark(call.service, node, None)
                return reply
            if not errors.is_retriable(failure):
                raise failure
            self.selector.mark(call.service, node, failure)
            tried.append(node.id)
            last = failure
            attempt += 1
            if 0 <= call.retries < attempt or not self.budget.withdraw():
                raise _unavailable(call, failure)
            if fixed is not None:  # the same node again: give it a moment
                await self._pause(call, deadline, attempt, failure)

    async def _pause(self, call: Call, deadline: float, rounds: int, failure: BaseException) -> None:
        """Back off before trying nodes that failed already; give up if the deadline is nearer."""
        pause = _BACKOFF * 2 ** min(rounds - 1, 8)
        if time.monotonic() + pause >= deadline:
            raise _unavailable(call, failure)
        await asyncio.sleep(pause)

    async def _connect(self, node: Node, timeout: float) -> Connection:
        """The pool's connection to ``node``; no connection at all makes the node :class:`Unreachable`."""
        try:
            return await self.pool.get(node, timeout)
        except (ConnectionError, OSError) as exc:
            raise Unreachable(str(exc)) from exc

    async def _probe(self, node: Node) -> bool:
        """Whether ``node`` takes connections again: the selector's probe of an unreachable node."""
        try:
            connection = await self.transport.dial(node.address, _PROBE_TIMEOUT)
        except (ConnectionError, OSError):
            return False
        await connection.close()
        return True

    def stream(
        self,
        service: str,
        endpoint: str,
        request: Any = None,
        *,
        response_type: Any = None,
        metadata: Mapping[str, str] | None = None,
        address: str | None = None,
        filters: Sequence[Filter] = (),
        content_type: str | None = None,
    ) -> ClientStream:
        """Open a stream: ``request`` (if any) is its first message. Use ``async with``."""
        codec = self.codec(content_type)
        opening = Message(
            self._header(service, endpoint, codec, metadata),
            b"" if request is None else codec.encode(request),
        )
        opening.header[headers.STREAM] = _new_id()
        call = Call(service, endpoint, opening, self.timeout, self.retries, address, filters)
        return ClientStream(self, call, codec, response_type)

    async def _open_stream(self, call: Call) -> Stream:
        if call.address:
            node = Node(id=call.address, address=call.address)
        else:
            node = await self.selector.select(call.service, filters=call.filters)
        connection = await self.pool.get(node, call.timeout)
        try:
            return await connection.stream(call.message)
        except (ConnectionError, OSError) as exc:
            self.selector.mark(call.service, node, exc)
            raise _unavailable(call, exc) from exc

    async def publish(
        self,
        topic: str,
        message: Any,
        *,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        """Publish ``message`` to ``topic`` on the broker; returns once the broker took it."""
        if self._publish is None:
            raise RuntimeError("this client has no broker")
        await self._publish(topic, self._event(topic, message, metadata, content_type))

    def _event(
        self, topic: str, message: Any, metadata: Mapping[str, str] | None, content_type: str | None
    ) -> Message:
        """The broker message for a publish.

        Built outside the coroutine, so that nothing of it is held here while the broker
        waits for its confirmation (see :meth:`Broker.publish`).
        """
        codec = self.codec(content_type)
        header = {**context.metadata(), **(metadata or {})}
        header[headers.TOPIC] = topic
        header[headers.ID] = _new_id()
        header[headers.CONTENT_TYPE] = codec.content_type
        return Message(header, codec.encode(message))

    async def close(self) -> None:
        await self.pool.close()


class ClientStream:
    """A stream as the caller sees it: ``send``/``recv`` values, or ``async for`` the replies."""

    def __init__(self, client: Client, call: Call, codec: Codec, response_type: Any) -> None:
        self._client = client
        self._call = call
        self._codec = codec
        self._response_type = response_type
        self._stream: Stream | None = None

    async def __aenter__(self) -> ClientStream:
        self._stream = await self._client._open_stream(self._call)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open(self) -> Stream:
        if self._stream is None:
            raise RuntimeError("use the stream inside 'async with client.stream(...)'")
        return self._stream

    async def send(self, value: Any) -> None:
        header = {headers.STREAM: self._call.message.header[headers.STREAM]}
        await self._open().send(Message(header, self._codec.encode(value)))

    async def close_send(self) -> None:
        await self._open().close_send()

    async def recv(self) -> Any:
        """The next reply; ``StopAsyncIteration`` at the end, the typed error if the server failed."""
        try:
            message = await self._open().recv()
        except EndOfStream:
            raise StopAsyncIteration from None
        error = _remote_error(message)
        if error is not None:
            raise error
        return self._codec.decode(message.body, self._response_type)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self.recv()

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()


def _remote_error(reply: Message) -> errors.MicroError | None:
    text = reply.header.get(headers.ERROR)
    if not text or text == headers.END_OF_STREAM:
        return None
    return errors.parse(text)


def _unavailable(call: Call, cause: BaseException) -> errors.MicroError:
    if isinstance(cause, errors.MicroError):
        return cause
    return errors.ServiceUnavailable(f"{call.service}: no node answered ({cause})", id="micro.client")


__all__ = ["Call", "Client", "ClientStream", "Pool", "RetryBudget"]
