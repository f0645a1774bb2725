"""A running gateway in front of the greeter, the shop and an aiohttp app: every handler and
resolver case, metadata routes, streams, the reverse proxy, and what it says when routing fails."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest

from micro_core.testing.processes import wait_until

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http, method, url, **kwargs):
    async with http.request(method, url, **kwargs) as response:
        body = await response.read()
        return response.status, response.headers, body


# --- rpc and the resolver ----------------------------------------------------------------------


async def test_rpc_json_body_becomes_the_request_and_chosen_headers_the_metadata(gateway, http):
    status, headers, body = await call(
        http, "POST", f"{gateway.url}/greeter/hello", json={"name": "Ada"}, headers={"X-Caller": "Grace"}
    )
    assert status == 200
    assert json.loads(body)["message"] == "Hello Ada, from Grace's greeter"
    assert headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"gateway;dur=[\d.]+, upstream;dur=[\d.]+", headers["Server-Timing"])


async def test_query_and_form_fields_become_the_request(gateway, http):
    status, _, body = await call(http, "GET", f"{gateway.url}/greeter/hello?name=Bob")
    assert (status, json.loads(body)["message"]) == (200, "Hello Bob, from someone's greeter")
    status, _, body = await call(http, "POST", f"{gateway.url}/greeter/hello", data={"name": "Cy"})
    assert (status, json.loads(body)["message"]) == (200, "Hello Cy, from someone's greeter")


@pytest.mark.parametrize(
    ("path", "endpoint_result"),
    [
        ("/shop/shop/item", "item 7"),  # /service/type/method -> Type.Method
        ("/v1/shop/shop/item", "item 7"),  # a version prefix: v1.shop is not registered, shop is
    ],
)
async def test_resolver_paths(gateway, http, path, endpoint_result):
    status, _, body = await call(http, "POST", gateway.url + path, json={"id": "7"})
    assert status == 200, body
    assert json.loads(body)["name"] == endpoint_result


async def test_the_request_id_travels_to_the_service(gateway, http):
    _, headers, body = await call(
        http, "POST", f"{gateway.url}/shop/shop/item", json={"id": "1"}, headers={"X-Request-Id": "req-77"}
    )
    assert headers["X-Request-Id"] == "req-77"
    assert json.loads(body)["request_id"] == "req-77"


async def test_an_unknown_service_or_endpoint_is_404_saying_what_was_tried(gateway, http):
    status, _, body = await call(http, "POST", f"{gateway.url}/nothing/here", json={})
    error = json.loads(body)
    assert (status, error["code"], error["id"]) == (404, 404, "micro.api")
    assert error["detail"].startswith(
        'no route for POST /nothing/here: tried service "nothing" endpoint "Nothing.Here": service not '
        'registered; service "nothing" endpoint "Here.Call": service not registered (registered: '
    )
    assert "greeter" in error["detail"] and "shop" in error["detail"]
    status, _, body = await call(http, "POST", f"{gateway.url}/greeter/goodbye", json={})
    assert status == 404
    assert 'service "greeter" endpoint "Greeter.Goodbye": no such endpoint' in json.loads(body)["detail"]


async def test_errors_as_problem_json_when_asked(gateway, http):
    status, headers, body = await call(
        http, "GET", f"{gateway.url}/nothing", headers={"Accept": "application/problem+json"}
    )
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["title"], problem["status"], problem["instance"]) == ("Not Found", 404, "/nothing")


async def test_a_service_error_keeps_its_status_and_body(gateway, http):
    status, _, body = await call(http, "GET", f"{gateway.url}/items/missing")
    assert status == 404
    assert json.loads(body) == {"id": "shop", "code": 404, "detail": "no item missing", "status": "Not Found"}


async def test_bad_json_is_400_naming_the_problem_and_a_wrong_field_names_the_field(gateway, http):
    headers = {"Content-Type": "application/json"}
    status, _, body = await call(
        http, "POST", f"{gateway.url}/greeter/hello", data=b'{"name": ', headers=headers
    )
    assert status == 400
    assert json.loads(body)["detail"].startswith("malformed JSON body: ")
    status, _, body = await call(http, "POST", f"{gateway.url}/greeter/hello", json={"name": 5})
    assert status == 400
    assert "$.name" in json.loads(body)["detail"]


# --- endpoint metadata routes --------------------------------------------------------------------


async def test_a_metadata_route_with_a_path_parameter(gateway, http):
    status, _, body = await call(http, "GET", f"{gateway.url}/items/42")
    assert status == 200
    assert json.loads(body)["name"] == "item 42"


async def test_a_metadata_route_only_answers_its_method(gateway, http):
    status, _, body = await call(http, "DELETE", f"{gateway.url}/items/42")
    assert status == 404
    assert 'tried service "items"' in json.loads(body)["detail"]


async def test_an_endpoint_with_its_own_route_is_not_reached_around_it(gateway, http):
    status, _, body = await call(http, "POST", f"{gateway.url}/shop/shop/lookup", json={"id": "1"})
    assert status == 404
    assert 'service "shop" endpoint "Shop.Lookup": served only at /items/{id}' in json.loads(body)["detail"]


async def test_the_api_handler_hands_over_the_whole_request(gateway, http):
    status, headers, body = await call(
        http, "PUT", f"{gateway.url}/pages/home?lang=en&lang=fr", data=b"the body", headers={"X-Shop": "q"}
    )
    assert status == 201, body
    assert headers["Content-Type"] == "text/plain"
    assert headers["X-Shop"] == "yes"
    assert body.decode() == "PUT /pages/home\nlang=['en', 'fr']\nthe body"


# --- /rpc ------------------------------------------------------------------------------------------


async def test_rpc_endpoint_when_enabled(gateway, http):
    request = {"service": "greeter", "endpoint": "Greeter.Hello", "request": {"name": "Rpc"}}
    status, _, body = await call(http, "POST", f"{gateway.url}/rpc", json=request)
    assert (status, json.loads(body)["message"]) == (200, "Hello Rpc, from someone's greeter")
    status, _, body = await call(http, "POST", f"{gateway.url}/rpc", json={"service": "greeter"})
    assert status == 400


# --- protobuf --------------------------------------------------------------------------------------


async def test_a_protobuf_body_goes_through_to_the_service_and_back(gateway, http, generated):
    sys.path.insert(0, str(generated))
    try:
        pb = importlib.import_module("inventory_pb2")
    finally:
        sys.path.remove(str(generated))
    headers = {"Content-Type": "application/protobuf"}
    data = pb.StockRequest(sku="abcd").SerializeToString()
    status, response_headers, body = await call(
        http, "POST", f"{gateway.url}/shop/shop/stock", data=data, headers=headers
    )
    assert status == 200
    assert response_headers["Content-Type"] == "application/protobuf"
    reply = pb.StockReply.FromString(body)
    assert (reply.sku, reply.count) == ("abcd", 4)


# --- streams ------------------------------------------------------------------------------------------


async def test_a_server_stream_as_server_sent_events(gateway, http):
    headers = {"Accept": "text/event-stream"}
    status, response_headers, body = await call(
        http, "POST", f"{gateway.url}/shop/shop/count", json={"to": 3}, headers=headers
    )
    assert status == 200
    assert response_headers["Content-Type"] == "text/event-stream"
    assert body.decode() == (
        'event: message\nid: 0\ndata: {"n":0}\n\n'
        'event: message\nid: 1\ndata: {"n":1}\n\n'
        'event: message\nid: 2\ndata: {"n":2}\n\n'
        "event: end\ndata: {}\n\n"
    )


async def test_a_server_stream_as_ndjson_with_an_error_in_band(gateway, http):
    status, headers, body = await call(http, "POST", f"{gateway.url}/shop/shop/count", json={"to": 13})
    assert (status, headers["Content-Type"]) == (200, "application/x-ndjson")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert lines[:3] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert lines[3]["error"]["detail"] == "unlucky thirteen"


async def test_a_stream_that_fails_before_its_first_reply_is_an_http_error(gateway, http):
    status, _, body = await call(http, "POST", f"{gateway.url}/shop/shop/count", json={"to": -1})
    assert status == 400
    assert json.loads(body)["detail"] == "to must be within 0..1000"


async def test_a_bidirectional_stream_over_a_websocket(gateway, http):
    async with http.ws_connect(f"{gateway.url}/shop/shop/chat") as socket:
        await socket.send_str(json.dumps({"text": "hello"}))
        assert json.loads(await socket.receive_str()) == {"text": "HELLO"}
        await socket.send_str(json.dumps({"text": "again"}))
        assert json.loads(await socket.receive_str()) == {"text": "AGAIN"}
        await socket.send_str("")  # the client's side ends; the service ends its own
        message = await socket.receive()
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == 1000


def open_chats(gateway) -> int:
    return int(gateway.get("/shop/shop/stats")["open_chats"])


async def test_a_websocket_peer_that_vanishes_ends_the_stream_and_the_gateway_keeps_serving(gateway, http):
    session = aiohttp.ClientSession()
    socket = await session.ws_connect(f"{gateway.url}/shop/shop/chat")
    await socket.send_str(json.dumps({"text": "x"}))
    await socket.receive_str()
    assert open_chats(gateway) == 1
    socket._response.connection.transport.abort()  # gone without a close frame
    await session.close()
    for _ in range(100):
        if open_chats(gateway) == 0:
            break
        await asyncio.sleep(0.05)
    assert open_chats(gateway) == 0
    status, _, _ = await call(http, "POST", f"{gateway.url}/greeter/hello", json={"name": "still"})
    assert status == 200


# --- the http handler ----------------------------------------------------------------------------------


async def test_the_http_handler_proxies_to_an_http_service(gateway, http):
    status, _, body = await call(http, "POST", f"{gateway.url}/storefront/hello?q=1", data=b"payload")
    assert status == 200
    seen = json.loads(body)
    assert seen["path"] == "/storefront/hello?q=1"
    assert seen["body"] == "payload"
    assert seen["forwarded_for"] == "127.0.0.1"
    assert seen["forwarded_host"] == gateway.url.removeprefix("http://")


async def test_the_http_handler_relays_a_websocket(gateway, http):
    async with http.ws_connect(f"{gateway.url}/storefront/ws") as socket:
        await socket.send_str("ping")
        assert await socket.receive_str() == "echo: ping"


# --- timeouts ------------------------------------------------------------------------------------------


async def test_a_slow_handler_is_504_at_the_routes_timeout_and_the_gateway_keeps_serving(gateway, http):
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _, body = await call(http, "POST", f"{gateway.url}/sleep", json={"seconds": 3})
    assert status == 504
    assert json.loads(body)["status"] == "Gateway Timeout"
    assert loop.time() - started < 1.5
    status, _, body = await call(http, "POST", f"{gateway.url}/sleep", json={"seconds": 0})
    assert status == 200


# --- the gateway's own endpoints -------------------------------------------------------------------------


async def test_health_ready_routes_and_docs(gateway, http):
    assert (await call(http, "GET", f"{gateway.url}/health"))[0] == 200
    status, _, body = await call(http, "GET", f"{gateway.url}/ready")
    assert status == 200 and json.loads(body)["status"] == "ready"
    routes = gateway.routes()
    item = {"path": "/items/{id}", "methods": ["GET"], "hosts": [], "service": "shop"}
    assert {**item, "endpoint": "Shop.Lookup", "handler": "rpc", "stream": False} in routes
    assert any(r["path"] == "/greeter/hello" and r["endpoint"] == "Greeter.Hello" for r in routes)
    assert not any(r["endpoint"].startswith("Debug.") for r in routes)
    status, _, page = await call(http, "GET", f"{gateway.url}/docs")
    assert status == 200 and b"/docs/swagger-ui-bundle.js" in page and b"//cdn" not in page
    status, _, bundle = await call(http, "GET", f"{gateway.url}/docs/swagger-ui-bundle.js")
    assert status == 200 and len(bundle) > 100_000


async def test_every_listed_route_answers_and_the_document_names_only_those(gateway, http):
    document = gateway.get("/openapi.json")
    assert document["openapi"] == "3.1.0"
    rows = [row for row in gateway.routes() if "..." not in row["path"]]
    assert set(document["paths"]) <= {row["path"] for row in rows}
    for row in rows:
        path = row["path"].replace("{id}", "1").replace("{name}", "home")
        status, _, body = await call(http, row["methods"][-1], gateway.url + path, json={})
        assert status != 404 or b"no route" not in body, row


def test_the_start_prints_the_route_table(gateway):
    log = gateway.process.log_path.read_text()
    assert re.search(r"micro api listening on http://127\.0\.0\.1:\d+ \(\d+ services, \d+ routes\)", log)
    assert re.search(r"GET\s+/items/\{id\}\s+-> rpc\s+shop Shop.Lookup", log)


def test_one_access_log_line_per_request(gateway):
    with urllib.request.urlopen(f"{gateway.url}/health?probe=log") as response:
        rid = response.headers["X-Request-Id"]

    def logged() -> list[str]:  # lines are written in batches, within 0.2 s
        return [line for line in gateway.process.log_path.read_text().splitlines() if rid in line]

    wait_until(lambda: bool(logged()), 5, "the access-log line")
    [line] = logged()
    fields = json.loads(line.removeprefix("micro.http.access: "))
    assert (fields["method"], fields["path"], fields["status"]) == ("GET", "/health", 200)


def test_micro_api_runs_from_the_micro_command_with_global_flags(stack, micro):
    """The component found through ``micro.components``, the registry chosen by global flags."""
    env = {k: v for k, v in stack.env.items() if k not in ("MICRO_REGISTRY", "MICRO_REGISTRY_ADDRESS")}
    registry = stack.env["MICRO_REGISTRY_ADDRESS"]
    original = stack.env
    stack.env = env
    try:
        argv = [micro, "--registry", "local", "--registry-address", registry, "api"]
        cli = stack.gateway("cli-gateway", argv=argv)
    finally:
        stack.env = original
    cli.wait_for("greeter")
    request = urllib.request.Request(
        f"{cli.url}/greeter/hello", data=b'{"name": "Cli"}', headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["message"] == "Hello Cli, from someone's greeter"
    cli.process.stop()


def test_sigterm_stops_the_gateway_cleanly(stack):
    gateway = stack.gateway("short-lived")
    started = time.monotonic()
    gateway.process.stop()
    assert gateway.process.process.returncode == 0, gateway.process.log_path.read_text()[-2000:]
    assert time.monotonic() - started < 5


def test_an_unreachable_registry_is_one_line_and_a_failed_exit(tmp_path):
    """No traceback: the operator reads which registry could not be reached, and the exit fails."""
    (tmp_path / "file").touch()  # the local registry cannot make its directory under a file
    env = {
        **os.environ,
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "file" / "registry"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "micro_api", "--address", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(
        f"Error: micro.api cannot start: local registry directory {tmp_path / 'file' / 'registry'}: "
    )
