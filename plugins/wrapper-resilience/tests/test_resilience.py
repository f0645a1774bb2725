"""The breaker, the rate limit and the bulkhead against real service processes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from micro_core import Service, errors
from micro_wrapper_resilience import CircuitBreaker, State


async def wait_nodes(service: Service, count: int) -> None:
    async with asyncio.timeout(15):
        while True:
            try:
                if sum(len(s.nodes) for s in await service.registry.get_service("flaky")) == count:
                    return
            except errors.NotFound:
                pass
            await asyncio.sleep(0.05)


async def outcomes(service: Service, calls: int, pause: float = 0.0) -> Counter[int | str]:
    """Which node answered each call (its pid), or the error code it failed with."""
    seen: Counter[int | str] = Counter()
    for _ in range(calls):
        try:
            seen[await service.client.call("flaky", "Flaky.Work", {}, retries=0)] += 1
        except errors.MicroError as exc:
            seen[f"{exc.code} {exc.id}"] += 1
        await asyncio.sleep(pause)
    return seen


def test_the_breaker_opens_after_failures_in_a_row_and_probes_once_half_open():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, reset=5.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    for _ in range(3):
        assert breaker.allows()
        breaker.failed()
    assert (breaker.state, breaker.allows()) == (State.OPEN, False)
    now[0] = 5.0
    assert (breaker.allows(), breaker.state, breaker.allows()) == (True, State.HALF_OPEN, False)  # one probe
    breaker.failed()
    assert (breaker.state, breaker.allows()) == (State.OPEN, False)
    now[0] = 10.0
    assert breaker.allows()
    breaker.succeeded()
    assert (breaker.state, breaker.allows(), breaker.allows()) == (State.CLOSED, True, True)


async def test_the_breaker_opens_on_a_failing_node_and_closes_after_recovery(flaky, caller):
    good, bad = flaky(), flaky()
    service = await caller(breaker_failures=3, breaker_reset=0.5)
    await wait_nodes(service, 2)
    await service.client.call("flaky", "Flaky.Set", "fail", address=(await node_of(service, bad.process.pid)))

    seen = await outcomes(service, 40)
    assert seen == {good.process.pid: 37, "500 flaky": 3}  # three failures open it; then only the good node

    await service.client.call("flaky", "Flaky.Set", "ok", address=(await node_of(service, bad.process.pid)))
    await asyncio.sleep(0.6)  # past the reset: the next call to it is the half-open probe
    seen = await outcomes(service, 40)
    assert set(seen) == {good.process.pid, bad.process.pid}  # the probe passed: closed again
    assert seen[bad.process.pid] > 5


async def node_of(service: Service, pid: int | None) -> str:
    """The address of the node whose process is ``pid`` (asking every node who it is)."""
    for entry in await service.registry.get_service("flaky"):
        for node in entry.nodes:
            try:
                if await service.client.call("flaky", "Flaky.Work", {}, address=node.address) == pid:
                    return node.address
            except errors.MicroError:
                return node.address  # only the failing node fails
    raise LookupError(pid)


async def test_a_flapping_node_fails_fewer_calls_with_the_breaker(flaky, caller):
    """Chaos, bounded: one of two nodes fails by turns (0.4 s each); 150 calls with and without."""
    flaky()
    flapping = flaky()
    plain = await caller(resilient=False)
    await wait_nodes(plain, 2)
    await plain.client.call(
        "flaky", "Flaky.Set", "flap:0.4", address=await node_of(plain, flapping.process.pid)
    )
    guarded = await caller(breaker_failures=2, breaker_reset=0.3)

    without = await outcomes(plain, 150, pause=0.01)
    with_breaker = await outcomes(guarded, 150, pause=0.01)
    failed_without, failed_with = without["500 flaky"], with_breaker["500 flaky"]
    print(f"failed calls without the breaker: {failed_without}/150, with: {failed_with}/150")
    assert failed_with < failed_without / 2


async def test_every_circuit_open_fails_fast_with_503(flaky, caller):
    node = flaky()
    service = await caller(breaker_failures=1, breaker_reset=30)
    await wait_nodes(service, 1)
    await service.client.call("flaky", "Flaky.Set", "fail")
    assert await outcomes(service, 3) == {"500 flaky": 1, "503 micro.breaker": 2}
    assert node.process is not None and node.process.poll() is None


async def test_the_client_rate_limit_answers_429_without_calling(flaky, caller):
    flaky()
    service = await caller(client_rate_limit=5, client_rate_burst=3)
    await wait_nodes(service, 1)
    seen = await outcomes(service, 6)
    assert seen.most_common()[0][1] == 3 and seen["429 micro.ratelimit"] == 3
    await asyncio.sleep(0.45)  # two tokens back at 5/s
    seen = await outcomes(service, 3)
    assert seen["429 micro.ratelimit"] == 1
    with pytest.raises(errors.TooManyRequests, match="limited to 5/s, burst 3") as caught:
        await service.client.call("flaky", "Flaky.Work", {})
    assert (caught.value.code, caught.value.status) == (429, "Too Many Requests")


async def test_the_bulkhead_answers_503_and_the_client_moves_to_another_node(flaky, caller):
    flaky(server_max_concurrent="2")
    service = await caller(resilient=False)
    await wait_nodes(service, 1)

    async def slow(retries: int) -> int | str:
        try:
            return await service.client.call("flaky", "Flaky.Work", {"delay": 0.5}, retries=retries)
        except errors.MicroError as exc:
            return f"{exc.code} {exc.id}"

    one_node = Counter(await asyncio.gather(*(slow(0) for _ in range(5))))
    assert one_node["503 flaky"] == 3 and sum(one_node.values()) == 5

    flaky(server_max_concurrent="2")
    await wait_nodes(service, 2)
    started = time.monotonic()
    replies = await asyncio.gather(*(slow(2) for _ in range(4)))
    assert all(isinstance(reply, int) for reply in replies), replies  # refused ones went to the other node
    assert time.monotonic() - started < 3
