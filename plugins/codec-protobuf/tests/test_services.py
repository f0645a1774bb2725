"""Generated clients and servers, JSON transcoding and standard gRPC both ways, on real processes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any

import grpc
import grpc.aio
import pytest

from micro_core import errors, headers
from micro_core.service import Service
from micro_core.testing.processes import ServerProcess
from micro_core.transport import Message

GARBAGE = b"\x0a\x05Ad"  # field 1, five bytes announced, two sent


@contextlib.asynccontextmanager
async def caller(micro_env: dict[str, str], transport: str = "http") -> AsyncIterator[Service]:
    """A micro service in this test process that only calls, on the test's registry."""
    service = Service(
        "caller",
        registry="local",
        registry_address=micro_env["MICRO_REGISTRY_ADDRESS"],
        broker="memory",
        transport=transport,
    )
    await service.connect()
    try:
        yield service
    finally:
        await service.close()


async def test_generated_client_calls_generated_server(
    spawn: Callable[..., ServerProcess], micro_env: dict[str, str], pb: ModuleType, micro_pb: ModuleType
) -> None:
    spawn("greeter")
    async with caller(micro_env) as service:
        greeter = micro_pb.GreeterClient(service)
        reply = await greeter.say_hello(pb.HelloRequest(name="Ada", tags=["x"]))
        assert reply == pb.HelloReply(message="Hello Ada #x")
        assert [tick.n async for tick in greeter.count(pb.CountRequest(to=3))] == [1, 2, 3]
        async with greeter.echo() as stream:  # the subclass leaves Echo to the base class
            await stream.send(pb.Tick(n=1))
            with pytest.raises(errors.MicroError) as raised:
                await stream.recv()
        assert raised.value.code == 501 and "Greeter.Echo" in raised.value.detail


async def test_bad_protobuf_bytes_get_a_400_naming_the_type_and_the_server_keeps_serving(
    spawn: Callable[..., ServerProcess], micro_env: dict[str, str], pb: ModuleType, micro_pb: ModuleType
) -> None:
    greeter = spawn("greeter")
    async with caller(micro_env) as service:
        connection = await service.transport.dial(f"127.0.0.1:{greeter.port}", 5)
        header = {
            headers.SERVICE: "helloworld",
            headers.ENDPOINT: "Greeter.SayHello",
            headers.CONTENT_TYPE: "application/protobuf",
        }
        try:
            reply = await connection.call(Message(header, GARBAGE), 5)
        finally:
            await connection.close()
        error = errors.parse(reply.header[headers.ERROR])
        assert error.code == 400 and "HelloRequest" in error.detail, error
        answer = await micro_pb.GreeterClient(service).say_hello(pb.HelloRequest(name="still here"))
        assert answer.message == "Hello still here"


def test_the_registry_publishes_shapes_from_the_descriptors(
    spawn: Callable[..., ServerProcess], micro: Callable[..., Any]
) -> None:
    spawn("greeter")
    done = micro("describe", "helloworld")
    assert done.returncode == 0, done.stderr
    [entry] = json.loads(done.stdout)
    endpoints = {endpoint["name"]: endpoint for endpoint in entry["endpoints"]}
    say_hello = endpoints["Greeter.SayHello"]
    assert say_hello["request"]["type"] == "HelloRequest"
    assert [(v["name"], v["type"]) for v in say_hello["request"]["values"]] == [
        ("name", "string"),
        ("tags", "[]string"),
        ("scores", "map[string]int64"),
        ("options", "Options"),
        ("mood", "Mood"),
    ]
    assert say_hello["response"] == {
        "name": "",
        "type": "HelloReply",
        "values": [{"name": "message", "type": "string"}],
    }
    assert endpoints["Greeter.Count"]["metadata"] == {"stream": "true"}


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_micro_call_with_json_reaches_a_protobuf_endpoint(
    spawn: Callable[..., ServerProcess], micro: Callable[..., Any], transport: str
) -> None:
    env = {"MICRO_TRANSPORT": transport}
    spawn("greeter", env=env)
    done = micro(
        "call", "helloworld", "Greeter.SayHello", '{"name": "Ada", "options": {"shout": true}}', env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"message": "HELLO ADA"}
    wrong = micro("call", "helloworld", "Greeter.SayHello", '{"name": 7}', env=env)
    assert wrong.returncode == 1
    assert '"code": 400' in wrong.stderr and "HelloRequest" in wrong.stderr, wrong.stderr
    assert micro("call", "helloworld", "Greeter.SayHello", '{"name": "again"}', env=env).returncode == 0


# --- standard gRPC both ways ---------------------------------------------------------------
#
# A stock gRPC client sends no micro Content-Type, so a service that such clients call
# names protobuf as its default content type.
GRPC_SERVICE = {"MICRO_TRANSPORT": "grpc"}


async def test_a_stock_grpcio_client_calls_a_micro_service(
    spawn: Callable[..., ServerProcess], pb: ModuleType, generated: Any
) -> None:
    import helloworld_pb2_grpc

    greeter = spawn("greeter", env=GRPC_SERVICE)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{greeter.port}") as channel:
        stub = helloworld_pb2_grpc.GreeterStub(channel)
        reply = await stub.SayHello(pb.HelloRequest(name="grpc", tags=["a", "b"]), timeout=10)
        assert reply == pb.HelloReply(message="Hello grpc #a #b")

        raw = channel.unary_unary("/helloworld.Greeter/SayHello")
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await raw(GARBAGE, timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "HelloRequest" in (raised.value.details() or "")

        again = await stub.SayHello(pb.HelloRequest(name="again"), timeout=10)
        assert again.message == "Hello again"


async def test_a_micro_client_calls_a_stock_grpcio_server(
    spawn: Callable[..., ServerProcess], micro_env: dict[str, str], pb: ModuleType, micro_pb: ModuleType
) -> None:
    stock = spawn("stock_server", "{port}")
    async with caller(micro_env, transport="grpc") as service:
        greeter = micro_pb.GreeterClient(service, address=f"127.0.0.1:{stock.port}")
        reply = await greeter.say_hello(pb.HelloRequest(name="Ada"))
    assert reply == pb.HelloReply(message="Hello Ada from stock gRPC")


async def test_a_micro_client_calls_a_micro_service_over_grpc(
    spawn: Callable[..., ServerProcess], micro_env: dict[str, str], pb: ModuleType, micro_pb: ModuleType
) -> None:
    spawn("greeter", env=GRPC_SERVICE)
    async with caller(micro_env, transport="grpc") as service:
        greeter = micro_pb.GreeterClient(service)
        assert (await greeter.say_hello(pb.HelloRequest(name="Ada"))).message == "Hello Ada"
        assert [tick.n async for tick in greeter.count(pb.CountRequest(to=2))] == [1, 2]
