"""The HTTP transport's client reads reply header names whatever their case, as HTTP says.

Servers that lower-case header names (uvicorn on httptools, anything behind an HTTP/2 hop)
answer micro calls too: a web service's ``Debug.Health`` goes through uvicorn.
"""

from __future__ import annotations

import asyncio
import re

from micro_core import errors
from micro_core.transport import Message
from micro_core.transport.http import HTTPTransport

_ID = re.compile(rb"\r\nMicro-Id: (\d+)\r\n")


async def _lower_case_server_stand_in(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A raw socket standing in for uvicorn on httptools: it answers the first two requests
    in reverse order, the third with an error, every header name lower-cased."""
    try:
        await _answer_reversed(reader, writer)
    finally:  # also when cancelled: the accepted socket must not outlive the test's loop
        writer.close()


async def _answer_reversed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    requests = []
    for _ in range(3):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
        body = await reader.readexactly(length)
        requests.append((_ID.search(head)[1], body))  # type: ignore[index]
        if len(requests) == 2:
            for message_id, body in reversed(requests):
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nmicro-id: %s\r\n"
                    b"content-type: text/plain\r\nX-Served-By: stand-in\r\n\r\n%s"
                    % (len(body), message_id, body)
                )
    error = errors.NotFound("no such thing", id="stand.in").to_json()
    writer.write(
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nmicro-id: %s\r\nmicro-error: %s\r\n\r\n"
        % (requests[2][0], error)
    )
    await writer.drain()
    await reader.read()


async def test_lower_case_reply_headers_are_read_stand_in() -> None:
    served: list[asyncio.Task[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        served.append(task)
        await _lower_case_server_stand_in(reader, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = await HTTPTransport().dial(f"127.0.0.1:{port}")
    try:
        first, second = await asyncio.gather(
            connection.call(Message({}, b"first"), timeout=5),
            connection.call(Message({}, b"second"), timeout=5),
        )
        failed = await connection.call(Message({}, b"third"), timeout=5)
    finally:
        await connection.close()
        server.close()
        # Python 3.11's wait_closed does not wait for the connections it accepted (3.12 does).
        await asyncio.wait_for(asyncio.gather(*served), 5)
        await server.wait_closed()

    # Matched by id although they came in reverse order and as ``micro-id``.
    assert (first.body, second.body) == (b"first", b"second")
    # The kernel's own headers under the kernel's spelling; any other name as it came.
    assert first.header == {"Micro-Id": "1", "Content-Type": "text/plain", "X-Served-By": "stand-in"}
    error = errors.parse(failed.header["Micro-Error"])
    assert isinstance(error, errors.NotFound)
    assert (error.id, error.detail) == ("stand.in", "no such thing")
