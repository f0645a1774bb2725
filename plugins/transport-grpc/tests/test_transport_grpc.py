"""The gRPC transport: Micro over standard gRPC, checked against stock grpcio peers.

A stock peer here is plain ``grpc.aio`` with raw bytes (no generated code): what any
gRPC client or server in any language puts on the wire.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import grpc.aio
import pytest

from micro_core import errors, headers
from micro_core.testing.conformance.transport import (
    SecureTransport,
    TLSConformance,
    TransportConformance,
    error_of,
)
from micro_core.testing.plugin import StartService
from micro_core.testing.processes import free_port
from micro_core.transport import Connection, EndOfStream, Listener, Message, ServerLimits, Stream
from micro_transport_grpc import GRPCTransport, endpoint_of

LIMIT = 64 * 1024


class TestGRPCTransportConformance(TransportConformance):
    @pytest.fixture
    def transport(self) -> GRPCTransport:
        return GRPCTransport()


class Recorder:
    """A server handler that echoes, and keeps what it was given."""

    def __init__(self) -> None:
        self.requests: list[Message] = []

    async def unary(self, request: Message) -> Message:
        self.requests.append(request)
        if request.body.startswith(b"sleep:"):
            await asyncio.sleep(float(request.body[6:]))
        if request.body == b"big reply":
            return Message({}, b"x" * (LIMIT + 1))
        error = request.header.get("Echo-Error")
        if error:
            return Message({headers.ERROR: error})
        return Message(
            {headers.CONTENT_TYPE: "text/plain", "Echo-Of": request.header.get("X-Name", "")}, request.body
        )

    async def stream(self, request: Message, stream: Stream) -> None:
        self.requests.append(request)
        await stream.send(Message({}, request.body))
        while True:
            try:
                message = await stream.recv()
            except EndOfStream:
                break
            if message.body == b"fail":
                await stream.close(
                    Message({headers.ERROR: errors.Conflict("told to fail").to_json().decode()})
                )
                return
            await stream.send(message)
        await stream.close_send()


@pytest.fixture
def transport() -> GRPCTransport:
    return GRPCTransport(max_message_size=LIMIT)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def listener(transport: GRPCTransport, recorder: Recorder) -> AsyncIterator[Listener]:
    listener = await transport.listen("127.0.0.1:0", recorder)
    yield listener
    await listener.close()


@pytest.fixture
async def connection(transport: GRPCTransport, listener: Listener) -> AsyncIterator[Connection]:
    connection = await transport.dial(listener.address, timeout=5)
    yield connection
    await connection.close()


@pytest.fixture
async def stock_channel(listener: Listener) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(listener.address)
    yield channel
    await channel.close()


def request(endpoint: str = "Echo.Call", body: bytes = b"hi", **extra: str) -> Message:
    return Message(
        {headers.SERVICE: "echo", headers.ENDPOINT: endpoint, headers.METHOD: endpoint, **extra}, body
    )


# --- paths and headers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/helloworld.Greeter/SayHello", "Greeter.SayHello"),
        ("/go.micro.srv.greeter.Greeter/Hello", "Greeter.Hello"),
        ("/Greeter/Hello", "Greeter.Hello"),
        ("/not-a-grpc-path", "/not-a-grpc-path"),
    ],
)
def test_method_paths_map_to_endpoints(path: str, endpoint: str) -> None:
    assert endpoint_of(path) == endpoint


async def test_micro_call_round_trips_headers_and_body(connection: Connection, recorder: Recorder) -> None:
    reply = await connection.call(
        request(
            **{"X-Name": "Ada", "Micro-Id": "7", headers.CONTENT_TYPE: "application/json", "X-Note": "ünï"}
        ),
        timeout=5,
    )

    assert reply == Message({headers.CONTENT_TYPE: "text/plain", "Echo-Of": "Ada"}, b"hi")
    seen = recorder.requests[0].header
    assert seen[headers.ENDPOINT] == seen[headers.METHOD] == "Echo.Call"
    assert seen[headers.SERVICE] == "echo"
    assert seen["Micro-Id"] == "7"
    assert seen[headers.CONTENT_TYPE] == "application/json"
    assert seen["X-Note"] == "ünï"  # not printable ASCII: carried as -bin metadata, nothing lost


async def test_a_reply_in_the_requests_content_type_needs_no_trailers(
    transport: GRPCTransport, stock_channel: grpc.aio.Channel, listener: Listener
) -> None:
    connection = await transport.dial(listener.address, timeout=5)
    try:
        reply = await connection.call(
            request(**{headers.CONTENT_TYPE: "text/plain", "X-Name": "Ada"}), timeout=5
        )
    finally:
        await connection.close()
    assert reply.header == {headers.CONTENT_TYPE: "text/plain", "Echo-Of": "Ada"}  # put back by the client

    call = stock_channel.unary_unary("/echo.Echo/Call")(b"hi", metadata=(("x-content-type", "text/plain"),))
    assert await call == b"hi"
    assert dict(await call.trailing_metadata()) == {"echo-of": ""}  # no x-content-type on the wire


async def test_a_header_name_grpc_cannot_carry_is_a_bad_request_and_nothing_is_sent(
    connection: Connection, recorder: Recorder
) -> None:
    with pytest.raises(errors.BadRequest, match="Bad Name"):
        await connection.call(request(**{"Bad Name": "x"}), timeout=5)
    with pytest.raises(errors.BadRequest, match=r"Handler\.Method"):
        await connection.call(request("NoDot"), timeout=5)
    assert recorder.requests == []
    assert (await connection.call(request(), timeout=5)).body == b"hi"


# --- a stock gRPC client calls a Micro listener ----------------------------------------


async def test_stock_grpc_client_calls_a_micro_listener(
    stock_channel: grpc.aio.Channel, recorder: Recorder
) -> None:
    say_hello = stock_channel.unary_unary("/helloworld.Greeter/SayHello")

    reply = await say_hello(b"raw bytes", metadata=(("x-name", "Ada"),), timeout=5)

    assert reply == b"raw bytes"
    seen = recorder.requests[0].header
    assert seen[headers.ENDPOINT] == "Greeter.SayHello"
    assert seen["X-Name"] == "Ada"
    assert "User-Agent" not in seen
    assert headers.STREAM not in seen  # stock clients always reach the unary handler


async def test_stock_client_gets_a_grpc_status_with_the_micro_error(stock_channel: grpc.aio.Channel) -> None:
    error = errors.NotFound("no such greeting: ¿qué?", id="greeter")
    say_hello = stock_channel.unary_unary("/helloworld.Greeter/SayHello")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await say_hello(b"", metadata=(("echo-error-bin", error.to_json()),), timeout=5)

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert errors.parse(raised.value.details()) == error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.BadRequest("b"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.Unauthorized("u"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.Forbidden("f"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Timeout("t"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (errors.Conflict("c"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.PayloadTooLarge("p"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.InternalServerError("i"), grpc.StatusCode.INTERNAL),
        (errors.ServiceUnavailable("s"), grpc.StatusCode.UNAVAILABLE),
        (errors.GatewayTimeout("g"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (errors.MicroError("teapot", code=418), grpc.StatusCode.INTERNAL),
    ],
)
async def test_micro_errors_map_to_grpc_statuses_and_come_back_exact(
    stock_channel: grpc.aio.Channel, connection: Connection, error: errors.MicroError, status: grpc.StatusCode
) -> None:
    text = error.to_json().decode()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stock_channel.unary_unary("/echo.Echo/Call")(b"", metadata=(("echo-error", text),), timeout=5)
    assert raised.value.code() == status

    reply = await connection.call(request(**{"Echo-Error": text}), timeout=5)
    assert errors.parse(reply.header[headers.ERROR]) == error


async def test_stock_client_deadline_becomes_the_timeout_header(
    stock_channel: grpc.aio.Channel, recorder: Recorder
) -> None:
    await stock_channel.unary_unary("/echo.Echo/Call")(b"", timeout=3)

    left = int(recorder.requests[0].header[headers.TIMEOUT]) / 1e9
    assert 2 < left <= 3.1  # gRPC rounds the encoded deadline up a little


async def test_an_oversized_request_from_a_stock_client_is_refused_and_the_listener_keeps_serving(
    stock_channel: grpc.aio.Channel,
) -> None:
    echo = stock_channel.unary_unary("/echo.Echo/Call")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await echo(b"x" * (LIMIT + 1), timeout=5)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await echo(b"after", timeout=5) == b"after"


# --- a Micro connection calls a stock gRPC server --------------------------------------


class StockGreeter(grpc.GenericRpcHandler):
    """A stock gRPC server's generic handler: what grpc_tools would serve for helloworld.Greeter."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str | bytes], float | None]] = []

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method

        async def handle(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.calls.append((method, body, dict(context.invocation_metadata()), context.time_remaining()))
            if body.startswith(b"status:"):
                await context.abort(grpc.StatusCode[body[7:].decode()], "stock failure")
            if body == b"slow":
                await asyncio.sleep(5)
            return b"Hello " + body

        if method != "/helloworld.Greeter/SayHello":
            return None
        return grpc.unary_unary_rpc_method_handler(handle)


@pytest.fixture
async def stock_server() -> AsyncIterator[tuple[str, StockGreeter]]:
    greeter = StockGreeter()
    server = grpc.aio.server(handlers=[greeter])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", greeter
    await server.stop(None)


@pytest.fixture
async def stock_connection(
    transport: GRPCTransport, stock_server: tuple[str, StockGreeter]
) -> AsyncIterator[Connection]:
    connection = await transport.dial(stock_server[0], timeout=5)
    yield connection
    await connection.close()


def greeting(body: bytes, **extra: str) -> Message:
    return Message({headers.SERVICE: "helloworld", headers.ENDPOINT: "Greeter.SayHello", **extra}, body)


async def test_micro_connection_calls_a_stock_grpc_server(
    stock_connection: Connection, stock_server: tuple[str, StockGreeter]
) -> None:
    reply = await stock_connection.call(
        greeting(b"Ada", **{headers.CONTENT_TYPE: "application/octet-stream", "X-Trace": "t1"}), timeout=2
    )

    assert reply.body == b"Hello Ada"
    assert headers.ERROR not in reply.header
    method, body, metadata, left = stock_server[1].calls[0]
    assert (method, body) == ("/helloworld.Greeter/SayHello", b"Ada")
    assert metadata["x-trace"] == "t1"
    assert metadata["x-content-type"] == "application/octet-stream"
    assert metadata["micro-service"] == "helloworld"
    assert left is not None and 1 < left <= 2.1


async def test_a_grpc_path_endpoint_is_used_as_it_is(
    stock_connection: Connection, stock_server: tuple[str, StockGreeter]
) -> None:
    reply = await stock_connection.call(
        Message({headers.SERVICE: "greeter", headers.ENDPOINT: "/helloworld.Greeter/SayHello"}, b"Bo"),
        timeout=5,
    )
    assert reply.body == b"Hello Bo"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("INVALID_ARGUMENT", errors.BadRequest),
        ("UNAUTHENTICATED", errors.Unauthorized),
        ("PERMISSION_DENIED", errors.Forbidden),
        ("NOT_FOUND", errors.NotFound),
        ("ALREADY_EXISTS", errors.Conflict),
        ("RESOURCE_EXHAUSTED", errors.PayloadTooLarge),
        ("INTERNAL", errors.InternalServerError),
        ("UNKNOWN", errors.InternalServerError),
    ],
)
async def test_stock_grpc_statuses_map_to_typed_micro_errors(
    stock_connection: Connection, status: str, error: type[errors.MicroError]
) -> None:
    reply = await stock_connection.call(greeting(f"status:{status}".encode()), timeout=5)

    got = errors.parse(reply.header[headers.ERROR])
    assert type(got) is error
    assert got.detail == f"{status}: stock failure"


async def test_unimplemented_method_on_a_stock_server_is_501(stock_connection: Connection) -> None:
    reply = await stock_connection.call(greeting(b"", **{headers.ENDPOINT: "Greeter.Nope"}), timeout=5)
    assert errors.parse(reply.header[headers.ERROR]).code == 501


async def test_unavailable_from_a_stock_server_is_a_connection_error_to_try_elsewhere(
    stock_connection: Connection, stock_server: tuple[str, StockGreeter]
) -> None:
    with pytest.raises(ConnectionError, match=stock_server[0]):
        await stock_connection.call(greeting(b"status:UNAVAILABLE"), timeout=5)


async def test_a_missed_deadline_is_a_timeout_error(stock_connection: Connection) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await stock_connection.call(greeting(b"slow"), timeout=0.3)
    assert time.monotonic() - started < 3


# --- size limits, failures, streams ----------------------------------------------------


async def test_an_oversized_request_is_payload_too_large_and_the_server_keeps_serving(
    connection: Connection, recorder: Recorder
) -> None:
    with pytest.raises(errors.PayloadTooLarge, match="exceeds"):
        await connection.call(request(body=b"x" * (LIMIT + 1)), timeout=5)
    assert recorder.requests == []

    reply = await connection.call(request(body=b"big reply"), timeout=5)
    assert errors.parse(reply.header[headers.ERROR]).code == 413
    assert (await connection.call(request(), timeout=5)).body == b"hi"


async def test_a_smaller_server_limit_refuses_with_413(recorder: Recorder) -> None:
    server = await GRPCTransport(max_message_size=1024).listen("127.0.0.1:0", recorder)
    connection = await GRPCTransport(max_message_size=LIMIT).dial(server.address, timeout=5)
    try:
        reply = await connection.call(request(body=b"x" * 2048), timeout=5)
        assert errors.parse(reply.header[headers.ERROR]).code == 413
        assert (await connection.call(request(), timeout=5)).body == b"hi"
    finally:
        await connection.close()
        await server.close()


async def test_dialling_nothing_fails_fast_naming_the_address(transport: GRPCTransport) -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=address):
        await transport.dial(address, timeout=10)
    assert time.monotonic() - started < 5


async def test_a_stopped_server_is_a_connection_error_and_the_connection_closes(
    transport: GRPCTransport, recorder: Recorder
) -> None:
    server = await transport.listen("127.0.0.1:0", recorder)
    connection = await transport.dial(server.address, timeout=5)
    await server.close()

    with pytest.raises(ConnectionError, match=server.address):
        await connection.call(request(), timeout=5)
    assert connection.closed
    await connection.close()


async def test_listening_on_a_taken_port_is_an_os_error(transport: GRPCTransport, listener: Listener) -> None:
    with pytest.raises(OSError, match=listener.address):
        await transport.listen(listener.address, Recorder())


async def test_streams_echo_both_ways(connection: Connection, recorder: Recorder) -> None:
    stream = await connection.stream(request("Echo.Stream", b"first", **{headers.STREAM: "s1"}))
    await stream.send(Message({}, b"second"))
    await stream.close_send()

    assert [(await stream.recv()).body, (await stream.recv()).body] == [b"first", b"second"]
    with pytest.raises(EndOfStream):
        await stream.recv()
    assert recorder.requests[0].header[headers.ENDPOINT] == "Echo.Stream"
    await stream.close()


async def test_a_stream_error_reaches_the_client_once(connection: Connection) -> None:
    stream = await connection.stream(request("Echo.Stream", b"", **{headers.STREAM: "s2"}))
    await stream.send(Message({}, b"fail"))

    assert (await stream.recv()).body == b""
    error = errors.parse((await stream.recv()).header[headers.ERROR])
    assert error == errors.Conflict("told to fail")
    with pytest.raises(EndOfStream):
        await stream.recv()
    await stream.close()


async def test_closing_a_stream_needs_an_error_header(connection: Connection) -> None:
    stream = await connection.stream(request("Echo.Stream", b"", **{headers.STREAM: "s3"}))
    with pytest.raises(ValueError, match=headers.ERROR):
        await stream.close(Message({}, b"not an error"))
    await stream.close()
    with pytest.raises(RuntimeError):
        await stream.send(Message({}, b"late"))


async def test_a_server_stream_sees_connection_error_once_the_client_has_gone(
    transport: GRPCTransport,
) -> None:
    outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    class Ticker(Recorder):
        async def stream(self, request: Message, stream: Stream) -> None:
            try:
                for n in range(1000):  # bounded: 10 s at most
                    await stream.send(Message({}, b"%d" % n))
                    await asyncio.sleep(0.01)
            except ConnectionError as exc:
                outcome.set_result(exc)
                raise
            outcome.set_result(None)

    server = await transport.listen("127.0.0.1:0", Ticker())
    connection = await transport.dial(server.address, timeout=5)
    try:
        stream = await connection.stream(request("Ticker.Run", b""))
        assert (await stream.recv()).body == b"0"
        await stream.close()

        assert isinstance(await asyncio.wait_for(outcome, 5), ConnectionError)
    finally:
        await connection.close()
        await server.close()


# --- whole services ---------------------------------------------------------------------


@dataclass
class Ping:
    text: str


class Echo:
    async def call(self, req: Ping) -> Ping:
        return req


async def test_a_service_on_grpc_answers_micro_and_stock_clients(micro_service: StartService) -> None:
    server = await micro_service(Echo(), name="echo", transport="grpc", server_address="127.0.0.1:0")
    caller = await micro_service(name="caller", transport="grpc", server_address="127.0.0.1:0")

    assert await caller.client.call("echo", "Echo.Call", {"text": "micro"}) == {"text": "micro"}
    with pytest.raises(errors.NotFound):
        await caller.client.call("echo", "Echo.Missing", {})

    (node,) = [n for s in await caller.registry.get_service("echo") for n in s.nodes]
    assert node.metadata["transport"] == "grpc" and server.name == "echo"
    async with grpc.aio.insecure_channel(node.address) as channel:
        # A stock client's body is protobuf unless it names another codec the way micro clients do.
        call = channel.unary_unary("/echo.Echo/Call")(
            b'{"text": "stock"}', timeout=5, metadata=(("x-content-type", "application/json"),)
        )
        raw = await call
        trailers = dict(await call.trailing_metadata())
    assert json.loads(raw) == {"text": "stock"}
    assert trailers == {}  # a reply in the request's content type sends no trailing metadata


class TestGRPCTransportTLS(TLSConformance):
    @pytest.fixture
    def secure_transport(self) -> SecureTransport:
        return lambda tls: GRPCTransport(tls=tls)


class Countdown:
    async def wait(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    async def count(self, upto: int) -> AsyncIterator[int]:
        for n in range(upto):
            yield n


async def test_a_draining_server_refuses_new_streams_as_it_refuses_new_calls(
    micro_service: StartService,
) -> None:
    service = await micro_service(Countdown(), name="counter", transport="grpc", server_address="127.0.0.1:0")
    at = service.address
    running = asyncio.create_task(service.client.call("counter", "Countdown.Wait", 0.5, address=at))
    await asyncio.sleep(0.1)
    draining = asyncio.create_task(service.server.drain(5))
    await asyncio.sleep(0.05)
    with pytest.raises(errors.ServiceUnavailable, match="shutting down"):
        await service.client.call("counter", "Countdown.Wait", 0, address=at, retries=0)
    with pytest.raises(errors.ServiceUnavailable, match="shutting down"):
        async with service.client.stream("counter", "Countdown.Count", 3, address=at) as numbers:
            [n async for n in numbers]
    assert await running == "done" and await draining


async def test_metadata_beyond_the_server_limit_is_refused_and_the_server_keeps_serving() -> None:
    """The HTTP transport's header limit (ServerLimits.max_header_bytes) holds on gRPC too."""
    server = GRPCTransport(limits=ServerLimits(max_header_bytes=16 * 1024))
    listener = await server.listen("127.0.0.1:0", Recorder())
    connection = await GRPCTransport().dial(listener.address, timeout=10)
    try:
        refused = await connection.call(Message({"X-Big": "a" * 64 * 1024}, b"big"), timeout=10)
        assert error_of(refused).code == 413 and "metadata size" in error_of(refused).detail
        assert (await connection.call(Message({"X-Small": "a"}, b"small"), timeout=10)).body == b"small"
    finally:
        await connection.close()
        await listener.close()
