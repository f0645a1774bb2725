"""The caller of the three-host test, run inside its own network namespace: ``python hosts_caller.py``.

Settings come from MICRO_* variables (Consul on another host, mutual TLS); it calls the
echo service on a third host, publishes to it, tries it as a plaintext and as an
untrusted client, and prints what happened as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os

from micro_core import Service
from micro_core.tls import TLSConfig
from micro_core.transport import Message
from micro_core.transport.http import HTTPTransport


async def refused(address: str, tls: TLSConfig | None) -> str:
    """How a call made with ``tls`` (None: plaintext) ends: "served", or the refusal."""
    try:
        connection = await HTTPTransport(tls=tls).dial(address, timeout=5)
        await connection.call(Message({"Micro-Endpoint": "Echo.Call"}, b'{"text": "x"}'), timeout=5)
    except ConnectionError as exc:
        return f"refused: {exc}"
    return "served"


async def main() -> None:
    caller = Service("caller")
    await caller.connect()
    try:
        [echo] = await caller.registry.get_service("echo")
        brokers = await caller.registry.get_service("micro.http.broker")
        replies = [await caller.client.call("echo", "Echo.Call", {"text": str(n)}) for n in range(20)]
        await caller.client.publish("news", "across hosts")
        await caller.client.publish("jobs", "job 1")
        address = echo.nodes[0].address
        stranger = TLSConfig(
            ca=os.environ["MICRO_TLS_CA"],
            client_cert=os.environ["STRANGER_CERT"],
            client_key=os.environ["STRANGER_KEY"],
        )
        report = {
            "echo": address,
            "brokers": [(n.address, n.metadata.get("secure")) for s in brokers for n in s.nodes],
            "texts": [reply["text"] for reply in replies],
            "plaintext": await refused(address, None),
            "untrusted": await refused(address, stranger),
        }
    finally:
        await caller.close()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
