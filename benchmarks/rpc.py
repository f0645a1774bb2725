"""Unary RPC and streaming: micro (default and gRPC transports) against raw grpc.aio and
a bare asyncio echo, each server in its own process, the client here (nameko: nameko.py)."""

from __future__ import annotations

import asyncio
import struct
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
import msgspec

from benchmarks.harness import PEERS, Peer, Result, drive, measure
from micro_core import Options, Plugins, Service
from micro_core.testing.processes import free_port

HEADER = struct.Struct("!I")


@dataclass(frozen=True)
class Plan:
    payloads: tuple[int, ...]
    concurrency: tuple[int, ...]
    #: Calls per case and round.
    calls: int
    max_seconds: float
    #: Alternating rounds of the cases compared at one payload and concurrency; the median is reported.
    rounds: int = 1


def payload(size: int) -> dict[str, str]:
    """A JSON object whose encoding is ``size`` bytes: ``{"data":"xxx…"}``."""
    return {"data": "x" * (size - len('{"data":""}'))}


class _EchoConnection(asyncio.Protocol):
    """One connection with one request in flight: the least a Python client can do."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= 4:
            (size,) = HEADER.unpack_from(self.buffer)
            if len(self.buffer) >= 4 + size and self.waiter is not None:
                body = bytes(self.buffer[4 : 4 + size])
                del self.buffer[: 4 + size]
                self.waiter.set_result(body)

    async def call(self, body: bytes) -> bytes:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(HEADER.pack(len(body)) + body)  # type: ignore[attr-defined]
        return await self.waiter


async def bench_asyncio_echo(size: int, concurrency: int, plan: Plan) -> Result:
    port = free_port()
    body = msgspec.json.encode(payload(size))
    with Peer([str(PEERS / "asyncio_echo.py"), str(port)]):
        loop = asyncio.get_running_loop()
        connections = [
            (await loop.create_connection(_EchoConnection, "127.0.0.1", port))[1] for _ in range(concurrency)
        ]
        idle = asyncio.Queue[_EchoConnection]()
        for connection in connections:
            idle.put_nowait(connection)

        async def call() -> None:
            connection = idle.get_nowait()
            await connection.call(body)
            idle.put_nowait(connection)

        done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
        for connection in connections:
            connection.transport.close()
    return measure(
        "rpc", "asyncio echo (floor)", done, seconds, latencies, payload=size, concurrency=concurrency
    )


async def bench_raw_grpc(size: int, concurrency: int, plan: Plan) -> Result:
    port = free_port()
    body = msgspec.json.encode(payload(size))
    with Peer([str(PEERS / "grpc_echo.py"), str(port)]):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo = channel.unary_unary("/bench.Echo/Echo")

            async def call() -> None:
                await echo(body)

            done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
    return measure("rpc", "raw grpc.aio", done, seconds, latencies, payload=size, concurrency=concurrency)


@contextmanager
def micro_echo(transport: str) -> Iterator[dict[str, str]]:
    """A micro echo service in its own process; yields the environment to reach it."""
    with tempfile.TemporaryDirectory() as registry:
        env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": registry, "MICRO_TRANSPORT": transport}
        with Peer([str(PEERS / "micro_echo.py")], env=env):
            yield env


async def micro_client(env: dict[str, str]) -> Service:
    client = Service("bench-client", plugins=Plugins(autoload=False), options=Options(environ=env))
    await client.connect()
    return client


async def bench_micro(
    transport: str, size: int, concurrency: int, plan: Plan, *, direct: bool = False
) -> Result:
    body = payload(size)
    with micro_echo(transport) as env:
        client = await micro_client(env)
        address = None
        if direct:
            [entry] = await client.registry.get_service("bench-echo")
            address = entry.nodes[0].address

        async def call() -> None:
            await client.client.call("bench-echo", "Echo.Echo", body, address=address)

        done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
        await client.close()
    name = f"micro {transport}" + (" (direct address)" if direct else "")
    return measure("rpc", name, done, seconds, latencies, payload=size, concurrency=concurrency)


async def bench_stream_micro(messages: int, plan: Plan) -> Result:
    body = payload(100)
    with micro_echo("http") as env:
        client = await micro_client(env)
        async with client.client.stream("bench-echo", "Echo.Stream") as stream:
            latencies: list[float] = []
            began = time.perf_counter()
            for _ in range(messages):
                sent = time.perf_counter()
                await stream.send(body)
                await stream.recv()
                latencies.append(time.perf_counter() - sent)
            seconds = time.perf_counter() - began
            await stream.close_send()
        await client.close()
    return measure("stream", "micro http stream", len(latencies), seconds, latencies, messages=messages)


async def bench_stream_grpc(messages: int, plan: Plan) -> Result:
    port = free_port()
    body = msgspec.json.encode(payload(100))
    with Peer([str(PEERS / "grpc_echo.py"), str(port)]):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.stream_stream("/bench.Echo/Stream")()
            latencies: list[float] = []
            began = time.perf_counter()
            for _ in range(messages):
                sent = time.perf_counter()
                await call.write(body)
                await call.read()
                latencies.append(time.perf_counter() - sent)
            seconds = time.perf_counter() - began
            await call.done_writing()
    return measure("stream", "raw grpc.aio stream", len(latencies), seconds, latencies, messages=messages)
