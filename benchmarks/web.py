"""``micro web``: the proxy against the web service hit directly, and the dashboard with 500 services.

- **proxy**: wrk (the load generator of the gateway's benchmark) drives a small aiohttp
  web service (run as ``micro.web.hello``, so behind its gate) directly and through three
  proxies, in alternating rounds. The **floor** is the least an aiohttp proxy can cost
  here: a bare aiohttp handler in its own process, on uvloop and with the garbage
  collector tuned as ``micro web`` has them, that forwards each request to the same web
  service over kept-alive connections with the proxy's own ``_Upstream`` (no edge
  middleware, no selector, no header rewriting). The **shared proxy** is the same bare
  handler forwarding with :class:`~micro_http.proxy.Proxy` (the kernel's selector, the
  header rewriting, the deadlines) but without the HTTP edge (request ids,
  authentication, limits, access log) or the dashboard's routes: the rows say what the
  proxy itself costs and what the edge and app around it add. Last, **micro web**'s
  ``/hello/``. The proxied rows carry their throughput as a ratio to the direct one
  (``micro web``'s target: ≥ 0.6) and to the floor's; every row says the CPU each
  process spent per request, a figure the machine's load bends less than a rate.

  Only wrk is pinned (to core 1, by the harness), as in the gateway's benchmark. Pinning
  the web service to core 0 and the proxy beside wrk on core 1 (as this module did) left
  core 0 idle two thirds of the time while the proxy and wrk fought over core 1: the
  proxy got half a core against the direct case's whole one. Unpinned, the scheduler
  puts the service and the proxy wherever a core is free, as on any server.
- **services**: 500 services in a local registry; the time of ``GET /_/api/services``
  (the list's JSON) and of the whole page in headless Chromium, from navigation until the
  first screen of rows is painted, until every row is in the document, and until the
  frame after that is drawn, by the page's own performance marks (``_MARKS``; target
  < 100 ms each).

``python -m benchmarks.web floor PORT UPSTREAM`` serves the floor on ``PORT``, forwarding to
``UPSTREAM`` (``host:port``); ``python -m benchmarks.web shared PORT`` the shared proxy,
forwarding to the web service ``micro.web.hello`` (the registry from ``MICRO_*``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from benchmarks.harness import ROOT, Result, cpu_seconds, measure, median_round, wrk
from benchmarks.servers import Unavailable
from micro_core import Service, run
from micro_core.registry import Endpoint, Node, Value
from micro_core.registry import Service as Entry
from micro_core.registry.local import LocalRegistry
from micro_core.testing.processes import ServerProcess, free_port
from micro_http.proxy import Proxy, _Upstream
from micro_http.serve import steady_gc

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
QUICK = Plan(seconds=2, rounds=1, connections=64, services=500, requests=30)


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


def floor_app(upstream: str) -> web.Application:
    """The floor: each request's method and path sent on to ``upstream`` over a kept-alive
    ``_Upstream``, the status, content type and body sent back; nothing else."""
    host, _, port = upstream.rpartition(":")
    idle: list[_Upstream] = []

    async def forward(request: web.Request) -> web.Response:
        connection = idle.pop() if idle else None
        if connection is None or connection.closed:
            _, connection = await asyncio.get_running_loop().create_connection(_Upstream, host, int(port))
        connection.begin(head=False)
        await connection.write(
            f"{request.method} {request.raw_path} HTTP/1.1\r\nHost: {upstream}\r\n\r\n".encode()
        )
        await connection.ready
        parts = []
        while (chunk := await connection.chunk()) is not None:
            parts.append(chunk)
        if connection.reusable:
            idle.append(connection)
        return web.Response(
            status=connection.status,
            body=b"".join(parts),
            headers={"Content-Type": connection.headers.get("Content-Type", "application/octet-stream")},
        )

    app = web.Application()
    app.router.add_get("/", forward)
    return app


async def _shared_proxy_app() -> web.Application:
    """The shared proxy alone: every request forwarded to ``micro.web.hello`` by ``Proxy``."""
    kernel = Service("bench.shared-proxy")
    await kernel.connect()
    proxy = Proxy(kernel.selector)

    async def forward(request: web.Request) -> web.StreamResponse:
        return await proxy.forward(request, "micro.web.hello", request.raw_path, prefix="/hello")

    app = web.Application()
    app.router.add_get("/", forward)
    return app


async def _serve(kind: str, port: int, upstream: str = "") -> None:
    app = floor_app(upstream) if kind == "floor" else await _shared_proxy_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    steady_gc()  # collecting as seldom as micro web does once it listens
    await asyncio.Event().wait()


@dataclass(frozen=True)
class _World:
    dashboard_url: str
    #: each case's URL (see ``_CASES``)
    urls: dict[str, str]
    #: pids of the web service and of each proxy, to read their CPU time
    pids: dict[str, int]


@contextmanager
def _world(directory: str, *, proxies: bool = True) -> Iterator[_World]:
    """The web service and ``micro web`` (no login: loopback only) sharing a local registry,
    with the floor and the shared proxy if ``proxies``; none pinned (see the module's docstring)."""
    env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(Path(directory) / "registry")}
    service_port, web_port = free_port(), free_port()
    argv = {
        "web service": [sys.executable, "-m", "micro_web", "benchmarks.web:app", "--name", "hello"],
        "micro web": [
            sys.executable,
            "-m",
            "micro_cli",
            "web",
            "--no-auth",
            "--address",
            f"127.0.0.1:{web_port}",
        ],
    }
    ports = {"web service": service_port, "micro web": web_port}
    urls = {"direct": f"http://127.0.0.1:{service_port}/", "proxy": f"http://127.0.0.1:{web_port}/hello/"}
    if proxies:
        ports["floor"], ports["shared proxy"] = free_port(), free_port()
        argv["floor"] = [
            sys.executable,
            "-m",
            "benchmarks.web",
            "floor",
            str(ports["floor"]),
            f"127.0.0.1:{service_port}",
        ]
        argv["shared proxy"] = [sys.executable, "-m", "benchmarks.web", "shared", str(ports["shared proxy"])]
        urls["floor"] = f"http://127.0.0.1:{ports['floor']}/"
        urls["shared proxy"] = f"http://127.0.0.1:{ports['shared proxy']}/"
    service_env = {**env, "MICRO_WEB_SERVER_ADDRESS": f"127.0.0.1:{service_port}"}
    with ExitStack() as stack:
        pids = {
            who: stack.enter_context(
                _process(
                    command,
                    service_env if who == "web service" else env,
                    directory,
                    who.replace(" ", "-"),
                    ports[who],
                )
            )
            for who, command in argv.items()
        }
        yield _World(
            f"http://127.0.0.1:{web_port}", {case: urls[case] for case in _CASES if case in urls}, pids
        )


#: Each case, and the processes whose CPU time it costs.
_CASES = {
    "direct": ("web service",),
    "floor": ("web service", "floor"),
    "shared proxy": ("web service", "shared proxy"),
    "proxy": ("web service", "micro web"),
}


def proxy_cases(plan: Plan) -> list[Result]:
    """wrk against the web service directly, through the floor, the shared proxy and
    ``micro web``, alternating; each row also says the CPU each process spent per request."""
    rounds: dict[str, list[Result]] = {name: [] for name in _CASES}
    with tempfile.TemporaryDirectory() as directory, _world(directory) as world:
        for url in world.urls.values():
            wrk(url, 1, 8)  # warm up: the proxies' connections, their selector caches
        for _ in range(plan.rounds):
            for name, url in world.urls.items():
                before = {who: cpu_seconds(world.pids[who]) for who in _CASES[name]}
                done, seconds, p50, p99 = wrk(url, plan.seconds, plan.connections)
                cpu = {
                    f"{who} CPU us/request": round(
                        (cpu_seconds(world.pids[who]) - spent) / max(done, 1) * 1e6, 1
                    )
                    for who, spent in before.items()
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
    baseline, floor, shared, through = (median_round(rounds[name]) for name in _CASES)
    for proxied in (floor, shared, through):
        proxied.ratios[baseline.name] = proxied.rate / baseline.rate if baseline.rate else 0.0
        proxied.params["added p50 ms"] = round(proxied.p50_ms - baseline.p50_ms, 3)
    for proxied in (shared, through):
        proxied.ratios[floor.name] = proxied.rate / floor.rate if floor.rate else 0.0
    through.ratios[shared.name] = through.rate / shared.rate if shared.rate else 0.0
    for row, what in (
        (floor, "the least an aiohttp proxy costs"),
        (shared, "the shared Proxy without the edge and app"),
        (through, "target: at least 0.6x the direct throughput"),
    ):
        row.note = "; ".join(filter(None, [what, row.note]))
    return [baseline, floor, shared, through]


async def _register(registry_dir: Path, count: int) -> None:
    registry = LocalRegistry(str(registry_dir))
    await registry.connect()
    shape = Value("", "HelloRequest", [Value("name", "string"), Value("count", "int64")])
    for index in range(count):
        service = Entry(
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
#: page writes the rows below it once that frame is out), every row in the document, and the
#: frame after that drawn. Rows off screen skip layout and paint until they are scrolled to
#: (CSS content-visibility), so that last frame paints only what the screen shows.
_MARKS = {
    "first-rows": "first screen painted",
    "rows-{count}": "every row in the document",
    "painted-{count}": "every row in the document and that frame drawn (rows off screen unpainted)",
}
#: Says each mark on the console as it is made: waiting that way runs nothing in the page,
#: where Playwright's own script (tens of ms to compile, injected on its first evaluation)
#: would delay the page's frames and so the marks being measured.
_SAY_MARKS = """new PerformanceObserver((marks) => {
  for (const mark of marks.getEntries()) console.debug(mark.name);
}).observe({ type: "mark" });"""


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
    last = f"micro:painted-{count}"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        page = browser.new_page()
        page.add_init_script(_SAY_MARKS)
        for attempt in range(loads + 2):
            with page.expect_console_message(lambda message: message.text == last):
                page.goto(url)
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
        with _world(directory, proxies=False) as world:
            dashboard = world.dashboard_url
            count = plan.services + 1  # and micro.web.hello
            times = await _json_times(f"{dashboard}/_/api/services", plan.requests, count)
            name = f"GET /_/api/services, {plan.services} services"
            results.append(_timing(name, times, count, "target: under 100 ms"))
            try:
                loads = max(plan.requests // 10, 3)
                marks = await asyncio.to_thread(_page_times, f"{dashboard}/", count, loads)
            except Unavailable as exc:
                skipped.append(f"web page in Chromium: {exc}")
            else:
                for mark, times in marks.items():
                    name = f"services page, {_MARKS[mark]}, in Chromium, {plan.services} services"
                    results.append(_timing(name, times, count, "from navigation start; target: under 100 ms"))
    return results


def _timing(name: str, times: list[float], services: int, note: str) -> Result:
    """A row of ``times`` (seconds) taken with ``services`` registered."""
    result = measure(GROUP, name, len(times), sum(times), times, services=services)
    result.note = note
    return result


async def web_cases(quick: bool, skipped: list[str]) -> list[Result]:
    plan = QUICK if quick else FULL
    results: list[Result] = []
    try:
        results += await asyncio.to_thread(proxy_cases, plan)  # wrk blocks; the processes are apart
    except Unavailable as exc:
        skipped.append(f"web proxy: {exc}")
    results += await services_cases(plan, skipped)
    return results


if __name__ == "__main__":
    run(_serve(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
