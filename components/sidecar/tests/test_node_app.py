"""A real Node.js app (tests/node/app.js, plain ``node``) joins the system through a real sidecar."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from typing import Any

import pytest

from micro_core import errors
from micro_core.registry import ServiceNotFound
from micro_core.testing.helpers import EventRecorder
from micro_core.testing.processes import free_port


def beside(node_port: int, endpoints: Any) -> list[str]:
    """The sidecar's flags for the Node app as service "greeter"."""
    return [
        "--name",
        "greeter",
        "--app-address",
        f"http://127.0.0.1:{node_port}",
        "--endpoints",
        str(endpoints),
    ]


async def eventually(check: Any, timeout: float, what: str) -> Any:
    """Await ``check()`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:g}s")
        await asyncio.sleep(0.1)


async def registered(registry: Any, name: str) -> bool:
    try:
        return any(entry.nodes for entry in await registry.get_service(name))
    except ServiceNotFound:
        return False


async def test_a_node_app_joins_through_a_sidecar(start_sidecar, start_node, endpoints_file, kernel, prices):
    python = await kernel("python-client")
    announced = await EventRecorder.subscribe(python.broker, "announcements")
    client = python.client

    node_port = free_port()
    sidecar = start_sidecar(
        *beside(node_port, endpoints_file), "--health", "/health", "--check-interval", "0.5"
    )
    start_node(sidecar.url, port=node_port)
    await eventually(lambda: registered(python.registry, "greeter"), 10, "greeter registered")

    # A Python client calls the Node app by service name; metadata arrives as headers.
    reply = await client.call("greeter", "Greeter.Hello", {"name": "Ada"}, metadata={"Clerk": "bob"})
    assert reply == {"message": "Hello Ada from node", "clerk": "bob"}

    # The Node app calls a Python service through the sidecar's /rpc.
    relayed = await client.call(
        "greeter", "Greeter.Relay", {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "tea"}}
    )
    assert relayed == {"status": 200, "reply": {"sku": "tea", "cents": 250}}
    missing = await client.call(
        "greeter",
        "Greeter.Relay",
        {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "none"}},
    )
    assert missing["status"] == 404 and missing["reply"]["detail"] == "no price for none"

    # An error the app answers keeps its code and detail for the caller.
    with pytest.raises(errors.Conflict, match="it was already done"):
        await client.call("greeter", "Greeter.Fail", {})

    # Broker messages reach the app on its websocket ("news") and by push ("alerts").
    async def seen() -> dict[str, Any]:
        found: dict[str, Any] = await client.call("greeter", "Greeter.Seen", {})
        return found

    await eventually(lambda: _ready(seen), 20, "the app's websocket and push subscriptions")
    await client.publish("news", {"headline": "sidecar works"})
    await client.publish("alerts", {"level": "high"})
    state = await eventually(lambda: _with(seen, lambda s: s["news"] and s["alerts"]), 10, "both messages")
    assert state["news"] == [{"headline": "sidecar works"}]
    assert state["alerts"] == [{"level": "high"}]

    # The app publishes one that a Python subscriber receives.
    answer = await client.call(
        "greeter", "Greeter.Announce", {"topic": "announcements", "message": {"from": "node"}}
    )
    assert answer == {"status": 204}
    [event] = await announced.wait(1)
    assert json.loads(event.message.body) == {"from": "node"}
    await announced.close()


@pytest.mark.parametrize("transport", ["http", "grpc"])
async def test_calls_reach_the_app_over_any_transport(
    transport, start_sidecar, start_node, endpoints_file, kernel
):
    python = await kernel("python-client", transport=transport)
    node_port = free_port()
    sidecar = start_sidecar(*beside(node_port, endpoints_file), extra_env={"MICRO_TRANSPORT": transport})
    start_node(sidecar.url, port=node_port)
    await eventually(lambda: registered(python.registry, "greeter"), 10, "greeter registered")
    [entry] = await python.registry.get_service("greeter")
    assert entry.nodes[0].metadata["transport"] == transport
    reply = await python.client.call("greeter", "Greeter.Hello", {"name": "Ada"}, metadata={"Clerk": "eve"})
    assert reply == {"message": "Hello Ada from node", "clerk": "eve"}


async def test_a_push_endpoint_that_times_out_gets_the_message_again(
    start_sidecar, start_node, endpoints_file, kernel
):
    client = (await kernel("python-client")).client
    node_port = free_port()
    sidecar = start_sidecar(*beside(node_port, endpoints_file), "--push-timeout", "0.5")
    start_node(sidecar.url, port=node_port)

    async def seen() -> dict[str, Any]:
        found: dict[str, Any] = await client.call("greeter", "Greeter.Seen", {})
        return found

    await eventually(lambda: _with(seen, lambda s: s["subscribed"]), 20, "the push subscriptions")
    await client.publish("slow", {"n": 1})  # the HTTP broker returns once the message was acked
    state = await seen()
    assert state["slow"] == 2, "the first push timed out; the second delivered it"
    assert state["alerts"] == [{"slow": {"n": 1}, "delivery": 2}]


async def test_push_subscriptions_given_at_start(start_sidecar, start_node, endpoints_file, kernel):
    client = (await kernel("python-client")).client
    node_port = free_port()
    sidecar = start_sidecar(*beside(node_port, endpoints_file), "--push", "bulletins@node=/push/alerts")
    start_node(sidecar.url, port=node_port)
    await client.publish("bulletins", {"read": "me"})  # acked by the app: returns once it was pushed
    state = await client.call("greeter", "Greeter.Seen", {})
    assert state["alerts"] == [{"read": "me"}]


async def test_health_failing_deregisters_and_recovering_registers_again(
    start_sidecar, start_node, endpoints_file, kernel, settings, http
):
    python = await kernel("python-client")
    registry = python.registry
    node_port = free_port()
    interval = 0.5
    sidecar = start_sidecar(
        *beside(node_port, endpoints_file), "--health", "/health", "--check-interval", str(interval)
    )
    node = start_node(sidecar.url, port=node_port)
    await eventually(lambda: registered(registry, "greeter"), 10, "greeter registered")
    # `micro health` works on the app: the sidecar answers Debug.Health from the app's check.
    assert await python.client.call("greeter", "Debug.Health") == {"status": "ok"}
    [entry] = await registry.get_service("greeter")
    address = entry.nodes[0].address

    async with http.post(f"{node.url}/control/health", json={"healthy": False}):
        pass
    failed = time.monotonic()
    await eventually(lambda: _not(registered(registry, "greeter")), 10, "greeter deregistered")
    left_after = time.monotonic() - failed
    assert left_after <= interval + settings["register_ttl"], left_after
    async with http.get(f"{sidecar.url}/health/app") as response:
        assert response.status == 503
        assert (await response.json())["health"] == "failing"
    health = await python.client.call("greeter", "Debug.Health", address=address)
    assert health["status"] == "failing"

    async with http.post(f"{node.url}/control/health", json={"healthy": True}):
        pass
    await eventually(lambda: registered(registry, "greeter"), 10, "greeter registered again")
    async with http.get(f"{sidecar.url}/health/app") as response:
        assert response.status == 200 and (await response.json())["registered"] is True


async def test_a_killed_app_is_a_502_naming_it_and_the_sidecar_keeps_serving(
    start_sidecar, start_node, endpoints_file, kernel, http, prices, settings
):
    client = (await kernel("python-client")).client
    node_port = free_port()
    # No health check: the entry stays, so callers reach the sidecar and learn what happened.
    sidecar = start_sidecar(
        "--name",
        "greeter",
        "--app-address",
        f"http://127.0.0.1:{node_port}",
        "--endpoints",
        str(endpoints_file),
    )
    node = start_node(sidecar.url, port=node_port)
    await asyncio.sleep(settings["register_ttl"] + 1)  # renewed within its TTL, with no health check
    assert (await client.call("greeter", "Greeter.Hello", {"name": "a"}))["message"] == "Hello a from node"

    node.process.kill()
    node.process.process.wait(10)
    with pytest.raises(errors.BadGateway) as raised:
        await client.call("greeter", "Greeter.Hello", {"name": "a"})
    assert raised.value.id == "greeter" and "the app greeter" in raised.value.detail

    async with http.post(f"{sidecar.url}/greeter/Greeter.Hello", json={"name": "a"}) as response:
        body = await response.json()
        assert response.status == 502 and "the app greeter" in body["detail"], body
    async with http.get(f"{sidecar.url}/health") as response:
        assert response.status == 200
    rpc = {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "jam"}}
    async with http.post(f"{sidecar.url}/rpc", json=rpc) as response:
        assert response.status == 200 and await response.json() == {"sku": "jam", "cents": 250}


async def test_a_sigtermed_sidecar_deregisters_the_app_first(
    start_sidecar, start_node, endpoints_file, kernel, http
):
    python = await kernel("python-client")
    registry = python.registry
    node_port = free_port()
    sidecar = start_sidecar(
        *beside(node_port, endpoints_file),
        extra_env={"MICRO_REGISTER_TTL": "120", "MICRO_REGISTER_INTERVAL": "40"},
    )
    start_node(sidecar.url, port=node_port)
    await eventually(lambda: registered(registry, "greeter"), 10, "greeter registered")
    await eventually(
        lambda: _ready(lambda: python.client.call("greeter", "Greeter.Seen", {})), 20, "websocket"
    )
    events = await http.get(f"{sidecar.url}/events?topic=news")  # an open event stream, too
    assert events.status == 200

    sidecar.process.signal(signal.SIGTERM)
    stopping = time.monotonic()
    assert sidecar.process.process is not None
    assert await asyncio.to_thread(sidecar.process.process.wait, 20) == 0
    # The open websocket and event stream end at once, not after the 10 s grace.
    assert time.monotonic() - stopping < 5
    events.close()
    # Gone long before its 120 s TTL: deregistered, not expired.
    assert not await registered(registry, "greeter")
    log = sidecar.logged()
    assert log.index("greeter deregistered: the sidecar is stopping") < log.index("stopped taking calls")


async def _with(get: Any, test: Any) -> Any:
    found = await get()
    return found if test(found) else None


async def _ready(seen: Any) -> Any:
    return await _with(seen, lambda s: s["connected"] and s["subscribed"])


async def _not(check: Any) -> bool:
    return not await check


async def test_the_endpoints_come_from_the_apps_openapi_document(start_sidecar, start_node, kernel):
    python = await kernel("python-client")
    node_port = free_port()
    node = start_node("http://127.0.0.1:1", port=node_port)  # no sidecar calls in this test
    start_sidecar("--name", "greeter", "--app-address", node.url, "--openapi", "/openapi.json")
    await eventually(lambda: registered(python.registry, "greeter"), 10, "greeter registered")

    [entry] = await python.registry.get_service("greeter")
    shapes = {e.name: e for e in entry.endpoints}
    assert sorted(shapes) == ["Greeter.Hello", "Orders.Create"]
    order = shapes["Orders.Create"].request
    assert order is not None and order.type == "Order"
    assert [(v.name, v.type) for v in order.values] == [("item", "string"), ("quantity", "int64")]
    hello = shapes["Greeter.Hello"].request
    assert hello is not None and hello.type == "Hello" and [v.name for v in hello.values] == ["name"]

    # A call to Orders.Create goes to the operation's own path, /orders/create.
    created = await python.client.call("greeter", "Orders.Create", {"item": "tea", "quantity": 2})
    assert created == {"created": "tea", "quantity": 2}
    # An endpoint the document does not list is refused by the sidecar, naming it.
    with pytest.raises(errors.NotFound, match=r"greeter has no endpoint Greeter\.Seen"):
        await python.client.call("greeter", "Greeter.Seen", {})
