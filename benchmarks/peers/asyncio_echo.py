"""The floor: a bare asyncio echo with 4-byte length framing, ``python asyncio_echo.py PORT``."""

from __future__ import annotations

import asyncio
import struct
import sys

import uvloop

HEADER = struct.Struct("!I")


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out = []
        while len(buffer) >= 4:
            (size,) = HEADER.unpack_from(buffer)
            if len(buffer) < 4 + size:
                break
            out.append(bytes(buffer[: 4 + size]))
            del buffer[: 4 + size]
        if out:
            self.transport.write(b"".join(out))  # type: ignore[attr-defined]


async def main(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Echo, "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
