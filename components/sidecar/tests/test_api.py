"""The sidecar's HTTP API as an app uses it: registry, calls, events, health and its OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from micro_core import Options, Service
from micro_core.registry import Service as Entry
from micro_core.testing.helpers import EventRecorder
from micro_http import HttpSettings
from micro_sidecar import Settings, build
from micro_sidecar.openapi import PATHS

LEGACY = {
    "name": "legacy",
    "version": "0.9",
    "nodes": [{"id": "legacy-1", "address": "127.0.0.1:1", "metadata": {"zone": "a"}}],
}


@pytest.fixture
async def sidecar(start_sidecar, prices) -> Any:
    return start_sidecar()


async def test_register_look_up_and_deregister_another_service(sidecar, http, prices):
    registry = prices.registry
    async with http.post(f"{sidecar.url}/registry?ttl=30", json=LEGACY) as response:
        assert response.status == 204
    [entry] = await registry.get_service("legacy")
    assert entry.nodes[0].address == "127.0.0.1:1"

    async with http.get(f"{sidecar.url}/registry") as response:
        listed = await response.json()
        assert {"name": "legacy", "version": "0.9"} in listed and {
            "name": "prices",
            "version": "latest",
        } in listed
    async with http.get(f"{sidecar.url}/registry?service=legacy") as response:
        [found] = await response.json()
        assert Entry.from_dict(found).nodes[0].id == "legacy-1"

    async with http.delete(f"{sidecar.url}/registry", json=LEGACY) as response:
        assert response.status == 204
    async with http.get(f"{sidecar.url}/registry?service=legacy") as response:
        assert response.status == 404


async def test_calls_in_the_original_sidecars_forms(sidecar, http):
    forms = [
        ("/rpc", {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "a"}}),
        ("/rpc", {"service": "prices", "method": "Prices.Get", "request": '{"sku": "a"}'}),
        ("/prices/Prices.Get", {"sku": "a"}),
        ("/prices/prices/get", {"sku": "a"}),  # resolved as the gateway does
    ]
    for path, body in forms:
        async with http.post(sidecar.url + path, json=body) as response:
            assert response.status == 200, (path, await response.text())
            assert await response.json() == {"sku": "a", "cents": 250}


async def test_a_call_to_one_node_by_address(sidecar, http, prices):
    [entry] = await prices.registry.get_service("prices")
    call = {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "b"}}
    async with http.post(f"{sidecar.url}/rpc", json={**call, "address": entry.nodes[0].address}) as response:
        assert response.status == 200
    async with http.post(
        f"{sidecar.url}/rpc", json={**call, "address": "127.0.0.1:9", "timeout": 1}
    ) as response:
        assert response.status in (502, 503, 504)


async def test_publish_with_metadata(sidecar, http, prices):
    heard = await EventRecorder.subscribe(prices.broker, "prices.changed")
    headers = {"Micro-Metadata-Clerk": "ann"}
    async with http.post(f"{sidecar.url}/publish/prices.changed", json={"sku": "tea"}, headers=headers) as r:
        assert r.status == 204
    [event] = await heard.wait(1)
    assert event.message.header["Clerk"] == "ann" and json.loads(event.message.body) == {"sku": "tea"}
    await heard.close()


async def test_publish_and_pull_over_server_sent_events(sidecar, http):
    async with http.get(f"{sidecar.url}/events?topic=prices.changed") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"

        async def publish_until_heard() -> None:
            while True:  # the subscription is in place once the stream has started; publish twice at most
                async with http.post(
                    f"{sidecar.url}/publish/prices.changed", json={"sku": "tea"}
                ) as response:
                    assert response.status == 204
                await asyncio.sleep(0.5)

        publishing = asyncio.create_task(publish_until_heard())
        try:
            lines = []
            async with asyncio.timeout(10):
                while not lines or lines[-1] != "":
                    lines.append((await stream.content.readline()).decode().rstrip("\n"))
        finally:
            publishing.cancel()
    fields = dict(line.split(": ", 1) for line in lines if line)
    assert fields["event"] == "prices.changed" and json.loads(fields["data"]) == {"sku": "tea"}
    assert fields["id"]


async def test_health_of_the_sidecar_and_of_an_app_it_does_not_have(sidecar, http):
    async with http.get(f"{sidecar.url}/health") as response:
        assert response.status == 200 and await response.json() == {"status": "ok"}
    async with http.get(f"{sidecar.url}/health/app") as response:
        assert response.status == 503 and (await response.json())["detail"] == "no app"


async def test_the_openapi_document_lists_exactly_the_routes_served(micro_settings):
    service = Service("sidecar", options=Options(code=micro_settings, environ={}))
    await service.connect()
    try:
        app = await build(service, Settings(), HttpSettings())
        served = {
            (route.resource.canonical.replace("{endpoint:.+}", "{endpoint}"), route.method.lower())
            for route in app.router.routes()
            if route.resource is not None and route.method != "HEAD"
        }
        documented = {(path, method) for path, operations in PATHS.items() for method in operations}
        assert served == documented
        app.freeze()
        await app.shutdown()
        await app.cleanup()
    finally:
        await service.close()


async def test_the_document_is_served(sidecar, http):
    async with http.get(f"{sidecar.url}/openapi.json") as response:
        document = await response.json()
    assert document["openapi"].startswith("3.") and "/rpc" in document["paths"]
