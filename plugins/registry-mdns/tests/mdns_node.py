"""A separate OS process for the tests: registers a node, or looks a service up, over mDNS.

    python mdns_node.py register NAME NODE_ID ADDRESS TTL INTERFACES READY_FILE
    python mdns_node.py lookup NAME INTERFACES present|absent TIMEOUT
    python mdns_node.py watch NAME INTERFACES TIMEOUT

``register`` renews every TTL/3 until SIGTERM (then deregisters) or SIGKILL (then its
records simply expire). ``lookup`` polls until the service is present (prints its node
addresses as JSON) or absent, exiting 1 at the timeout. ``watch`` prints "watching", then
one "<event> <node id>" line per event, and exits after a delete (1 at the timeout).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from micro_core.registry import Node, Service, ServiceNotFound
from micro_registry_mdns import MDNSRegistry
from micro_registry_mdns.plugin import parse_interfaces


async def register(name: str, node_id: str, address: str, ttl: float, interfaces: str, ready: str) -> None:
    registry = MDNSRegistry(interfaces=parse_interfaces(interfaces))
    await registry.connect()
    service = Service(name, "1.0", nodes=[Node(node_id, address, {"pid": str(os.getpid())})])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await registry.register(service, ttl)
    Path(ready).write_text("registered")
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), ttl / 3)
        except TimeoutError:
            await registry.register(service, ttl)
    await registry.deregister(service)
    await registry.close()


async def lookup(name: str, interfaces: str, want: str, timeout: float) -> int:
    registry = MDNSRegistry(interfaces=parse_interfaces(interfaces), query_timeout=0.3)
    await registry.connect()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = await registry.get_service(name)
            except ServiceNotFound:
                if want == "absent":
                    return 0
            else:
                if want == "present":
                    print(json.dumps(sorted(n.address for s in found for n in s.nodes)))
                    return 0
        return 1
    finally:
        await registry.close()


async def watch(name: str, interfaces: str, timeout: float) -> int:
    registry = MDNSRegistry(interfaces=parse_interfaces(interfaces))
    await registry.connect()
    watcher = registry.watch(name)
    print("watching", flush=True)
    try:
        async with asyncio.timeout(timeout):
            async for event in watcher:
                print(event.type.value, event.service.nodes[0].id, flush=True)
                if event.type.value == "delete":
                    return 0
    except TimeoutError:
        pass
    finally:
        await watcher.close()
        await registry.close()
    return 1


def main(argv: list[str]) -> int:
    if argv[0] == "register":
        asyncio.run(register(argv[1], argv[2], argv[3], float(argv[4]), argv[5], argv[6]))
        return 0
    if argv[0] == "watch":
        return asyncio.run(watch(argv[1], argv[2], float(argv[3])))
    return asyncio.run(lookup(argv[1], argv[2], argv[3], float(argv[4])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
