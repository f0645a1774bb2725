"""Web apps as micro services: registered like RPC services, reachable, drained on stop."""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from micro_core import Options, Plugins, Service, errors
from micro_core.testing.plugin import StartProcess
from micro_core.testing.processes import free_port
from micro_web import WebService

ROOT = Path(__file__).resolve().parents[3]
WEBAPP = ROOT / "examples" / "webapp" / "app.py"


def example_app() -> Any:
    spec = importlib.util.spec_from_file_location("webapp_example", WEBAPP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture
def settings() -> dict[str, Any]:
    """A private memory registry; real TCP for the app and the RPC transport."""
    return {"registry": "memory", "registry_address": f"web-{uuid.uuid4().hex[:8]}", "shutdown_grace": 2.0}


def web_service(name: str, app: Any, settings: dict[str, Any]) -> WebService:
    return WebService(name, app, plugins=Plugins(autoload=False), options=Options(code=settings, environ={}))


@pytest.fixture
async def caller(settings: dict[str, Any]) -> AsyncIterator[Service]:
    service = Service("caller", plugins=Plugins(autoload=False), options=Options(code=settings, environ={}))
    await service.connect()
    yield service
    await service.close()


async def test_an_asgi_app_registers_under_the_web_namespace_with_its_http_address(
    settings: dict[str, Any], caller: Service
) -> None:
    async with web_service("webapp", example_app(), settings) as webapp:
        [entry] = await caller.registry.get_service("micro.web.webapp")
        [node] = entry.nodes
        assert node.address == webapp.address
        assert node.metadata["web"] == "true"
        async with aiohttp.ClientSession() as http, http.get(f"http://{webapp.address}/") as page:
            assert "Hello from webapp" in await page.text()


async def test_a_web_service_answers_health_checks_and_stats_like_an_rpc_service(
    settings: dict[str, Any], caller: Service
) -> None:
    async with web_service("webapp", example_app(), settings):
        health = await caller.client.call("micro.web.webapp", "Debug.Health")
        stats = await caller.client.call("micro.web.webapp", "Debug.Stats")
    assert health["status"] == "ok"
    assert stats["requests"] >= 1


async def test_links_are_built_with_the_base_path_the_proxy_sends(
    settings: dict[str, Any],
) -> None:
    async with (
        web_service("webapp", example_app(), settings) as webapp,
        aiohttp.ClientSession() as http,
        http.get(f"http://{webapp.address}/", headers={"X-Forwarded-Prefix": "/webapp"}) as page,
    ):
        text = await page.text()
    assert 'href="/webapp/"' in text
    assert 'new URL("/webapp/ws"' in text


async def test_an_aiohttp_app_is_served_and_registered_too(settings: dict[str, Any], caller: Service) -> None:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"hi via {request.headers.get('X-Forwarded-Prefix', 'nothing')}")

    app = web.Application()
    app.router.add_get("/", hello)
    async with web_service("hello", app, settings) as service:
        assert (await caller.client.call("micro.web.hello", "Debug.Health"))["status"] == "ok"
        async with aiohttp.ClientSession() as http, http.get(f"http://{service.address}/") as response:
            assert await response.text() == "hi via nothing"


async def test_a_stopping_service_deregisters_first_finishes_requests_in_flight_and_refuses_new_ones(
    settings: dict[str, Any], caller: Service
) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="finished")

    app = web.Application()
    app.router.add_get("/slow", slow)
    service = web_service("slow", app, settings)
    await service.start()
    url = f"http://{service.address}/slow"
    async with aiohttp.ClientSession() as http:
        in_flight = asyncio.create_task(http.get(url))
        await asyncio.sleep(0.2)
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0.2)
        with pytest.raises(errors.NotFound):
            await caller.registry.get_service("micro.web.slow")
        async with http.get(url) as refused:
            assert refused.status == 503
            assert refused.headers["Micro-Draining"] == "true"
        release.set()
        async with await in_flight as response:
            assert await response.text() == "finished"
        await stopping


def test_micro_run_serves_an_app_by_module_path_and_sigterm_deregisters_it(
    micro_process: StartProcess, micro_process_env: dict[str, str]
) -> None:
    registry = Path(micro_process_env["MICRO_REGISTRY_ADDRESS"])
    port = free_port()
    micro = Path(sys.executable).parent / "micro"
    webapp = micro_process(
        micro,
        *("--web-server-address", f"127.0.0.1:{port}", "run", "app:app", "--name", "webapp"),
        cwd=WEBAPP.parent,
        ready=f"serving http://127.0.0.1:{port}",
        env={"MICRO_LOG_LEVEL": "INFO"},
    )
    assert list(registry.glob("micro.web.webapp/*")), "registered in the local registry"
    webapp.signal(signal.SIGTERM)
    assert webapp.process is not None and webapp.process.wait(20) == 0
    assert not list(registry.glob("micro.web.webapp/*")), "deregistered on SIGTERM"
