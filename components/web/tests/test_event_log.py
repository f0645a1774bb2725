"""The dashboard's registry event log, read as a page reads it (``/_/api/log``) from a real
``micro web`` process, while nodes come and go in a real local registry."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp

from micro_core.registry import Node, Service
from micro_core.registry.local import LocalRegistry
from micro_core.testing.processes import ServerProcess, free_port

MICRO = str(Path(sys.executable).parent / "micro")
PATIENCE = 20.0


def greeter(node_id: str, port: int) -> Service:
    return Service("greeter", "1.0", nodes=[Node(node_id, f"127.0.0.1:{port}")])


async def greeter_log(http: aiohttp.ClientSession, base: str, count: int) -> list[dict[str, Any]]:
    """The log's entries about the greeter, once there are ``count`` of them."""
    async with asyncio.timeout(PATIENCE):
        while True:
            async with http.get(f"{base}/_/api/log") as answer:
                assert answer.status == 200
                entries = [e for e in await answer.json() if e["service"] == "greeter"]
            if len(entries) >= count:
                return entries
            await asyncio.sleep(0.1)


async def test_the_log_tells_a_node_that_expired_from_one_that_was_deregistered(tmp_path: Path) -> None:
    directory = tmp_path / "registry"
    port = free_port()
    web = ServerProcess(
        [MICRO, "web", "--address", f"127.0.0.1:{port}", "--no-auth"],
        port=port,
        env={"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(directory)},
        log_path=tmp_path / "web.log",
    )
    registry = LocalRegistry(str(directory))
    base = f"http://127.0.0.1:{port}"
    with web:
        async with aiohttp.ClientSession() as http:
            await registry.register(greeter("crashed", 9001), ttl=1.0)  # and never renewed
            await registry.register(greeter("stopped", 9002), ttl=60.0)
            await greeter_log(http, base, 2)
            await registry.deregister(greeter("stopped", 9002))
            entries = await greeter_log(http, base, 4)
            await asyncio.sleep(0.5)  # nothing more comes
            assert len(await greeter_log(http, base, 4)) == 4
    assert sorted((e["what"], e["node"]) for e in entries) == [
        ("deregistered", "stopped"),
        ("expired", "crashed"),
        ("registered", "crashed"),
        ("registered", "stopped"),
    ]
    expired = next(e for e in entries if e["what"] == "expired")
    assert (expired["version"], expired["address"]) == ("1.0", "127.0.0.1:9001")
