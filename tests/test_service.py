"""A service in ten lines, called by name: the framework's main promise, in-process on memory drivers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from micro_core import Event, Message, Options, Service, context, errors
from micro_core.broker import DEAD_LETTER_REASON
from micro_core.registry import ServiceNotFound
from micro_core.registry.local import LocalRegistry
from micro_core.testing import EventRecorder


@dataclass
class HelloRequest:
    name: str


@dataclass
class HelloReply:
    message: str


class Greeter:
    async def hello(self, req: HelloRequest) -> HelloReply:
        return HelloReply(message=f"Hello {req.name}")

    async def who_called(self) -> dict[str, str]:
        return dict(context.metadata())

    async def fail(self, req: HelloRequest) -> HelloReply:
        raise RuntimeError(f"cannot greet {req.name}")

    async def refuse(self, req: HelloRequest) -> HelloReply:
        raise errors.Forbidden(f"{req.name} may not be greeted", id="greeter")

    async def slow(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    async def remaining(self) -> float | None:
        return context.remaining()

    async def count(self, upto: int) -> AsyncIterator[int]:
        for i in range(upto):
            yield i

    async def shout(self, lines: AsyncIterator[str]) -> AsyncIterator[str]:
        async for line in lines:
            yield line.upper()


async def test_call_by_name_returns_the_decoded_reply(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    assert await service.client.call("greeter", "Greeter.Hello", {"name": "Ada"}) == {"message": "Hello Ada"}
    typed = await service.client.call(
        "greeter", "Greeter.Hello", HelloRequest("Bob"), response_type=HelloReply
    )
    assert typed == HelloReply("Hello Bob")


async def test_endpoints_and_shapes_are_published_in_the_registry(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    [entry] = await service.registry.get_service("greeter")
    endpoints = {e.name: e for e in entry.endpoints}
    assert {"Greeter.Hello", "Greeter.WhoCalled", "Debug.Health", "Debug.Stats"} <= set(endpoints)
    hello = endpoints["Greeter.Hello"]
    assert hello.request is not None and hello.request.type == "HelloRequest"
    assert [(v.name, v.type) for v in hello.request.values] == [("name", "string")]
    assert endpoints["Greeter.Count"].metadata == {"stream": "true"}
    assert entry.nodes[0].address == service.address


async def test_metadata_travels_with_the_call(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with context.with_metadata(**{"X-Trace": "abc"}):
        seen = await service.client.call("greeter", "Greeter.WhoCalled", metadata={"X-User": "ada"})
    assert seen["X-Trace"] == "abc" and seen["X-User"] == "ada"


async def test_the_deadline_is_propagated_to_the_server(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    left = await service.client.call("greeter", "Greeter.Remaining", timeout=2.0)
    assert 0 < left <= 2.0


async def test_every_service_answers_health_and_stats(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    assert await service.client.call("greeter", "Debug.Health") == {"status": "ok"}
    await service.client.call("greeter", "Greeter.Hello", {"name": "x"})
    stats = await service.client.call("greeter", "Debug.Stats")
    assert stats["requests"] >= 2 and stats["memory"] > 0 and stats["uptime"] >= 0


async def test_server_stream(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    async with service.client.stream("greeter", "Greeter.Count", 3) as replies:
        assert [n async for n in replies] == [0, 1, 2]


async def test_bidirectional_stream(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    async with service.client.stream("greeter", "Greeter.Shout") as stream:
        await stream.send("hi")
        assert await stream.recv() == "HI"
        await stream.send("there")
        await stream.close_send()
        assert [line async for line in stream] == ["THERE"]


# --- bad input: a clear error, and the server keeps serving ------------------------------


async def test_unknown_service_is_not_found(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.NotFound, match="nobody"):
        await service.client.call("nobody", "Greeter.Hello", {"name": "x"})


async def test_unknown_endpoint_is_not_found_and_named(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.NotFound, match=r"Greeter\.Nope"):
        await service.client.call("greeter", "Greeter.Nope", {})
    assert await service.client.call("greeter", "Debug.Health") == {"status": "ok"}


async def test_malformed_body_is_a_bad_request_naming_the_field(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.BadRequest, match=r"\$\.name"):
        await service.client.call("greeter", "Greeter.Hello", {"name": 42})
    connection = await service.transport.dial(service.address)
    raw = Message({"Micro-Endpoint": "Greeter.Hello", "Content-Type": "application/json"}, b"{not json")
    reply = await connection.call(raw, timeout=5)
    assert errors.parse(reply.header["Micro-Error"]).code == 400
    assert "malformed JSON" in reply.header["Micro-Error"]
    await connection.close()
    assert await service.client.call("greeter", "Greeter.Hello", {"name": "ok"}) == {"message": "Hello ok"}


async def test_body_over_the_size_limit_is_refused(micro_service):
    service = await micro_service(Greeter(), name="greeter", max_message_size=1024)
    with pytest.raises(errors.PayloadTooLarge):
        await service.client.call("greeter", "Greeter.Hello", {"name": "x" * 2000})
    assert await service.client.call("greeter", "Greeter.Hello", {"name": "small"}) == {
        "message": "Hello small"
    }


async def test_handler_exception_is_a_500_with_detail(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.InternalServerError, match="RuntimeError: cannot greet Ada") as raised:
        await service.client.call("greeter", "Greeter.Fail", {"name": "Ada"})
    assert raised.value.code == 500 and raised.value.id == "greeter"


async def test_typed_errors_arrive_as_the_same_type(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.Forbidden) as raised:
        await service.client.call("greeter", "Greeter.Refuse", {"name": "Eve"})
    assert raised.value == errors.Forbidden("Eve may not be greeted", id="greeter")


async def test_timeout_is_a_408_and_the_server_keeps_serving(micro_service):
    service = await micro_service(Greeter(), name="greeter")
    with pytest.raises(errors.Timeout) as raised:
        await service.client.call("greeter", "Greeter.Slow", 5.0, timeout=0.2)
    assert raised.value.code == 408
    assert await service.client.call("greeter", "Greeter.Slow", 0.0) == "done"


# --- pub/sub ------------------------------------------------------------------------------


async def test_subscriber_gets_typed_messages_with_metadata(micro_service):
    got: asyncio.Queue[tuple[HelloRequest, str]] = asyncio.Queue()

    async def on_hello(req: HelloRequest) -> None:
        await got.put((req, context.metadata().get("X-From", "")))

    greeter = await micro_service(Greeter(), name="greeter", setup=lambda s: s.subscribe("hellos", on_hello))
    await greeter.client.publish("hellos", HelloRequest("Ada"), metadata={"X-From": "test"})
    assert await asyncio.wait_for(got.get(), 5) == (HelloRequest("Ada"), "test")


async def test_explicit_ack_failure_is_redelivered(micro_service):
    attempts: list[int] = []
    done = asyncio.Event()

    async def flaky(event: Event) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            return  # no ack: the broker must deliver it again
        await event.ack()
        done.set()

    service = await micro_service(
        name="worker", setup=lambda s: s.subscribe("jobs", flaky, queue="workers", auto_ack=False)
    )
    await service.client.publish("jobs", {"n": 1})
    await asyncio.wait_for(done.wait(), 10)
    assert len(attempts) == 2


async def test_event_recorder_waits_for_published_events(micro_service):
    service = await micro_service(name="publisher")
    recorder = await EventRecorder.subscribe(service.broker, "audit")
    await service.client.publish("audit", {"action": "login"})
    [event] = await recorder.wait(1)
    assert event.message.body == b'{"action":"login"}'
    await recorder.close()


async def test_a_start_that_fails_leaves_the_service_neither_registered_nor_listening(
    tmp_path: Path,
) -> None:
    service = Service(
        "half-started",
        options=Options(code={"registry": "local", "registry_address": str(tmp_path), "broker": "memory"}),
    )

    async def handle(event: Event) -> None: ...

    service.subscribe(" not a topic ", handle)  # refused by the broker, the last step of start
    with pytest.raises(ValueError, match="topic"):
        await service.start()
    with pytest.raises(ServiceNotFound):
        await LocalRegistry(str(tmp_path)).get_service("half-started")
    host, port = service.address.rsplit(":", 1)
    with pytest.raises(OSError):
        await asyncio.open_connection(host, int(port))


@pytest.mark.parametrize("transport", ["http", "memory"])  # grpc: in its plugin's tests
async def test_a_draining_server_refuses_new_calls_and_new_streams_alike(micro_service, transport):
    """One admission path: while a call drains, a new unary call and a new stream both get 503."""
    service = await micro_service(
        Greeter(), name="greeter", transport=transport, server_address="127.0.0.1:0"
    )
    address = service.address
    running = asyncio.create_task(service.client.call("greeter", "Greeter.Slow", 0.5, address=address))
    await asyncio.sleep(0.1)
    draining = asyncio.create_task(service.server.drain(5))
    await asyncio.sleep(0.05)
    with pytest.raises(errors.ServiceUnavailable, match="shutting down"):
        await service.client.call("greeter", "Greeter.Hello", {"name": "x"}, address=address, retries=0)
    with pytest.raises(errors.ServiceUnavailable, match="shutting down"):
        async with service.client.stream("greeter", "Greeter.Count", 3, address=address) as replies:
            [n async for n in replies]
    assert await running == "done" and await draining


@pytest.mark.parametrize("broker", ["memory", "http"])
async def test_a_message_the_subscriber_cannot_decode_is_dead_lettered_at_once(micro_service, broker, caplog):
    """Redelivering it cannot help: it goes to <topic>.dlq on the first failure, with the reason,
    after one log line; a publisher that waits for the outcome hears "rejected", not "unreachable"."""
    handled: list[HelloRequest] = []

    async def on_hello(req: HelloRequest) -> None:
        handled.append(req)

    settings = {"broker": broker, "transport": "http", "server_address": "127.0.0.1:0"}
    if broker == "http":
        settings["broker_address"] = "127.0.0.1:0"
    service = await micro_service(name="greeter", setup=lambda s: s.subscribe("hellos", on_hello), **settings)
    dead = await EventRecorder.subscribe(service.broker, "hellos.dlq")
    caplog.set_level(logging.DEBUG, logger="micro_core.broker")
    try:
        await service.client.publish("hellos", ["not", "a", "HelloRequest"])
    except errors.BadRequest as exc:
        assert broker == "http" and "rejected" in exc.detail and "hellos.dlq" in exc.detail
    else:
        assert broker == "memory"  # its publish returns before delivery
    [parked] = await dead.wait(1)
    await dead.close()
    assert "invalid HelloRequest" in parked.message.header[DEAD_LETTER_REASON]
    assert not handled
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING and "hellos" in r.getMessage()]
    assert len(failures) == 2, [r.getMessage() for r in failures]  # the failure, then where it went
    assert all(r.exc_info is None for r in failures)  # tracebacks only at debug level
