"""What the sidecar answers to bad input: one clear micro error, and it keeps serving."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from micro_core.testing.helpers import EventRecorder


@pytest.fixture
async def sidecar(start_sidecar, prices) -> Any:
    return start_sidecar("--max-body", "1k")


async def error_of(response: aiohttp.ClientResponse) -> dict[str, Any]:
    body: dict[str, Any] = await response.json()
    assert set(body) == {"id", "code", "detail", "status"}, body
    assert body["code"] == response.status
    return body


@pytest.mark.parametrize(
    "path", ["/rpc", "/publish/orders", "/registry", "/subscriptions", "/prices/Prices.Get"]
)
async def test_malformed_json_is_a_400_that_says_so(sidecar, http, path):
    async with http.post(
        sidecar.url + path, data=b'{"service": "prices",', headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert "malformed JSON" in (await error_of(response))["detail"]


async def test_a_call_missing_its_parts_is_a_400_naming_them(sidecar, http):
    for body, words in [
        ([1, 2], "expected"),
        ({"service": "prices"}, "'service' and an 'endpoint'"),
        ({"service": 7, "endpoint": "Prices.Get"}, "'service' must be a string"),
        ({"service": "prices", "endpoint": "Prices.Get", "metadata": {"a": 1}}, "'metadata'"),
        ({"service": "prices", "endpoint": "Prices.Get", "request": {}}, "sku"),
    ]:
        async with http.post(f"{sidecar.url}/rpc", json=body) as response:
            assert response.status == 400, body
            assert words in (await error_of(response))["detail"], body


async def test_an_unknown_service_is_a_404_naming_it(sidecar, http):
    async with http.post(f"{sidecar.url}/rpc", json={"service": "nosuch", "endpoint": "A.B"}) as response:
        assert response.status == 404 and "nosuch" in (await error_of(response))["detail"]
    async with http.post(f"{sidecar.url}/nosuch/A.B", json={}) as response:
        assert response.status == 404 and "nosuch" in (await error_of(response))["detail"]
    async with http.post(f"{sidecar.url}/nosuch/say/hello", json={}) as response:
        assert response.status == 404 and "/nosuch/say/hello" in (await error_of(response))["detail"]
    async with http.get(f"{sidecar.url}/registry?service=nosuch") as response:
        assert response.status == 404 and "nosuch" in (await error_of(response))["detail"]


async def test_an_oversized_body_is_a_413(sidecar, http):
    request = {"service": "prices", "endpoint": "Prices.Get", "request": {"sku": "x" * 2000}}
    async with http.post(f"{sidecar.url}/rpc", json=request) as response:
        assert response.status == 413 and "limit" in (await error_of(response))["detail"]
    async with http.post(f"{sidecar.url}/publish/orders", json={"big": "x" * 2000}) as response:
        assert response.status == 413
    async with http.post(f"{sidecar.url}/rpc", json={**request, "request": {"sku": "ok"}}) as response:
        assert response.status == 200  # and the next request is served


async def test_a_websocket_that_sends_garbage_gets_error_frames_and_keeps_working(sidecar, http, kernel):
    listener = await kernel("listener")
    heard = await EventRecorder.subscribe(listener.broker, "ws-in")
    async with http.ws_connect(f"{sidecar.url}/broker?topic=ws-in") as socket:
        await socket.send_str("this is not json")
        frame = await socket.receive_json(timeout=5)
        assert frame["error"]["code"] == 400 and "malformed JSON" in frame["error"]["detail"]
        await socket.send_bytes(b"\x00\xff\x10")
        frame = await socket.receive_json(timeout=5)
        assert frame["error"]["code"] == 400 and "text frames" in frame["error"]["detail"]
        await socket.send_str('{"still": "works"}')
        [event] = await heard.wait(1)
        assert json.loads(event.message.body) == {"still": "works"}
        await heard.close()

    async with http.ws_connect(f"{sidecar.url}/broker?topic=ws-in") as socket:
        await socket.send_str('{"big": "' + "x" * 2000 + '"}')
        closing = await socket.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert socket.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_a_websocket_or_event_stream_without_a_topic_is_refused(sidecar, http):
    for path in ("/broker", "/events"):
        async with http.get(sidecar.url + path) as response:
            assert response.status == 400 and "topic" in (await error_of(response))["detail"]


async def test_a_push_subscription_needs_a_topic_and_a_url(sidecar, http):
    for body in ({"topic": "t"}, {"url": "http://127.0.0.1:1/"}, {"topic": "t", "url": "/relative"}):
        async with http.post(f"{sidecar.url}/subscriptions", json=body) as response:
            assert response.status == 400, body
    async with http.delete(f"{sidecar.url}/subscriptions/nosuch") as response:
        assert response.status == 404


async def test_a_bad_service_definition_is_a_400(sidecar, http):
    for body, words in [({"version": "1"}, "not a service definition"), ({"name": "x"}, "without a node")]:
        async with http.post(f"{sidecar.url}/registry", json=body) as response:
            assert response.status == 400, body
            assert words in (await error_of(response))["detail"], body
    async with http.post(f"{sidecar.url}/registry?ttl=soon", json={"name": "x"}) as response:
        assert response.status == 400


async def test_errors_as_problem_json_when_asked(sidecar, http):
    headers = {"Accept": "application/problem+json"}
    async with http.post(
        f"{sidecar.url}/rpc", json={"service": "nosuch", "endpoint": "A.B"}, headers=headers
    ) as r:
        assert r.status == 404 and r.content_type == "application/problem+json"
        assert (await r.json(content_type=None))["status"] == 404


async def test_every_route_needs_the_token_when_one_is_set(start_sidecar, http):
    sidecar = start_sidecar("--auth-token", "app=s3cret")
    for method, path in [
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/registry"),
        ("POST", "/rpc"),
        ("POST", "/publish/x"),
        ("GET", "/broker?topic=x"),
        ("GET", "/events?topic=x"),
        ("POST", "/subscriptions"),
    ]:
        async with http.request(method, sidecar.url + path) as response:
            assert response.status == 401, (method, path)
    bearer = {"Authorization": "Bearer s3cret"}
    async with http.get(f"{sidecar.url}/health", headers=bearer) as response:
        assert response.status == 200
    async with http.ws_connect(f"{sidecar.url}/broker?topic=x", headers=bearer) as socket:
        assert not socket.closed
    async with http.get(f"{sidecar.url}/openapi.json", headers=bearer) as response:
        assert (await response.json())["security"] == [{"token": []}]
