"""The memory transport: the conformance suite, plus what is special about an in-process table."""

from __future__ import annotations

import uuid

import pytest

from micro_core.testing.conformance.transport import Handler, TransportConformance
from micro_core.transport import Message, Transport
from micro_core.transport.memory import MemoryTransport


class TestMemoryTransport(TransportConformance):
    @pytest.fixture
    def transport(self) -> Transport:
        return MemoryTransport()

    @pytest.fixture
    def address(self) -> str:
        return f"memory-{uuid.uuid4().hex[:8]}:0"


async def test_port_zero_gives_each_listener_its_own_address() -> None:
    transport = MemoryTransport()
    first = await transport.listen("ns:0", Handler())
    second = await transport.listen("ns:0", Handler())
    try:
        assert first.address != second.address
        assert first.address.startswith("ns:") and not first.address.endswith(":0")
    finally:
        await first.close()
        await second.close()


async def test_any_string_is_an_address_but_only_one_listener_may_hold_it() -> None:
    transport = MemoryTransport()
    listener = await transport.listen("memory:orders", Handler())
    try:
        with pytest.raises(OSError, match="memory:orders"):
            await transport.listen("memory:orders", Handler())
        connection = await transport.dial("memory:orders")
        assert (await connection.call(Message(body=b"x"), timeout=5)).body == b"x"
    finally:
        await listener.close()


async def test_bodies_are_handed_over_without_copies_and_headers_are_not_shared() -> None:
    seen: list[Message] = []

    async def keep(request: Message) -> Message:
        seen.append(request)
        request.header["X-Mutated"] = "by the handler"
        return Message(body=request.body)

    transport = MemoryTransport()
    listener = await transport.listen("nocopy:0", Handler(unary=keep))
    try:
        connection = await transport.dial(listener.address)
        request = Message({"X-A": "1"}, b"payload" * 1000)
        reply = await connection.call(request, timeout=5)
        assert seen[0].body is request.body
        assert reply.body is request.body
        assert request.header == {"X-A": "1"}
    finally:
        await listener.close()


async def test_dial_to_an_unknown_address_names_it() -> None:
    with pytest.raises(ConnectionError, match="memory:nowhere"):
        await MemoryTransport().dial("memory:nowhere")
