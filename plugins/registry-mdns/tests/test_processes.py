"""Separate OS processes find each other over mDNS on 127.0.0.1, and see each other go."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from micro_core.registry import Event, EventType, Node, Service, ServiceNotFound, Watcher
from micro_core.testing.processes import ServerProcess
from micro_registry_mdns import MDNSRegistry

from .conftest import RegistryFactory

NODE_SCRIPT = str(Path(__file__).with_name("mdns_node.py"))
PATIENCE = 15.0

StartNode = Callable[..., ServerProcess]


@pytest.fixture
def name() -> str:
    return f"proc-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[StartNode]:
    """Starts ``mdns_node.py register`` processes; ready once registered, stopped after the test."""
    started: list[ServerProcess] = []

    def start(name: str, node_id: str, port: int, ttl: float = 30.0) -> ServerProcess:
        ready = tmp_path / f"{node_id}-{len(started)}.ready"
        argv = [sys.executable, NODE_SCRIPT, "register", name, node_id, f"127.0.0.1:{port}", str(ttl)]
        process = ServerProcess(
            [*argv, "127.0.0.1", str(ready)], port=0, ready=ready.exists, name=f"mdns node {node_id}"
        )
        started.append(process.start(timeout=PATIENCE))
        return process

    yield start
    for process in started:
        process.stop()


async def next_event(watcher: Watcher) -> Event:
    async with asyncio.timeout(PATIENCE):
        return await anext(watcher)


async def test_processes_discover_each_other(
    open_mdns: RegistryFactory, start_node: StartNode, name: str
) -> None:
    start_node(name, "a", 9001)
    start_node(name, "b", 9002)
    registry = await open_mdns()
    (service,) = await registry.get_service(name)
    assert sorted(node.address for node in service.nodes) == ["127.0.0.1:9001", "127.0.0.1:9002"]
    # ...and a fourth process, which started after both announced, finds them by asking.
    lookup = subprocess.run(
        [sys.executable, NODE_SCRIPT, "lookup", name, "127.0.0.1", "present", str(PATIENCE)],
        capture_output=True,
        text=True,
        timeout=PATIENCE + 10,
    )
    assert lookup.returncode == 0, lookup.stderr
    assert lookup.stdout.strip() == '["127.0.0.1:9001", "127.0.0.1:9002"]'


async def test_watch_sees_another_process_come_restart_and_go(
    open_mdns: RegistryFactory, start_node: StartNode, name: str
) -> None:
    watcher = (await open_mdns()).watch(name)
    try:
        first = start_node(name, "a", 9001)
        created = await next_event(watcher)
        assert (created.type, created.service.nodes[0].address) == (EventType.CREATE, "127.0.0.1:9001")

        first.kill()  # a crash: no goodbye; the restarted node announces a new address
        second = start_node(name, "a", 9005)
        updated = await next_event(watcher)
        assert (updated.type, updated.service.nodes[0].address) == (EventType.UPDATE, "127.0.0.1:9005")

        second.stop()  # a clean stop says goodbye: gone long before the 30 s TTL
        started = time.monotonic()
        deleted = await next_event(watcher)
        assert (deleted.type, deleted.service.nodes[0].id) == (EventType.DELETE, "a")
        assert not deleted.expired, "a goodbye is a deregistration"
        assert time.monotonic() - started < 5
    finally:
        await watcher.close()


async def test_killed_process_disappears_within_its_ttl(
    open_mdns: RegistryFactory, start_node: StartNode, name: str
) -> None:
    ttl = 2.0
    registry = await open_mdns()
    watcher = registry.watch(name)
    try:
        node = start_node(name, "a", 9001, ttl=ttl)
        assert (await next_event(watcher)).type is EventType.CREATE
        await asyncio.sleep(ttl)  # it renews: still there after one TTL
        assert [n.id for s in await registry.get_service(name) for n in s.nodes] == ["a"]

        node.kill()
        killed = time.monotonic()
        deleted = await next_event(watcher)
        assert (deleted.type, deleted.expired) == (EventType.DELETE, True), "no goodbye: its TTL ran out"
        assert time.monotonic() - killed < ttl + 1.0  # the TTL, plus the expiry check's interval
    finally:
        await watcher.close()


async def test_a_registry_does_not_answer_for_nodes_it_let_expire(
    open_mdns: RegistryFactory, name: str
) -> None:
    """The zone forgets an unrenewed registration, so a query cannot revive it in a peer."""
    registry, peer = await open_mdns(), await open_mdns()
    await registry.register(Service(name, "1.0", nodes=[Node("a", "127.0.0.1:9001")]), ttl=1.0)
    await asyncio.sleep(1.2)
    newcomer = MDNSRegistry(interfaces=["127.0.0.1"])
    await newcomer.connect()
    try:
        with pytest.raises(ServiceNotFound):
            await newcomer.get_service(name)
        with pytest.raises(ServiceNotFound):
            await peer.get_service(name)
    finally:
        await newcomer.close()
