"""The five-minute tour in one script: two greeter processes, found, called, sent events.

Runs on the embedded defaults (local registry, HTTP transport, HTTP broker), so it
needs no server. ``make run`` runs it.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from micro_core import Service, context, errors, run

HERE = Path(__file__).parent


async def wait_for_nodes(service: Service, count: int, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                entries = await service.registry.get_service("greeter")
            except errors.NotFound:
                entries = []
            if sum(len(entry.nodes) for entry in entries) >= count:
                return
            await asyncio.sleep(0.1)


async def tour() -> None:
    greeters = [subprocess.Popen([sys.executable, str(HERE / "greeter.py")]) for _ in range(2)]
    caller = Service("demo")
    await caller.connect()
    try:
        await wait_for_nodes(caller, 2)
        print(
            "registered:",
            [(e.name, e.version, len(e.nodes)) for e in await caller.registry.get_service("greeter")],
        )

        with context.with_metadata(**{"X-Caller": "the demo"}):
            reply = await caller.client.call("greeter", "Greeter.Hello", {"name": "Ada"})
        print("reply:", reply)

        nodes = Counter()
        for i in range(20):
            nodes[
                (await caller.client.call("greeter", "Greeter.Hello", {"name": f"caller {i}"}))["node"]
            ] += 1
        print("20 calls spread over the nodes:", dict(nodes))

        health = await caller.client.call("greeter", "Debug.Health")
        print("Debug.Health:", health)

        try:
            await caller.client.call("greeter", "Greeter.Missing", {})
        except errors.NotFound as exc:
            print("unknown endpoint ->", repr(exc))

        for name in ("Grace", "Linus"):
            await caller.client.publish("greetings", {"name": name})
        print("published 2 greetings to the 'greeter' queue group")
        await asyncio.sleep(0.5)
    finally:
        await caller.close()
        for process in greeters:
            process.send_signal(signal.SIGTERM)
        for process in greeters:
            process.wait(30)
    print("both greeters stopped cleanly:", [p.returncode for p in greeters])


if __name__ == "__main__":
    run(tour())
