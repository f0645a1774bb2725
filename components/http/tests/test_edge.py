"""The shared edge on a real aiohttp server: errors, request ids, timing, CORS, limits, deadlines, logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from micro_core import context, errors
from micro_http import (
    HttpSettings,
    add_upstream,
    application,
    http_plugins,
    metadata,
    request_id,
    set_timeout,
)
from micro_http.edge import ACCESS_LINES, AccessLines

routes = web.RouteTableDef()


@routes.get("/fail")
async def fail(request: web.Request) -> web.Response:
    raise errors.NotFound("no such thing", id="test")


@routes.get("/crash")
async def crash(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


@routes.get("/seen")
async def seen(request: web.Request) -> web.Response:
    waited = time.perf_counter()
    await asyncio.sleep(0.005)  # as if a service took 5 ms
    add_upstream(request, time.perf_counter() - waited)
    left = context.remaining()
    return web.json_response(
        {
            "id": request_id(request),
            "metadata": dict(context.metadata()),
            "passed": metadata(request),
            "left": left,
        }
    )


@routes.post("/echo")
async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


@routes.get("/slow")
async def slow(request: web.Request) -> web.Response:
    if "t" in request.query:
        set_timeout(request, float(request.query["t"]))
    await asyncio.sleep(2)
    return web.Response(text="late")


ALL = list(routes)


async def test_a_micro_error_is_its_status_with_the_micro_body(edge_app):
    url, http = await edge_app(ALL)
    async with http.get(f"{url}/fail") as response:
        assert response.status == 404
        assert response.content_type == "application/json"
        assert await response.json() == {
            "id": "test",
            "code": 404,
            "detail": "no such thing",
            "status": "Not Found",
        }


async def test_problem_json_when_the_client_asks(edge_app):
    url, http = await edge_app(ALL)
    async with http.get(f"{url}/fail", headers={"Accept": "application/problem+json"}) as response:
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        body = await response.json(content_type=None)
        assert body == {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "no such thing",
            "instance": "/fail",
            "id": "test",
        }


async def test_an_unexpected_exception_is_a_500_naming_it_and_the_app_keeps_serving(edge_app, caplog):
    url, http = await edge_app(ALL)
    async with http.get(f"{url}/crash") as response:
        assert response.status == 500
        assert (await response.json())["detail"] == "RuntimeError: boom"
    assert "GET /crash failed" in caplog.text
    async with http.get(f"{url}/fail") as response:
        assert response.status == 404


async def test_an_unknown_path_is_a_micro_404(edge_app):
    url, http = await edge_app(ALL)
    async with http.get(f"{url}/nowhere") as response:
        assert response.status == 404
        assert (await response.json())["code"] == 404


async def test_request_id_is_kept_or_made_and_travels_as_metadata(edge_app):
    url, http = await edge_app(ALL, HttpSettings(metadata_headers=("X-Tenant",)))
    async with http.get(
        f"{url}/seen", headers={"X-Request-Id": "abc-1", "X-Tenant": "t1", "X-Other": "no"}
    ) as r:
        body = await r.json()
        assert r.headers["X-Request-Id"] == "abc-1"
    assert body["id"] == "abc-1"
    assert body["metadata"] == {"X-Request-Id": "abc-1", "X-Tenant": "t1"} == body["passed"]
    async with http.get(f"{url}/seen", headers={"X-Request-Id": "x" * 500}) as r:
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-Id"])


async def test_server_timing_splits_gateway_and_upstream(edge_app):
    url, http = await edge_app(ALL)
    async with http.get(f"{url}/seen") as response:
        timing = response.headers["Server-Timing"]
    match = re.fullmatch(r"gateway;dur=([\d.]+), upstream;dur=([\d.]+)", timing)
    assert match, timing
    assert float(match[2]) >= 5.0
    assert 0 <= float(match[1]) < float(match[2])


async def test_the_timeout_is_the_deadline_of_calls_made_for_the_request(edge_app):
    url, http = await edge_app(ALL, HttpSettings(timeout=3.0))
    async with http.get(f"{url}/seen") as response:
        assert 2.5 < (await response.json())["left"] <= 3.0


async def test_past_the_timeout_is_504_and_a_route_can_shorten_it(edge_app):
    url, http = await edge_app(ALL, HttpSettings(timeout=0.3))
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with http.get(f"{url}/slow") as response:
        assert response.status == 504
        assert (await response.json())["status"] == "Gateway Timeout"
    assert loop.time() - started < 1.5
    started = loop.time()
    async with http.get(f"{url}/slow?t=0.05") as response:
        assert response.status == 504
    assert loop.time() - started < 0.28


async def test_a_body_over_the_limit_is_413_declared_or_streamed(edge_app):
    url, http = await edge_app(ALL, HttpSettings(max_body=1000))
    async with http.post(f"{url}/echo", data=b"x" * 1000) as response:
        assert response.status == 200
    async with http.post(f"{url}/echo", data=b"x" * 1001) as response:
        assert response.status == 413
        assert "1001 bytes is over the limit of 1000" in (await response.json())["detail"]

    async def chunks():
        for _ in range(5):
            yield b"y" * 400

    async with http.post(f"{url}/echo", data=chunks()) as response:
        assert response.status == 413


async def test_a_client_over_its_rate_gets_429_with_retry_after(edge_app):
    url, http = await edge_app(ALL, HttpSettings(rate_limit=2, rate_burst=3))
    statuses = []
    for _ in range(5):
        async with http.get(f"{url}/seen") as response:
            statuses.append(response.status)
            if response.status == 429:
                assert response.headers["Retry-After"] == "1"
                assert "rate limit exceeded" in (await response.json())["detail"]
    assert statuses[:3] == [200, 200, 200]
    assert 429 in statuses[3:]


async def test_cors_preflight_and_response_headers(edge_app):
    url, http = await edge_app(ALL, HttpSettings(cors_origins=("https://app.example",)))
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    async with http.options(f"{url}/echo", headers=preflight) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert response.headers["Access-Control-Allow-Methods"] == "POST"
    async with http.options(f"{url}/echo", headers={**preflight, "Origin": "https://evil.example"}) as r:
        assert r.status == 403
    async with http.get(f"{url}/seen", headers={"Origin": "https://app.example"}) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Server-Timing" in response.headers["Access-Control-Expose-Headers"]


async def test_one_structured_access_log_line_per_request(edge_app, caplog):
    url, http = await edge_app(ALL)
    with caplog.at_level(logging.INFO, logger="micro.http.access"):
        async with http.get(f"{url}/fail", headers={"X-Request-Id": "r-42"}):
            pass
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "micro.http.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "r-42"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/fail", 404)
    assert line["ms"] >= line["upstream_ms"] == 0


async def test_an_app_with_access_lines_writes_them_in_one_batch(caplog):
    lines = io.BytesIO()
    app = application(HttpSettings(), http_plugins(autoload=False))
    app[ACCESS_LINES] = AccessLines(lines)
    app.add_routes(ALL)
    async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
        with caplog.at_level(logging.INFO, logger="micro.http.access"):
            for path in ("/seen", "/fail"):
                async with http.get(server.make_url(path)):
                    pass
    assert lines.getvalue() == b""  # nothing written until the flush
    app[ACCESS_LINES].flush()
    written = lines.getvalue().decode().splitlines()
    assert [json.loads(line.removeprefix("micro.http.access: "))["status"] for line in written] == [200, 404]
    assert not [r for r in caplog.records if r.name == "micro.http.access"]  # not through logging too
