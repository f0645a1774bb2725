"""Raw ``grpc.aio``: a generic unary and stream echo, ``python grpc_echo.py PORT``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import grpc


async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def stream(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def main(port: int) -> None:
    server = grpc.aio.server()
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.stream_stream_rpc_method_handler(stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
