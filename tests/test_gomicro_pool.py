"""The connections micro keeps to Go Micro nodes: a pool of connections carrying one call each.

The Go Micro tests (``test_gomicro*.py``) prove the pool against real Go Micro servers;
these pin down its rules against the kernel's own HTTP listener, where timing and
connection counts can be controlled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial

import pytest

from micro_core.registry import Node
from micro_core.testing.conformance.transport import Handler
from micro_core.testing.processes import free_port
from micro_core.transport import Connection, Message, Stream
from micro_core.transport.gomicro import NodePool, is_go_micro
from micro_core.transport.http import HTTPConnection, HTTPListener, HTTPTransport, dial_in_order

GO_NODE = {"server": "mucp", "transport": "http", "protocol": "mucp"}
MAX = 1 << 20


@pytest.fixture
async def listener() -> AsyncIterator[HTTPListener]:
    """An echo server that, like Go Micro's, answers a connection's requests in turn."""
    turns: dict[str, asyncio.Lock] = {}

    async def echo(request: Message) -> Message:
        async with turns.setdefault(request.header.get("Turn", ""), asyncio.Lock()):
            await asyncio.sleep(float(request.header.get("Delay", "0")))
            return Message({}, b"echo:" + request.body)

    listener = await HTTPTransport().listen("127.0.0.1:0", Handler(unary=echo))
    assert isinstance(listener, HTTPListener)
    yield listener
    await listener.close()


def test_what_a_node_registered_tells_a_go_micro_node_from_a_micro_node() -> None:
    assert is_go_micro(GO_NODE)
    assert is_go_micro({"broker": "http", "topic": "t", "secure": "false"})  # a Go Micro subscriber
    assert not is_go_micro({"server": "micro", "transport": "http"})
    assert not is_go_micro({})  # known only by its address: taken for micro's


async def test_a_go_micro_node_gets_a_pool_and_a_micro_node_one_multiplexed_connection(
    listener: HTTPListener,
) -> None:
    transport = HTTPTransport()
    go = await transport.connect(Node("go-1", listener.address, GO_NODE))
    ours = await transport.connect(Node("py-1", listener.address, {"server": "micro"}))
    try:
        assert isinstance(go, NodePool) and isinstance(ours, HTTPConnection)
    finally:
        await go.close()
        await ours.close()


async def test_calls_share_the_pool_one_per_connection_up_to_its_size(listener: HTTPListener) -> None:
    pool = NodePool(listener.address, partial(dial_in_order, listener.address, max_size=MAX), size=3)
    replies = await asyncio.gather(
        *(pool.call(Message({"Delay": "0.05"}, b"%d" % i), timeout=5) for i in range(12))
    )
    assert [reply.body for reply in replies] == [b"echo:%d" % i for i in range(12)]
    assert len(listener.peers) == 3
    await pool.close()


async def test_a_call_that_times_out_takes_its_connection_with_it(listener: HTTPListener) -> None:
    pool = NodePool(listener.address, partial(dial_in_order, listener.address, max_size=MAX), size=1)
    with pytest.raises(TimeoutError):
        await pool.call(Message({"Turn": "1", "Delay": "0.2"}, b"slow"), timeout=0.05)
    # Answered in turn, "slow" comes back first: it must not be read as this call's reply.
    assert (await pool.call(Message({"Turn": "1"}, b"fast"), timeout=5)).body == b"echo:fast"
    await pool.close()


async def test_an_unreachable_go_micro_node_fails_at_connect_as_a_dial_does() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionError, match=address):
        await HTTPTransport().connect(Node("go-1", address, GO_NODE), timeout=1)


async def test_a_closed_pool_refuses_calls_and_wakes_its_waiters(listener: HTTPListener) -> None:
    pool = NodePool(listener.address, partial(dial_in_order, listener.address, max_size=MAX), size=1)
    busy = asyncio.ensure_future(pool.call(Message({"Delay": "0.2"}, b"a"), timeout=5))
    waiting = [asyncio.ensure_future(pool.call(Message({}, b"b"), timeout=5)) for _ in range(2)]
    await asyncio.sleep(0.05)
    await pool.close()
    for waiter in waiting:
        with pytest.raises(ConnectionError, match="closed"):
            await asyncio.wait_for(waiter, 0.1)  # at once, not when the call in flight ends
    assert (await busy).body == b"echo:a"  # the call in flight finishes
    with pytest.raises(ConnectionError, match="closed"):
        await pool.call(Message({}, b"c"))


async def test_a_waiter_cancelled_as_it_is_woken_passes_the_connection_on(listener: HTTPListener) -> None:
    pool = NodePool(listener.address, partial(dial_in_order, listener.address, max_size=MAX), size=1)

    async def call_then_cancel_the_woken_waiter() -> Message:
        reply = await pool.call(Message({}, b"first"), timeout=5)
        woken.cancel()  # in the loop turn of the release that woke it: it gives the wake-up back
        return reply

    first = asyncio.ensure_future(call_then_cancel_the_woken_waiter())
    woken = asyncio.ensure_future(pool.call(Message({}, b"woken"), timeout=5))
    last = asyncio.ensure_future(pool.call(Message({}, b"last"), timeout=2))
    # In one loop turn, in this order: "first" dials the only connection, the others queue for it.
    assert (await first).body == b"echo:first"
    with pytest.raises(asyncio.CancelledError):
        await woken
    assert (await last).body == b"echo:last"  # not a TimeoutError after 2 s beside an idle connection
    await pool.close()


class StandInHeldUpConnection(Connection):
    """A stand-in connection whose first reply comes after the event loop stood still.

    No real server can hold the loop still; this makes a waiter's deadline pass before
    the reply that wakes it, so both land in the same loop turn.
    """

    closed = False
    held_up = False

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        if not self.held_up:
            self.held_up = True
            await asyncio.sleep(0)  # the other calls queue for this connection
            time.sleep(0.1)  # the loop stands still past the next waiter's deadline...
            await asyncio.sleep(0)  # ...and the release runs in the turn its timer fires
        return request

    async def stream(self, request: Message) -> Stream:
        raise NotImplementedError

    async def close(self) -> None:
        self.closed = True


async def test_a_waiter_timing_out_as_it_is_woken_passes_the_connection_on() -> None:
    async def dial(timeout: float | None) -> Connection:
        return StandInHeldUpConnection()

    pool = NodePool("stand-in", dial, size=1)
    first = asyncio.ensure_future(pool.call(Message({}, b"first"), timeout=5))
    woken = asyncio.ensure_future(pool.call(Message({}, b"woken"), timeout=0.05))
    last = asyncio.ensure_future(pool.call(Message({}, b"last"), timeout=2))
    assert (await first).body == b"first"
    with pytest.raises(TimeoutError, match="stayed busy"):
        await woken
    assert (await last).body == b"last"  # not a TimeoutError after 2 s beside an idle connection
    await pool.close()
