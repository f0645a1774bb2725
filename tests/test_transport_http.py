"""The HTTP transport: the conformance suite, Go Micro wire compatibility, bad bytes, two processes."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from micro_core import errors, headers
from micro_core.testing.conformance.transport import Handler, TransportConformance
from micro_core.testing.processes import ServerProcess, free_port
from micro_core.transport import Listener, Message, Transport
from micro_core.transport.http import HTTPTransport, split_address


class TestHTTPTransport(TransportConformance):
    @pytest.fixture
    def transport(self) -> Transport:
        return HTTPTransport()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
async def echo_listener() -> AsyncIterator[Listener]:
    async def echo(request: Message) -> Message:
        return Message({"Content-Type": "application/octet-stream"}, b"echo:" + request.body)

    listener = await HTTPTransport().listen("127.0.0.1:0", Handler(unary=echo))
    yield listener
    await listener.close()


async def test_a_plain_http_client_gets_a_go_micro_reply(echo_listener: Listener) -> None:
    """Python's http.client, keeping its connection alive, speaks to the server as a Go Micro client does."""
    host, port = split_address(echo_listener.address)

    def two_posts() -> list[tuple[int, str | None, str | None, bytes]]:
        client = http.client.HTTPConnection(host, port, timeout=10)
        replies = []
        for seq, body in enumerate((b"first", b"second")):
            client.request("POST", "/", body=body, headers={"Micro-Id": str(seq), "Micro-Service": "go.svc"})
            response = client.getresponse()
            replies.append(
                (
                    response.status,
                    response.getheader("Micro-Id"),
                    response.getheader("Content-Type"),
                    response.read(),
                )
            )
        client.close()
        return replies

    replies = await asyncio.to_thread(two_posts)
    assert replies == [
        (200, "0", "application/octet-stream", b"echo:first"),
        (200, "1", "application/octet-stream", b"echo:second"),
    ]


async def test_client_writes_plain_http_posts() -> None:
    """What a Go Micro server reads: POST / with Host, Content-Length and the message headers."""
    received: asyncio.Queue[bytes] = asyncio.Queue()
    writers: list[asyncio.StreamWriter] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length")
        )
        await received.put(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nMicro-Id: 1\r\n\r\nok")
        await writer.drain()

    server = await asyncio.start_server(record, "127.0.0.1", 0)  # a raw socket standing in for a Go server
    port = server.sockets[0].getsockname()[1]
    try:
        connection = await HTTPTransport().dial(f"127.0.0.1:{port}")
        reply = await connection.call(Message({"Micro-Endpoint": "Greeter.Hello"}, b"hi"), timeout=5)
        await connection.close()
    finally:
        server.close()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        await server.wait_closed()

    assert reply.body == b"ok"
    request = await asyncio.wait_for(received.get(), 5)
    lines = request.split(b"\r\n")
    assert lines[0] == b"POST / HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}".encode() in lines
    assert b"Content-Length: 2" in lines
    assert b"Micro-Id: 1" in lines
    assert b"Micro-Endpoint: Greeter.Hello" in lines
    assert request.endswith(b"\r\n\r\nhi")


async def test_malformed_bytes_get_a_400_and_only_that_connection_closes(echo_listener: Listener) -> None:
    host, port = split_address(echo_listener.address)
    healthy = await HTTPTransport().dial(echo_listener.address)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
    await writer.drain()

    answer = await asyncio.wait_for(reader.read(), 10)  # read() returns at EOF: the server hung up
    writer.close()
    await writer.wait_closed()

    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    error = errors.parse(answer.split(b"\r\n\r\n", 1)[1])
    assert error.code == 400 and "not an HTTP/1.1 request" in error.detail
    assert (await healthy.call(Message(body=b"x"), timeout=5)).body == b"echo:x"
    await healthy.close()


async def test_oversized_request_body_is_skipped_and_the_next_request_is_served() -> None:
    """Raw bytes, as a Go Micro client would send them, past a 1 KiB limit."""
    listener = await HTTPTransport(max_message_size=1024).listen("127.0.0.1:0", Handler())
    host, port = split_address(listener.address)
    reader, writer = await asyncio.open_connection(host, port)
    big = b"z" * 5000
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nMicro-Id: 1\r\n\r\n" + big)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nMicro-Id: 2\r\n\r\nok")
    await writer.drain()

    replies = {}
    for _ in range(2):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:-2])
        replies[fields[b"Micro-Id"]] = (fields, await reader.readexactly(int(fields[b"Content-Length"])))
    writer.close()
    await writer.wait_closed()
    await listener.close()

    refused, body = replies[b"1"]
    assert body == b""
    assert errors.parse(refused[headers.ERROR.encode()]).code == 413
    assert replies[b"2"][1] == b"ok"


async def test_header_with_a_line_break_is_refused_before_sending(echo_listener: Listener) -> None:
    connection = await HTTPTransport().dial(echo_listener.address)
    with pytest.raises(ValueError, match="line breaks"):
        await connection.call(Message({"X-Evil": "a\r\nContent-Length: 0"}, b"x"), timeout=5)
    assert (await connection.call(Message(body=b"fine"), timeout=5)).body == b"echo:fine"
    await connection.close()


async def test_control_headers_in_a_message_do_not_confuse_the_framing(echo_listener: Listener) -> None:
    """Metadata copied from an inbound call may carry the caller's Micro-Id or Micro-Stream."""
    connection = await HTTPTransport().dial(echo_listener.address)
    stale = {headers.ID: "999", headers.STREAM: "old", "Content-Length": "1"}
    reply = await connection.call(Message(stale, b"unary"), timeout=5)
    assert reply.body == b"echo:unary"
    await connection.close()


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
async def test_ipv6_addresses() -> None:
    listener = await HTTPTransport().listen("[::1]:0", Handler())
    try:
        assert listener.address.startswith("[::1]:") and not listener.address.endswith(":0")
        connection = await HTTPTransport().dial(listener.address)
        assert (await connection.call(Message(body=b"v6"), timeout=5)).body == b"v6"
        await connection.close()
    finally:
        await listener.close()


async def test_bad_addresses_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="not host:port"):
        await HTTPTransport().dial("localhost")
    with pytest.raises(ValueError, match="not host:port"):
        await HTTPTransport().listen("127.0.0.1:http", Handler())


async def test_listening_on_a_taken_port_names_it(echo_listener: Listener) -> None:
    with pytest.raises(OSError, match=echo_listener.address):
        await HTTPTransport().listen(echo_listener.address, Handler())


SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from micro_core.transport import Message
    from micro_core.transport.http import HTTPTransport

    class Upper:
        async def unary(self, request):
            return Message({"X-Pid": "server"}, request.body.upper())

        async def stream(self, request, stream):
            await stream.send(Message(body=request.body[::-1]))

    async def main():
        await HTTPTransport().listen(sys.argv[1], Upper())
        print("serving", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


async def test_client_and_server_in_two_processes() -> None:
    port = free_port()
    server = ServerProcess([sys.executable, "-c", SERVER, f"127.0.0.1:{port}"], port=port, name="http server")
    await asyncio.to_thread(server.start, 30)
    try:
        connection = await HTTPTransport().dial(f"127.0.0.1:{port}", timeout=10)
        replies = await asyncio.gather(
            *(connection.call(Message(body=b"n%d" % n), timeout=10) for n in range(50))
        )
        assert [reply.body for reply in replies] == [b"N%d" % n for n in range(50)]
        assert replies[0].header["X-Pid"] == "server"
        stream = await connection.stream(Message(body=b"abc"))
        assert (await asyncio.wait_for(stream.recv(), 10)).body == b"cba"
        await stream.close()
        await connection.close()
    finally:
        await asyncio.to_thread(server.stop)


UVLOOP_PLUGIN = textwrap.dedent(
    """
    import uvloop

    loops = []

    def new_loop():
        loops.append(uvloop.new_event_loop())
        return loops[-1]

    def pytest_asyncio_loop_factories(config, item):
        return {"uvloop": new_loop}

    def pytest_terminal_summary(terminalreporter):
        terminalreporter.write_line(f"tests run on {len(loops)} uvloop loops")
    """
)


def test_the_conformance_suite_passes_on_uvloop(tmp_path: Path) -> None:
    """Services run on uvloop, whose transports are not asyncio's classes: run the suite there too."""
    (tmp_path / "uvloop_loops.py").write_text(UVLOOP_PLUGIN)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", f"{__file__}::TestHTTPTransport", "-p", "uvloop_loops", "-q"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
    assert "tests run on 0 uvloop loops" not in result.stdout and "uvloop loops" in result.stdout
