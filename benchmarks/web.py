"""``micro web``: the proxy against the web service hit directly, and the dashboard with 500 services.

- **proxy**: wrk (the load generator of the gateway's benchmark) drives a small aiohttp
  web service (run as ``micro.web.hello``, so behind its gate) directly, then through
  ``micro web``'s ``/hello/``, in alternating rounds; the proxied row carries its
  throughput as a ratio to the direct one (target ≥ 0.6) and both p50s. On 2 cores:
  the web service on core 0, wrk on core 1, and ``micro web`` on core 1 beside wrk, so
  the proxy never takes CPU from the service it is measured against.
- **services**: 500 services in a local registry; the time of ``GET /_/api/services``
  (the list's JSON) and of the whole page in headless Chromium, from navigation until the
  first screen of rows is painted, every row is in the document, and every row is painted,
  by the page's own performance marks (target < 100 ms each).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from benchmarks.harness import ROOT, Result, cpu_seconds, median_round, percentiles, pinned, wrk
from benchmarks.servers import Unavailable
from micro_core.registry import Endpoint, Node, Service, Value
from micro_core.registry.local import LocalRegistry
from micro_core.testing.processes import ServerProcess, free_port

GROUP = "web"
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True)
class Plan:
    seconds: int
    rounds: int
    connections: int
    services: int
    requests: int


FULL = Plan(seconds=8, rounds=3, connections=64, services=500, requests=100)
QUICK = Plan(seconds=3, rounds=1, connections=64, services=500, requests=30)


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello, world\n")


#: The web service the proxy is measured against (``python -m micro_web benchmarks.web:app``).
app = web.Application()
app.router.add_get("/", hello)


@contextmanager
def _process(argv: list[str], env: dict[str, str], directory: str, name: str, port: int) -> Iterator[int]:
    """A server process, ready once its port answers; its pid."""
    process = ServerProcess(
        argv,
        port=port,
        env={**env, "MICRO_LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        log_path=Path(directory) / f"{name}.log",
        name=name,
    )
    with process:
        assert process.process is not None
        yield process.process.pid


@dataclass(frozen=True)
class _World:
    service_url: str
    dashboard_url: str
    #: pids of the web service and of micro web, to read their CPU time
    pids: dict[str, int]


@contextmanager
def _world(directory: str) -> Iterator[_World]:
    """The web service and ``micro web`` (no login: loopback only) sharing a local registry."""
    env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(Path(directory) / "registry")}
    service_port, web_port = free_port(), free_port()
    service = pinned(0, [sys.executable, "-m", "micro_web", "benchmarks.web:app", "--name", "hello"])
    dashboard = pinned(
        1, [sys.executable, "-m", "micro_cli", "web", "--no-auth", "--address", f"127.0.0.1:{web_port}"]
    )
    service_env = {**env, "MICRO_WEB_SERVER_ADDRESS": f"127.0.0.1:{service_port}"}
    with (
        _process(service, service_env, directory, "hello", service_port) as service_pid,
        _process(dashboard, env, directory, "micro-web", web_port) as web_pid,
    ):
        yield _World(
            f"http://127.0.0.1:{service_port}/",
            f"http://127.0.0.1:{web_port}",
            {"web service": service_pid, "micro web": web_pid},
        )


def proxy_cases(plan: Plan) -> list[Result]:
    """wrk against the web service directly and through ``micro web``, alternating; each row
    also says the CPU each process spent per request, a figure the machine's load bends less."""
    rounds: dict[str, list[Result]] = {"direct": [], "proxy": []}
    with tempfile.TemporaryDirectory() as directory, _world(directory) as world:
        urls = {"direct": world.service_url, "proxy": f"{world.dashboard_url}/hello/"}
        wrk(urls["proxy"], 1, 8)  # warm up: the proxy's selector cache and connection pool
        for _ in range(plan.rounds):
            for name, url in urls.items():
                before = {who: cpu_seconds(pid) for who, pid in world.pids.items()}
                done, seconds, p50, p99 = wrk(url, plan.seconds, plan.connections)
                cpu = {
                    f"{who} CPU us/request": round((cpu_seconds(pid) - before[who]) / max(done, 1) * 1e6, 1)
                    for who, pid in world.pids.items()
                    if name == "proxy" or who == "web service"
                }
                rounds[name].append(
                    Result(
                        GROUP,
                        f"{name}: wrk GET /hello",
                        done,
                        seconds,
                        p50,
                        p99,
                        params={"connections": plan.connections, **cpu},
                    )
                )
    baseline, through = median_round(rounds["direct"]), median_round(rounds["proxy"])
    through.ratios[baseline.name] = through.rate / baseline.rate if baseline.rate else 0.0
    through.params["added p50 ms"] = round(through.p50_ms - baseline.p50_ms, 3)
    through.note = "target: at least 0.6x the direct throughput"
    return [baseline, through]


async def _register(registry_dir: Path, count: int) -> None:
    registry = LocalRegistry(str(registry_dir))
    await registry.connect()
    shape = Value("", "HelloRequest", [Value("name", "string"), Value("count", "int64")])
    for index in range(count):
        service = Service(
            f"bench.service-{index:03d}",
            "1.0.0",
            endpoints=[
                Endpoint(f"Svc{index}.Call", shape, shape),
                Endpoint(f"Svc{index}.List", shape, shape),
            ],
            nodes=[Node(f"bench-{index}", f"127.0.0.1:{20000 + index}", {"zone": "a"})],
        )
        await registry.register(service, ttl=600)
    await registry.close()


async def _json_times(url: str, requests: int, count: int) -> list[float]:
    times = []
    async with aiohttp.ClientSession() as http:
        for attempt in range(requests + 5):
            began = time.perf_counter()
            async with http.get(url) as response:
                rows = await response.json()
            if attempt >= 5:  # after a few warm-up requests
                times.append(time.perf_counter() - began)
            if len(rows) < count:
                raise RuntimeError(f"{url} listed {len(rows)} services, not {count}")
    return times


#: The page's performance marks, each with what it says: the first screen of rows drawn (the
#: page writes the rows below it a frame later), every row in the document, every row drawn.
_MARKS = {
    "first-rows": "first screen painted",
    "rows-{count}": "every row in the document",
    "painted-{count}": "every row painted",
}


def _page_times(url: str, count: int, loads: int) -> dict[str, list[float]]:
    """Seconds from navigation to each of the page's marks (``_MARKS``), in Chromium: a frame's
    mark comes once it has been drawn, style, layout and paint included."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise Unavailable("playwright is not installed (scripts/servers/chromium.sh install)") from None
    if not os.path.exists(CHROMIUM):
        raise Unavailable("Debian's chromium is not installed (scripts/servers/chromium.sh install)")
    times: dict[str, list[float]] = {mark: [] for mark in _MARKS}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        page = browser.new_page()
        for attempt in range(loads + 2):
            page.goto(url)
            last = f"micro:painted-{count}"
            page.wait_for_function(f"performance.getEntriesByName({last!r}).length > 0")
            for mark, seconds in times.items():
                name = "micro:" + mark.format(count=count)
                drawn = page.evaluate(f"performance.getEntriesByName({name!r})[0].startTime")
                if attempt >= 2:
                    seconds.append(drawn / 1e3)
        browser.close()
    return times


async def services_cases(plan: Plan, skipped: list[str]) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        await _register(Path(directory) / "registry", plan.services)
        with _world(directory) as world:
            dashboard = world.dashboard_url
            count = plan.services + 1  # and micro.web.hello
            times = await _json_times(f"{dashboard}/_/api/services", plan.requests, count)
            p50, p99 = percentiles(times)
            results.append(
                Result(
                    GROUP,
                    f"GET /_/api/services, {plan.services} services",
                    len(times),
                    sum(times),
                    p50,
                    p99,
                    params={"services": count},
                    note="target: under 100 ms",
                )
            )
            try:
                loads = max(plan.requests // 10, 3)
                marks = await asyncio.to_thread(_page_times, f"{dashboard}/", count, loads)
            except Unavailable as exc:
                skipped.append(f"web page in Chromium: {exc}")
            else:
                for mark, times in marks.items():
                    p50, p99 = percentiles(times)
                    results.append(
                        Result(
                            GROUP,
                            f"services page, {_MARKS[mark]}, in Chromium, {plan.services} services",
                            len(times),
                            sum(times),
                            p50,
                            p99,
                            params={"services": count},
                            note="from navigation start; target: under 100 ms",
                        )
                    )
    return results


async def web_cases(quick: bool, skipped: list[str]) -> list[Result]:
    plan = QUICK if quick else FULL
    results: list[Result] = []
    try:
        results += await asyncio.to_thread(proxy_cases, plan)  # wrk blocks; the processes are apart
    except Unavailable as exc:
        skipped.append(f"web proxy: {exc}")
    results += await services_cases(plan, skipped)
    return results
