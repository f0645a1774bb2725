"""The gRPC transport: Micro calls as standard gRPC, so stock gRPC clients and servers interoperate.

How a Micro message maps onto gRPC (the decisions, in one place):

- **Method path.** Endpoint ``Handler.Method`` of service ``svc`` is called at
  ``/svc.Handler/Method``, as Go Micro's gRPC client does: a service named after the
  proto package (``helloworld``) calls a stock ``helloworld.Greeter`` server. An endpoint
  that already is a path (``/helloworld.Greeter/SayHello``) is used as it is. The server
  maps ``/any.package.Handler/Method`` (or ``/Handler/Method``) back to the endpoint
  ``Handler.Method`` in ``Micro-Endpoint`` and ``Micro-Method``.
- **Headers are metadata**, lower-cased as gRPC demands and restored to their canonical
  case on arrival (``micro-id`` → ``Micro-Id``, ``x-trace-id`` → ``X-Trace-Id``).
  ``Content-Type`` travels as ``x-content-type`` because gRPC owns ``content-type``; the
  endpoint rides in the path and ``Timeout`` in the gRPC deadline, which the server turns
  back into ``Timeout`` (nanoseconds left). A value that is not printable ASCII, or a name
  ending in ``-bin``, travels under ``<name>-bin`` as UTF-8 bytes, so nothing is lost.
  A message that names no endpoint goes to the path ``/``.
- **Unary or stream** is chosen before the first message, from path and metadata: this
  transport marks every stream it opens with ``micro-stream`` metadata, which stock clients
  never send, so they always reach the unary handler (a stock client cannot open a Micro
  stream). A stream carries headers once, with its opening message; later messages are
  bodies only (gRPC has no per-message metadata). A stream ends with the gRPC status:
  OK is end of stream, any other carries the error as for unary calls.
- **Reply headers** travel as trailing metadata, except a ``Content-Type`` equal to the
  request's: the client puts it back, and most replies then need no trailers at all (2%
  of a call's cost). A reply with ``Micro-Error`` becomes a gRPC status mapped from its
  code, with the JSON error as the status details *and* as trailing ``micro-error``: a
  stock client sees a meaningful status, a Micro client gets the exact typed error back.
  A status without ``micro-error`` (from a stock server) maps back by code
  (``RESOURCE_EXHAUSTED`` → 413, ``UNIMPLEMENTED`` → 501, as Go Micro); ``UNAVAILABLE``
  raises ``ConnectionError`` (try another node) and a missed deadline ``TimeoutError``.
- **Size limit**: ``max_message_size`` is gRPC's send and receive limit on both sides; the
  client refuses an oversized request itself, with ``PayloadTooLarge``.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import grpc  # type: ignore[import-untyped, unused-ignore]
import grpc.aio  # type: ignore[import-untyped, unused-ignore]

from micro_core import errors, headers
from micro_core.tasks import start_task
from micro_core.tls import TLSConfig
from micro_core.transport.base import (
    Connection,
    EndOfStream,
    Listener,
    Message,
    ServerHandler,
    Stream,
    Transport,
)
from micro_core.transport.http import join_address
from micro_core.transport.reachable import reachable_host

Metadata = list[tuple[str, str | bytes]]
T = TypeVar("T")

_CONTENT_TYPE_KEY = "x-content-type"
_STREAM_KEY = headers.STREAM.lower()
_BINARY = "-bin"
#: The path of a message that names no endpoint (the server then sets none).
_NO_ENDPOINT = "/"
#: Headers the call itself carries (path, deadline) rather than metadata.
_NOT_METADATA = frozenset({headers.ENDPOINT, headers.METHOD, headers.TIMEOUT})
#: A reply's headers left out of its trailers when its content type is the request's.
_NOT_REPLY_METADATA = _NOT_METADATA | {headers.CONTENT_TYPE}
_KEY = re.compile(r"[0-9a-z_.-]+\Z")
#: How grpc-core words a reply refused by this side's own receive limit.
_LOCAL_SIZE_LIMIT = "CLIENT: Received message larger than max"
#: Metadata that belongs to gRPC itself, not to the message.
_TRANSPORT_KEYS = frozenset({"user-agent", "content-type", "te"})
_CANONICAL = {name.lower(): name for name in headers.RESERVED} | {_CONTENT_TYPE_KEY: headers.CONTENT_TYPE}

_S = grpc.StatusCode
_STATUS_OF_CODE: dict[int, Any] = {
    400: _S.INVALID_ARGUMENT,
    401: _S.UNAUTHENTICATED,
    403: _S.PERMISSION_DENIED,
    404: _S.NOT_FOUND,
    405: _S.UNIMPLEMENTED,
    408: _S.DEADLINE_EXCEEDED,
    409: _S.ALREADY_EXISTS,
    413: _S.RESOURCE_EXHAUSTED,
    415: _S.INVALID_ARGUMENT,
    429: _S.RESOURCE_EXHAUSTED,
    500: _S.INTERNAL,
    501: _S.UNIMPLEMENTED,
    502: _S.UNAVAILABLE,
    503: _S.UNAVAILABLE,
    504: _S.DEADLINE_EXCEEDED,
}
#: The reverse, for statuses from stock servers; RESOURCE_EXHAUSTED is most often a
#: message-size limit, hence 413.
_CODE_OF_STATUS: dict[Any, int] = {
    _S.INVALID_ARGUMENT: 400,
    _S.FAILED_PRECONDITION: 400,
    _S.OUT_OF_RANGE: 400,
    _S.UNAUTHENTICATED: 401,
    _S.PERMISSION_DENIED: 403,
    _S.NOT_FOUND: 404,
    _S.ALREADY_EXISTS: 409,
    _S.ABORTED: 409,
    _S.RESOURCE_EXHAUSTED: 413,
    _S.UNIMPLEMENTED: 501,
    _S.UNAVAILABLE: 503,
    _S.DEADLINE_EXCEEDED: 504,
}


def to_metadata(header: Mapping[str, str], skip: frozenset[str] = _NOT_METADATA) -> Metadata:
    """Message headers as gRPC metadata; a name gRPC cannot carry is a ``BadRequest``."""
    metadata: Metadata = []
    for name, value in header.items():
        if name in skip:
            continue
        key, binary = _wire_key(name)
        if not key:
            raise errors.BadRequest(
                f"header {name!r} cannot travel as gRPC metadata: use letters, digits, '-', '_' and '.'",
                id="micro.transport.grpc",
            )
        if binary or not (value.isascii() and value.isprintable()):
            metadata.append((key + _BINARY, value.encode()))
        else:
            metadata.append((key, value))
    return metadata


@functools.lru_cache(maxsize=1024)
def _wire_key(name: str) -> tuple[str, bool]:
    """The metadata key for a header name ("" if gRPC cannot carry it), and whether it must be binary."""
    key = _CONTENT_TYPE_KEY if name == headers.CONTENT_TYPE else name.lower()
    return (key, key.endswith(_BINARY)) if _KEY.match(key) else ("", False)


def from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """gRPC metadata as message headers, in canonical case, without gRPC's own entries."""
    header: dict[str, str] = {}
    for key, value in metadata or ():
        name = _header_name(key)
        if name:
            header[name] = value if isinstance(value, str) else value.decode(errors="replace")
    return header


@functools.lru_cache(maxsize=1024)
def _header_name(key: str) -> str:
    """The header name for a metadata key; "" for gRPC's own entries."""
    if key in _TRANSPORT_KEYS or key.startswith("grpc-"):
        return ""
    if key.endswith(_BINARY):
        key = key[: -len(_BINARY)]
    return _CANONICAL.get(key) or _canonical(key)


def _stock_content_type(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """What a stock gRPC client's body is: protobuf, unless it says ``application/grpc+json``.

    Micro clients name their codec in ``x-content-type``; a stock client only has gRPC's
    own ``content-type``, whose ``application/grpc`` means protobuf.
    """
    for key, value in metadata or ():
        if key == "content-type" and value in ("application/grpc+json", b"application/grpc+json"):
            return "application/json"
    return "application/grpc+proto"


def _cancelled_here() -> bool:
    """Whether the running task itself is being cancelled (not just a gRPC call under it)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _canonical(key: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in key.split("-"))


@functools.lru_cache(maxsize=1024)
def endpoint_of(path: str) -> str:
    """``/pkg.Handler/Method`` → ``Handler.Method``; ``/`` → no endpoint; another shape as it is.

    Cached: a server sees the same few paths on every call.
    """
    if path == _NO_ENDPOINT:
        return ""
    service, slash, method = path[1:].partition("/")
    if not path.startswith("/") or not slash or not service or not method or "/" in method:
        return path
    return f"{service.rpartition('.')[2]}.{method}"


def path_of(header: Mapping[str, str]) -> str:
    """The gRPC method path for a request: ``/<service>.<Handler>/<Method>``."""
    return _path(header.get(headers.ENDPOINT) or header.get(headers.METHOD, ""), header.get(headers.SERVICE))


@functools.lru_cache(maxsize=1024)
def _path(endpoint: str, service: str | None) -> str:
    """``path_of``, cached: a client calls the same few endpoints over and over."""
    if not endpoint:
        return _NO_ENDPOINT
    if endpoint.startswith("/"):
        return endpoint
    handler, dot, method = endpoint.partition(".")
    if not handler or not dot or not method or "." in method or "/" in endpoint:
        raise errors.BadRequest(
            f"endpoint {endpoint!r} is neither Handler.Method nor a gRPC path /package.Service/Method",
            id="micro.transport.grpc",
        )
    return f"/{service}.{handler}/{method}" if service else f"/{handler}/{method}"


def _too_large(what: str, size: int, limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"{what} of {size} bytes exceeds the {limit}-byte limit (max_message_size)",
        id="micro.transport.grpc",
    )


# --- server ------------------------------------------------------------------------------


async def _abort(context: Any, error: str) -> NoReturn:
    """End the call with the gRPC status for a Micro error, the error itself in the trailers."""
    status = _STATUS_OF_CODE.get(errors.parse(error).code, _S.INTERNAL)
    await context.abort(status, error, tuple(to_metadata({headers.ERROR: error}, frozenset())))
    raise AssertionError("grpc's context.abort returned instead of raising")


def _internal(exc: BaseException) -> str:
    error = errors.InternalServerError(f"{type(exc).__name__}: {exc}", id="micro.transport.grpc")
    return error.to_json().decode()


def _check_closing_error(error: Message | None) -> None:
    if error is not None and headers.ERROR not in error.header:
        raise ValueError(f"an error closing a stream needs a {headers.ERROR} header: {error!r}")


class _ServerStream(Stream):
    """A Micro stream over a gRPC stream-stream call, served with ``context.read/write``."""

    def __init__(self, context: Any, max_message_size: int, received_all: bool) -> None:
        self._context = context
        self._max = max_message_size
        self._received_all = received_all
        self._sending = True
        #: The ``Micro-Error`` that ends the call once the handler returns.
        self.error: str | None = None
        #: Set when gRPC ended the call (client cancelled, deadline, server stop).
        self.gone = False

    async def send(self, message: Message) -> None:
        if not self._sending:
            raise RuntimeError("the stream is closed for sending")
        if len(message.body) > self._max:
            raise _too_large("stream message", len(message.body), self._max)
        if self.gone:
            raise ConnectionError("the client of this stream went away")
        try:
            await self._context.write(message.body)
        except Exception as exc:  # grpc raises its private batch errors once the call is over
            raise ConnectionError(f"the client of this stream went away: {exc}") from exc

    async def recv(self) -> Message:
        if self._received_all:
            raise EndOfStream
        body = await self._context.read()
        if body is grpc.aio.EOF:
            self._received_all = True
            raise EndOfStream
        return Message({}, body)

    async def close_send(self) -> None:
        # gRPC ends the server's side with the status, sent when the handler returns.
        self._sending = False

    async def close(self, error: Message | None = None) -> None:
        _check_closing_error(error)
        self._sending = False
        self._received_all = True
        if error is not None and self.error is None:
            self.error = error.header[headers.ERROR]


class _UnaryCall(grpc.RpcMethodHandler):  # type: ignore[misc, unused-ignore]
    """grpc's method handler for one unary call, bytes in and bytes out.

    One is made per call, so it is kept light: ``grpc.unary_unary_rpc_method_handler``
    builds an eight-field named tuple and costs four times as much.
    """

    __slots__ = ("unary_unary",)
    request_streaming = response_streaming = False
    request_deserializer = response_serializer = None
    unary_stream = stream_unary = stream_stream = None

    def __init__(self, behavior: Callable[[bytes, Any], Coroutine[Any, Any, bytes]]) -> None:
        self.unary_unary = behavior


class _Service(grpc.GenericRpcHandler):  # type: ignore[misc, unused-ignore]
    """Answers every method path: bytes in, bytes out, unary unless the caller marks a stream.

    Handlers run in tasks of their own, shielded from gRPC's cancellation at the deadline
    or when the client goes away: as with every transport, a handler runs to its end and
    the server, not the transport, enforces the caller's deadline (``Timeout``).
    """

    def __init__(self, handler: ServerHandler, max_message_size: int) -> None:
        self._handler = handler
        self._max = max_message_size
        self._running: set[asyncio.Task[Any]] = set()

    def _detach(self, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run ``work`` in a task of its own; the returned future settles with it.

        Cancelling the future (gRPC cancelling the call) leaves the task running: a
        lighter ``asyncio.shield``. The task settles the future from its own last step
        rather than from a done-callback, which saves the call one trip round the loop;
        on Python 3.12+ it also starts at once (see :mod:`micro_core.tasks`), and a
        task that finished while starting needs no keeping (a sixth of micro's own
        work on a small call).
        """
        loop = asyncio.get_running_loop()
        result: asyncio.Future[T] = loop.create_future()
        task = start_task(self._settle(work, result), loop)
        if not task.done():
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        return result

    @staticmethod
    async def _settle(work: Coroutine[Any, Any, T], result: asyncio.Future[T]) -> None:
        try:
            value = await work
        except asyncio.CancelledError:
            result.cancel()
            raise
        except BaseException as exc:
            if not result.done():  # done: gRPC gave up on the call; nobody is waiting
                result.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if not result.done():
                result.set_result(value)

    def service(self, details: Any) -> Any:
        header = from_metadata(details.invocation_metadata)
        if headers.CONTENT_TYPE not in header:
            header[headers.CONTENT_TYPE] = _stock_content_type(details.invocation_metadata)
        endpoint = endpoint_of(details.method)
        if endpoint:
            header[headers.ENDPOINT] = header[headers.METHOD] = endpoint
        if headers.STREAM in header:
            return grpc.stream_stream_rpc_method_handler(functools.partial(self._stream, header))
        # A partial of the plain function, not of a bound method: grpc asks on every call
        # whether the behaviour is a coroutine function, and answers that faster.
        return _UnaryCall(functools.partial(_Service._unary, self, header))

    async def _unary(self, header: dict[str, str], body: bytes, context: Any) -> bytes:
        _set_timeout(header, context)
        try:
            reply = await self._detach(self._handler.unary(Message(header, body)))
            error = reply.header.get(headers.ERROR)
            if error is None and len(reply.body) > self._max:
                error = _too_large("reply", len(reply.body), self._max).to_json().decode()
            if error is None:
                same_type = reply.header.get(headers.CONTENT_TYPE) == header[headers.CONTENT_TYPE]
                if same_type and len(reply.header) == 1:
                    return reply.body  # the usual reply: nothing to send as trailers
                trailers = to_metadata(reply.header, _NOT_REPLY_METADATA if same_type else _NOT_METADATA)
                if trailers:
                    context.set_trailing_metadata(tuple(trailers))
                return reply.body
        except errors.MicroError as exc:  # raised by the handler, or a reply header gRPC cannot carry
            error = exc.to_json().decode()
        except Exception as exc:
            error = _internal(exc)
        await _abort(context, error)

    async def _stream(self, header: dict[str, str], requests: object, context: Any) -> None:
        _set_timeout(header, context)
        first = await context.read()
        received_all = first is grpc.aio.EOF
        stream = _ServerStream(context, self._max, received_all)
        opening = Message(header, b"" if received_all else first)
        try:
            await self._detach(self._serve_stream(opening, stream))
        except asyncio.CancelledError:
            stream.gone = True
            raise
        if stream.error is not None:
            await _abort(context, stream.error)

    async def _serve_stream(self, opening: Message, stream: _ServerStream) -> None:
        try:
            await self._handler.stream(opening, stream)
        except Exception as exc:
            stream.error = _internal(exc)


def _set_timeout(header: dict[str, str], context: Any) -> None:
    remaining = context.time_remaining()
    if remaining is not None:
        header[headers.TIMEOUT] = str(max(int(remaining * 1e9), 0))


class GRPCListener(Listener):
    def __init__(self, server: Any, address: str) -> None:
        self._server = server
        self.address = address

    async def close(self) -> None:
        await self._server.stop(None)


# --- client ------------------------------------------------------------------------------


class _ClientStream(Stream):
    """A Micro stream over a gRPC stream-stream call, driven with ``read/write``."""

    def __init__(self, call: Any, connection: GRPCConnection) -> None:
        self._call = call
        self._connection = connection
        self._address = connection.address
        self._max = connection.max_message_size
        self._sending = True
        self._ended = False
        #: Whether a message came back, which proves the server is running its handler.
        self._heard = False

    async def send(self, message: Message) -> None:
        if not self._sending:
            raise RuntimeError(f"the stream to {self._address} is closed for sending")
        if len(message.body) > self._max:
            raise _too_large(f"stream message to {self._address}", len(message.body), self._max)
        if self._call.done():
            return  # the server has ended the stream; recv tells how
        await self._call.write(message.body)

    async def recv(self) -> Message:
        if self._ended:
            raise EndOfStream
        try:
            body = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            self._ended = True
            return self._connection.failed(exc)
        except asyncio.CancelledError:
            if _cancelled_here():
                raise
            self._ended = True
            raise ConnectionError(f"gRPC server {self._address} went away during the stream") from None
        if body is grpc.aio.EOF:
            self._ended = True
            raise EndOfStream
        self._heard = True
        return Message({}, body)

    async def close_send(self) -> None:
        if self._sending:
            self._sending = False
            if not self._call.done():
                await self._call.done_writing()

    async def close(self, error: Message | None = None) -> None:
        """Half-close, so the server reads all that was sent and then its end of stream.

        Once the server has answered, also cancel, which stops a server that is still
        sending. Before that, a cancel could overtake the opening and the server would
        never run its handler at all. (A gRPC client has no way to send ``error``.)
        """
        _check_closing_error(error)
        await self.close_send()
        self._ended = True
        if self._heard:
            self._call.cancel()


def _timeout_of(header: Mapping[str, str]) -> float | None:
    """The ``Timeout`` header (nanoseconds) in seconds: it becomes the gRPC deadline."""
    value = header.get(headers.TIMEOUT)
    if value is None:
        return None
    try:
        return int(value) / 1e9
    except ValueError:
        raise errors.BadRequest(
            f"{headers.TIMEOUT} header {value!r} is not a count of nanoseconds", id="micro.transport.grpc"
        ) from None


class GRPCConnection(Connection):
    """One gRPC channel to an address; it multiplexes every concurrent call and stream."""

    def __init__(self, channel: Any, address: str, max_message_size: int) -> None:
        self._channel = channel
        self.address = address
        self.max_message_size = max_message_size
        self._closed = False
        #: Held so the background close of a dead channel is not garbage-collected midway.
        self._closing: asyncio.Future[None] | None = None
        self._unary: Callable[[str], Any] = functools.lru_cache(maxsize=256)(channel.unary_unary)

    @property
    def closed(self) -> bool:
        return self._closed

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        if len(request.body) > self.max_message_size:
            raise _too_large(f"request to {self.address}", len(request.body), self.max_message_size)
        if self._closed:
            raise ConnectionError(f"the connection to {self.address} is closed")
        header = request.header
        if timeout is None:
            timeout = _timeout_of(header)
        call = self._unary(path_of(header))(request.body, metadata=to_metadata(header), timeout=timeout)
        try:
            body = await call
            trailers = await call.trailing_metadata()
        except grpc.aio.AioRpcError as exc:
            return self.failed(exc)
        except asyncio.CancelledError:
            if _cancelled_here():
                raise
            # grpc.aio reports a call the server's GOAWAY cancelled as CancelledError.
            raise ConnectionError(f"gRPC server {self.address} went away during the call") from None
        reply = from_metadata(trailers)
        if headers.CONTENT_TYPE in header:  # left out of the trailers when it is the request's
            reply.setdefault(headers.CONTENT_TYPE, header[headers.CONTENT_TYPE])
        return Message(reply, body)

    def failed(self, exc: Any) -> Message:
        """A failed call as the reply the client expects, or the exception that says "try elsewhere"."""
        trailers = from_metadata(exc.trailing_metadata())
        if headers.ERROR in trailers:
            return Message(trailers)
        status, details = exc.code(), exc.details()
        if status == _S.UNAVAILABLE:
            if self._channel.get_state() != grpc.ChannelConnectivity.READY:
                # The connection is gone; gRPC would wait out its reconnect backoff on this
                # channel, so let the pool dial afresh.
                self._closed = True
                self._closing = asyncio.ensure_future(self._channel.close(None))
            raise ConnectionError(f"gRPC server {self.address} unavailable: {details}")
        if status == _S.DEADLINE_EXCEEDED:
            raise TimeoutError(f"gRPC call to {self.address} missed its deadline")
        if status == _S.RESOURCE_EXHAUSTED and _LOCAL_SIZE_LIMIT in details:
            raise errors.PayloadTooLarge(
                f"reply from {self.address} exceeds the {self.max_message_size}-byte limit: {details}",
                id="micro.transport.grpc",
            )
        if details.startswith("{") and '"code"' in details:
            # Go Micro's gRPC server sends its error whole, as JSON, in the status message.
            return Message({headers.ERROR: details})
        error = errors.from_code(
            _CODE_OF_STATUS.get(status, 500), f"{status.name}: {details}", id="micro.transport.grpc"
        )
        return Message({headers.ERROR: error.to_json().decode()})

    async def stream(self, request: Message) -> Stream:
        if len(request.body) > self.max_message_size:
            raise _too_large(f"stream message to {self.address}", len(request.body), self.max_message_size)
        if self._closed:
            raise ConnectionError(f"the connection to {self.address} is closed")
        header = request.header
        metadata = to_metadata(header)
        if headers.STREAM not in header:
            metadata.append((_STREAM_KEY, "1"))  # the mark that picks the server's stream handler
        call = self._channel.stream_stream(path_of(header))(metadata=metadata, timeout=_timeout_of(header))
        stream = _ClientStream(call, self)
        await stream.send(request)
        return stream

    async def close(self) -> None:
        self._closed = True
        await self._channel.close(None)


class GRPCTransport(Transport):
    """Micro over standard gRPC (HTTP/2); one channel per dialled address."""

    name: ClassVar[str] = "grpc"

    _channel_credentials: Any = None

    def _load_tls(self, tls: TLSConfig) -> None:
        self._channel_credentials = _channel_credentials(tls)
        if tls.cert:  # a bad server file fails now too, not at the first listen
            _server_credentials(tls)

    def _options(self) -> list[tuple[str, int]]:
        return [
            ("grpc.max_receive_message_length", self.max_message_size),
            ("grpc.max_send_message_length", self.max_message_size),
        ]

    def _server_options(self) -> list[tuple[str, int]]:
        """gRPC core's own limits, from the same :class:`ServerLimits` as the HTTP transport's
        (it has no cap on connections; ``max_connections`` does not apply)."""
        limits = self.limits
        return [
            *self._options(),
            ("grpc.max_metadata_size", limits.max_header_bytes),  # soft: the server may still take it
            ("grpc.absolute_max_metadata_size", limits.max_header_bytes),  # hard: refused
            ("grpc.max_connection_idle_ms", int(limits.idle_timeout * 1000)),
            ("grpc.server_handshake_timeout_ms", int(limits.header_timeout * 1000)),
            ("grpc.so_reuseport", 0),  # without it gRPC would share a port another server holds
        ]

    async def dial(self, address: str, timeout: float | None = None) -> Connection:
        if self._channel_credentials is None:
            channel = grpc.aio.insecure_channel(address, options=self._options())
        else:
            channel = grpc.aio.secure_channel(address, self._channel_credentials, options=self._options())
        try:
            await asyncio.wait_for(_connected(channel, address), timeout)
        except BaseException as exc:
            await channel.close(None)
            if isinstance(exc, TimeoutError):
                raise ConnectionError(f"cannot connect to gRPC server {address} within {timeout}s") from None
            raise
        return GRPCConnection(channel, address, self.max_message_size)

    async def listen(self, address: str, handler: ServerHandler) -> Listener:
        host, colon, port = address.rpartition(":")
        if not colon or not port.isdigit():
            raise ValueError(f"listen address {address!r} is not host:port")
        server = grpc.aio.server(options=self._server_options())
        server.add_generic_rpc_handlers((_Service(handler, self.max_message_size),))
        try:
            if self.tls is None:
                bound = server.add_insecure_port(address)
            else:
                bound = server.add_secure_port(address, _server_credentials(self.tls))
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {address}: {exc}") from None
        await server.start()
        # Bound to every interface: advertise one that callers on other hosts can reach.
        return GRPCListener(server, join_address(reachable_host(host.strip("[]")), bound))


def _pem(setting: str, path: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot load {setting} {path!r}: {exc}") from None


def _channel_credentials(tls: TLSConfig) -> Any:
    cert, key = tls.client_identity
    return grpc.ssl_channel_credentials(
        root_certificates=_pem("tls_ca", tls.ca),
        private_key=_pem("tls_client_key", key or cert),  # a key kept in the certificate file
        certificate_chain=_pem("tls_client_cert", cert),
    )


def _server_credentials(tls: TLSConfig) -> Any:
    """The server's identity; with a CA, clients must present a certificate it signed."""
    if not tls.cert:
        raise ValueError("serving TLS needs a tls_cert (and its tls_key)")
    key, cert = _pem("tls_key", tls.key or tls.cert), _pem("tls_cert", tls.cert)
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=_pem("tls_ca", tls.ca), require_client_auth=bool(tls.ca)
    )


async def _connected(channel: Any, address: str) -> None:
    """Wait for the channel to connect; a refused connection fails at once, not at the timeout."""
    state = channel.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        if state in (grpc.ChannelConnectivity.TRANSIENT_FAILURE, grpc.ChannelConnectivity.SHUTDOWN):
            raise ConnectionError(f"cannot connect to gRPC server {address}")
        await channel.wait_for_state_change(state)
        state = channel.get_state()


__all__ = ["GRPCConnection", "GRPCListener", "GRPCTransport", "endpoint_of", "path_of"]
