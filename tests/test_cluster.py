"""Services as real OS processes on the embedded defaults (local registry, HTTP transport and broker)."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from pathlib import Path

from micro_core import Service, errors


async def node_count(service: Service, name: str) -> int:
    try:
        return sum(len(entry.nodes) for entry in await service.registry.get_service(name))
    except errors.NotFound:
        return 0


async def wait_nodes(service: Service, name: str, count: int, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while await node_count(service, name) != count:
            await asyncio.sleep(0.05)


async def test_calls_spread_survive_a_kill_and_drain_on_sigterm(spawn_service, caller):
    first, second = spawn_service(), spawn_service()
    await wait_nodes(caller, "echo", 2)

    pids = Counter()
    for i in range(40):
        pids[(await caller.client.call("echo", "Echo.Call", {"text": str(i)}))["pid"]] += 1
    assert set(pids) == {first.process.pid, second.process.pid}

    first.kill()  # SIGKILL: no deregistration, the node stays registered until its TTL runs out
    for i in range(40):
        reply = await caller.client.call("echo", "Echo.Call", {"text": str(i)}, retries=3)
        assert reply["pid"] == second.process.pid

    killed_at = time.monotonic()
    await wait_nodes(caller, "echo", 1, timeout=10)
    assert time.monotonic() - killed_at < 2 + 3  # TTL is 2 s; allow the watcher's poll and a noisy machine

    slow_calls = [
        asyncio.create_task(
            caller.client.call("echo", "Echo.Call", {"text": "slow", "delay": 1.0}, timeout=10)
        )
        for _ in range(10)
    ]
    await asyncio.sleep(0.3)  # let them reach the server
    second.signal(signal.SIGTERM)
    replies = await asyncio.gather(*slow_calls)
    assert [r["text"] for r in replies] == ["slow"] * 10
    second.process.wait(15)
    assert second.process.returncode == 0
    assert await node_count(caller, "echo") == 0


async def test_queue_group_and_broadcast_across_processes(spawn_service, caller, tmp_path: Path):
    events = tmp_path / "events.txt"
    workers = [spawn_service(env={"ECHO_EVENTS_FILE": str(events)}) for _ in range(2)]
    await wait_nodes(caller, "echo", 2)
    await asyncio.sleep(0.5)  # both subscriptions registered with the broker

    for i in range(10):
        await caller.client.publish("jobs", i)
    await caller.client.publish("news", "extra")

    def lines() -> list[str]:
        return events.read_text().splitlines() if events.exists() else []

    async with asyncio.timeout(15):
        while len(lines()) < 12:
            await asyncio.sleep(0.05)
    jobs = Counter(line.split()[1] for line in lines() if line.split()[1] != '"extra"')
    assert jobs == Counter({str(i): 1 for i in range(10)})  # each job handled by exactly one worker
    news_pids = {line.split()[0] for line in lines() if line.split()[1] == '"extra"'}
    assert news_pids == {str(w.process.pid) for w in workers}  # broadcast reached both


async def test_unacked_message_is_not_lost(spawn_service, caller, tmp_path: Path):
    events = tmp_path / "events.txt"
    spawn_service(env={"ECHO_EVENTS_FILE": str(events)})
    await wait_nodes(caller, "echo", 1)
    await asyncio.sleep(0.3)
    await caller.client.publish("jobs", "flaky 1")  # the first delivery is not acked
    async with asyncio.timeout(10):
        while not (events.exists() and '"flaky 1"' in events.read_text()):
            await asyncio.sleep(0.05)
    assert events.read_text().count("flaky 1") == 1


async def test_no_idempotent_call_fails_while_a_node_is_killed_every_1_5_s(spawn_service, caller):
    """Fast churn: SIGKILLed nodes stay registered for their TTL; callers must never see it."""
    nodes = [spawn_service() for _ in range(3)]
    await wait_nodes(caller, "echo", 3)
    calls, failures = 0, []
    stop = asyncio.Event()

    async def call_until_stopped(worker: int) -> None:
        nonlocal calls
        while not stop.is_set():
            try:
                reply = await caller.client.call("echo", "Echo.Call", {"text": str(worker)})
                assert reply["text"] == str(worker)
                calls += 1
            except errors.MicroError as exc:
                failures.append(exc)

    async def churn() -> int:
        kills = 0
        for _ in range(6):  # 9 s of churn
            await asyncio.sleep(1.5)
            alive = [node for node in nodes if node.process.poll() is None]
            if len(alive) > 1:
                random.choice(alive).kill()
                kills += 1
            nodes.append(await asyncio.to_thread(spawn_service))
        return kills

    workers = [asyncio.create_task(call_until_stopped(n)) for n in range(16)]
    try:
        kills = await asyncio.wait_for(churn(), 60)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert kills >= 4 and calls > 1000
    assert failures == []
