"""What one client may hold of an HTTP transport server: header size and count, time, connections.

Raw sockets play the misbehaving clients, byte for byte, against a real listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import AsyncIterator, Callable

import pytest

from micro_core import errors, headers
from micro_core.testing.conformance.transport import Handler
from micro_core.transport import EndOfStream, Listener, Message, Stream
from micro_core.transport.http import HTTPListener, HTTPTransport, ServerLimits, split_address

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def slow_echo(request: Message) -> Message:
    await asyncio.sleep(float(request.header.get("X-Sleep", "0")))
    return Message({}, b"echo:" + request.body)


async def hold_stream(first: Message, stream: Stream) -> None:
    await stream.send(Message(body=b"opened"))
    with contextlib.suppress(EndOfStream, ConnectionError):  # held until the client goes
        await stream.recv()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Listener]]]:
    listeners: list[Listener] = []

    async def serve(**limits: float) -> Listener:
        transport = HTTPTransport(limits=ServerLimits(**limits))
        listener = await transport.listen("127.0.0.1:0", Handler(unary=slow_echo, stream=hold_stream))
        listeners.append(listener)
        return listener

    yield serve  # type: ignore[misc]
    for listener in listeners:
        await listener.close()


@pytest.fixture
async def connect() -> AsyncIterator[Callable[[Listener], asyncio.Future[Streams]]]:
    opened: list[asyncio.StreamWriter] = []

    async def connect(listener: Listener) -> Streams:
        reader, writer = await asyncio.open_connection(*split_address(listener.address))
        opened.append(writer)
        return reader, writer

    yield connect  # type: ignore[misc]
    for writer in opened:
        writer.close()


def post(message_id: str, body: bytes, **extra: str) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in extra.items())
    return b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nMicro-Id: %s\r\n%s\r\n%s" % (
        len(body),
        message_id.encode(),
        lines.encode(),
        body,
    )


async def read_reply(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """The status line, headers and body of the next reply."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status, *lines = head.decode().split("\r\n")[:-2]
    fields = dict(line.split(": ", 1) for line in lines)
    return status.encode(), fields, await reader.readexactly(int(fields["Content-Length"]))


async def hung_up(reader: asyncio.StreamReader, within: float) -> bytes:
    """What the server sent before closing the connection; TimeoutError if it keeps it open."""
    return await asyncio.wait_for(reader.read(), within)


async def test_a_valid_request_keeps_its_reply_when_garbage_follows_it(serve, connect) -> None:
    listener = await serve()
    reader, writer = await connect(listener)
    writer.write(post("1", b"first", **{"X-Sleep": "0.2"}) + b"\x16\x03\x01 not HTTP\r\n\r\n")

    status, fields, body = await read_reply(reader)
    assert (status, fields[headers.ID], body) == (b"HTTP/1.1 200 OK", "1", b"echo:first")
    rest = await hung_up(reader, 5)
    assert rest.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_headers_beyond_the_size_limit_get_431_and_the_connection_is_closed(serve, connect) -> None:
    """An unterminated header line must not grow the server's memory without bound."""
    listener = await serve(max_header_bytes=64 * 1024)
    reader, writer = await connect(listener)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    for _ in range(32):  # 1 MiB, never terminated
        writer.write(b"a" * 32 * 1024)
        await writer.drain()
        if reader.at_eof() or writer.is_closing():
            break
    answer = await hung_up(reader, 5)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert errors.parse(answer.split(b"\r\n\r\n", 1)[1]).code == 431


async def test_too_many_headers_get_431(serve, connect) -> None:
    listener = await serve(max_headers=50)
    reader, writer = await connect(listener)
    writer.write(post("1", b"x", **{f"X-H{n}": "v" for n in range(100)}))
    assert (await hung_up(reader, 5)).startswith(b"HTTP/1.1 431 ")


async def test_a_closed_connection_is_freed_without_waiting_for_the_garbage_collector(serve, connect) -> None:
    """The connection and its parser must not keep each other alive (a cycle lives until a full gc)."""
    listener = await serve()
    assert isinstance(listener, HTTPListener)
    _, writer = await connect(listener)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nX-Partial: " + b"a" * 100_000)
    await writer.drain()
    while not listener.peers:
        await asyncio.sleep(0.01)
    peer = weakref.ref(next(iter(listener.peers)))
    gc.disable()
    try:
        writer.close()
        while listener.peers:
            await asyncio.sleep(0.01)
        for _ in range(3):
            await asyncio.sleep(0)
        assert peer() is None
    finally:
        gc.enable()


async def test_a_client_sending_headers_one_byte_at_a_time_is_cut_off(serve, connect) -> None:
    listener = await serve(header_timeout=0.3)
    reader, writer = await connect(listener)

    async def trickle() -> None:
        for byte in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            writer.write(bytes([byte]))
            await asyncio.sleep(0.05)

    trickling = asyncio.create_task(trickle())
    try:
        answer = await hung_up(reader, 3)
    finally:
        trickling.cancel()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_body_that_never_completes_is_cut_off(serve, connect) -> None:
    listener = await serve(read_timeout=0.3)
    reader, writer = await connect(listener)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
    assert (await hung_up(reader, 3)).startswith(b"HTTP/1.1 408 ")


async def test_idle_connections_close_but_not_while_a_call_or_stream_runs(serve, connect) -> None:
    listener = await serve(idle_timeout=0.3)
    reader, writer = await connect(listener)
    writer.write(post("1", b"slow", **{"X-Sleep": "0.8"}))  # longer than the idle timeout
    assert (await read_reply(reader))[2] == b"echo:slow"

    streaming, stream_writer = await connect(listener)
    stream_writer.write(post("s", b"", **{headers.STREAM: "s1"}))
    assert (await read_reply(streaming))[2] == b"opened"
    await asyncio.sleep(0.8)
    assert not streaming.at_eof()  # an open stream is not idle

    assert await hung_up(reader, 3) == b""  # idle after its call: closed, silently


def test_idle_connections_are_kept_longer_than_go_micro_clients_pool_them() -> None:
    """Go's http.Transport keeps idle connections 90 s; closing sooner races their reuse."""
    assert ServerLimits().idle_timeout > 90


async def test_connections_beyond_the_cap_are_refused_with_503(serve, connect) -> None:
    listener = await serve(max_connections=2)
    first = await connect(listener)
    second = await connect(listener)
    for reader, writer in (first, second):
        writer.write(post("1", b"x"))
        assert (await read_reply(reader))[2] == b"echo:x"
    reader, _ = await connect(listener)
    answer = await hung_up(reader, 3)
    assert answer.startswith(b"HTTP/1.1 503 ")
    first[1].close()
    await asyncio.sleep(0.1)
    reader, writer = await connect(listener)
    writer.write(post("2", b"y"))
    assert (await read_reply(reader))[2] == b"echo:y"
