"""The gateway follows the registry while it runs: services come and go without a restart, a
dead node is 502 and a service whose every node drains is 503."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import aiohttp
import pytest

from micro_core import Service
from micro_core.registry import Endpoint, Node
from micro_core.registry import Service as Entry
from micro_core.testing.processes import free_port

pytestmark = pytest.mark.timeout(120)

APPS = Path(__file__).parent / "apps"


async def post(url, body):
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        return response.status, json.loads(await response.read())


def documented(gateway, prefix):
    return [path for path in gateway.get("/openapi.json")["paths"] if path.startswith(prefix)]


async def test_a_service_started_and_stopped_appears_and_disappears(stack, gateway):
    assert not documented(gateway, "/late/")
    late = stack.service(APPS / "shop.py", "late", name="late")
    await asyncio.to_thread(gateway.wait_for, "late", True, 10)
    assert "/late/shop/item" in documented(gateway, "/late/")
    status, reply = await post(f"{gateway.url}/late/shop/item", {"id": "9"})
    assert (status, reply["name"]) == (200, "item 9")
    late.stop()
    await asyncio.to_thread(gateway.wait_for, "late", False, 10)
    assert not documented(gateway, "/late/")
    status, reply = await post(f"{gateway.url}/late/shop/item", {"id": "9"})
    assert status == 404
    assert 'tried service "late" endpoint "Shop.Item": service not registered' in reply["detail"]


@pytest.fixture
async def registry(stack):
    service = Service("registrar", registry="local", registry_address=stack.env["MICRO_REGISTRY_ADDRESS"])
    await service.connect()
    yield service.registry
    await service.close()


async def test_a_dead_node_is_502(gateway, registry):
    ghost = Entry(
        name="ghost",
        version="1",
        endpoints=[Endpoint(name="Ghost.Call")],
        nodes=[Node(id=f"ghost-{uuid.uuid4()}", address=f"127.0.0.1:{free_port()}")],  # nothing listens
    )
    await registry.register(ghost, 30)
    try:
        await asyncio.to_thread(gateway.wait_for, "ghost", True, 10)
        status, error = await post(f"{gateway.url}/ghost", {})
        assert status == 502
        assert error["detail"].startswith("ghost Ghost.Call: ghost: no node answered")
        status, _ = await post(f"{gateway.url}/greeter/hello", {"name": "after"})
        assert status == 200
    finally:
        await registry.deregister(ghost)
    await asyncio.to_thread(gateway.wait_for, "ghost", False, 10)


async def test_every_node_draining_is_503(stack, gateway):
    drainer = stack.service(APPS / "shop.py", "drainer", name="drainer")
    try:
        await asyncio.to_thread(gateway.wait_for, "drainer", True, 10)
        assert (await post(f"{gateway.url}/drainer/shop/stats", {}))[0] == 200
        drainer.signal(signal.SIGUSR1)
        for _ in range(50):
            status, error = await post(f"{gateway.url}/drainer/shop/stats", {})
            if status != 200:
                break
            await asyncio.sleep(0.05)
        assert status == 503
        assert error["detail"] == "drainer is shutting down"
    finally:
        drainer.stop()
    await asyncio.to_thread(gateway.wait_for, "drainer", False, 10)
