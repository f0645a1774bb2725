"""``micro api``: the gateway in front of the greeter against aiohttp's bare handler and the direct call.

- **throughput**: wrk ``GET /greeter/hello?name=…`` through ``micro api`` (the query
  becomes the request, the reply is 100 bytes of JSON, the access log on) at 1/16/64
  connections, in alternating rounds with a bare aiohttp handler answering the same 100
  bytes, run on uvloop as the gateway is. Target: ≥ 0.7x the bare rate. Each row also
  carries the server process's CPU time per request (from ``/proc``), which the load of
  a shared machine moves far less than the rates: the gateway's includes its RPC hop's
  client side; the greeter's own CPU is given apart.
- **floor**: an aiohttp handler (same process setup, on uvloop) that makes the same
  ``Greeter.Hello`` call with the micro client and answers its JSON, with no route table,
  no edge and no access log: the least any gateway on aiohttp and this client can cost.
  Its ratio to the bare handler is the ceiling of the gateway's own; the gateway's row
  also carries its ratio to the floor (what the gateway's routing, translation and edge
  cost on top of the hop itself).
- **hop floor**: an aiohttp handler that makes one round trip over a kept-alive socket to
  an echo process (one byte out, the 100-byte reply back; no codec, no client, no
  framing): the least any gateway on aiohttp that asks another process can cost.
- **latency**: the same call made directly with the micro client from this process at
  the same concurrency; target: the gateway's p50 at one connection ≤ 2x the direct p50.
- **500 services**: the gateway's resident memory with 500 registered services (each
  with two endpoints) against an idle gateway's, and the time to build the route table
  and OpenAPI document for them (in this process), plus the first ``/openapi.json`` served.

No process is pinned to a core: on this shared machine other sessions' work lands on
either core, and a pinned server waits for its core while the other idles.

``python -m benchmarks.gateway bare PORT`` serves the bare handler (the baseline process);
``python -m benchmarks.gateway floor PORT`` the floor (it finds the greeter through the
``MICRO_*`` variables); ``echo PORT`` the echo process and ``hop PORT ECHO_PORT`` the hop floor.
"""

from __future__ import annotations

import asyncio
import collections
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import msgspec
from aiohttp import web

from benchmarks.harness import ROOT, Result, cpu_seconds, drive, measure, median_round, wrk
from benchmarks.servers import Unavailable
from micro_api.openapi import document
from micro_api.routes import Table
from micro_core import Service, run
from micro_core.registry import Endpoint, Node, Value
from micro_core.registry import Service as Entry
from micro_core.registry.local import LocalRegistry
from micro_core.testing.processes import ServerProcess, free_port, wait_until

GROUP = "gateway"
GREETER = ROOT / "examples" / "greeter" / "greeter.py"
#: The name that makes the greeter's reply exactly 100 bytes of JSON.
NAME = "A" * 31
REPLY_SIZE = 100
BARE = "aiohttp bare handler"
FLOOR = "floor: aiohttp handler + micro client call"
HOP = "hop floor: aiohttp handler + raw socket round trip"
GATEWAY = "micro api -> greeter"


@dataclass(frozen=True)
class Plan:
    seconds: int
    rounds: int
    connections: tuple[int, ...]
    calls: int
    services: int


FULL = Plan(seconds=5, rounds=3, connections=(1, 16, 64), calls=20000, services=500)
QUICK = Plan(seconds=2, rounds=1, connections=(1, 64), calls=2000, services=500)


def bare_reply() -> bytes:
    """What the greeter answers, byte for byte in size: the bare handler sends the same."""
    body = msgspec.json.encode({"message": f"Hello {NAME}, from someone's greeter", "node": "pid 1234567"})
    return body + b" " * (REPLY_SIZE - len(body))


def bare_app() -> web.Application:
    body = bare_reply()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/greeter/hello", hello)
    return app


def floor_app(service: Service) -> web.Application:
    """The RPC hop and nothing else: the query's name in, the greeter's reply out."""
    encode = msgspec.json.Encoder().encode
    client = service.client

    async def hello(request: web.Request) -> web.Response:
        reply = await client.call("greeter", "Greeter.Hello", {"name": request.query["name"]})
        return web.Response(body=encode(reply), content_type="application/json")

    app = web.Application()
    app.router.add_get("/greeter/hello", hello)
    return app


class _Echo(asyncio.Protocol):
    """Answers each byte it receives with the 100-byte reply."""

    def __init__(self) -> None:
        self._reply = bare_reply()  # encoded once, not per request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._transport.write(self._reply * len(data))


class _Hop(asyncio.Protocol):
    """One kept-alive connection to the echo process; replies come back in request order."""

    def __init__(self) -> None:
        self._waiting: collections.deque[asyncio.Future[bytes]] = collections.deque()
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= REPLY_SIZE:
            reply, self._buffer = self._buffer[:REPLY_SIZE], self._buffer[REPLY_SIZE:]
            self._waiting.popleft().set_result(reply)

    def ask(self) -> asyncio.Future[bytes]:
        reply = asyncio.get_running_loop().create_future()
        self._waiting.append(reply)
        self._transport.write(b"?")
        return reply


def hop_app(hop: _Hop) -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=await hop.ask(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/greeter/hello", hello)
    return app


async def _serve(kind: str, port: int, *args: str) -> None:
    loop = asyncio.get_running_loop()
    if kind == "echo":
        await loop.create_server(_Echo, "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()
    if kind == "bare":
        app = bare_app()
    elif kind == "hop":
        _, hop = await loop.create_connection(_Hop, "127.0.0.1", int(args[0]))
        app = hop_app(hop)
    else:
        service = Service("bench-floor")
        await service.connect()
        app = floor_app(service)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


@contextmanager
def _process(
    argv: list[str], env: dict[str, str], directory: str, name: str, port: int, ready: str = ""
) -> Iterator[ServerProcess]:
    log = Path(directory) / f"{name}.log"
    process = ServerProcess(argv, port=port, env=env, cwd=ROOT, log_path=log, name=name, ready_text=ready)
    with process:
        yield process


@dataclass(frozen=True)
class Target:
    """A URL to load and the processes whose CPU time it costs (the server, its upstream)."""

    url: str
    pid: int
    upstream_pid: int = 0


@dataclass(frozen=True)
class World:
    env: dict[str, str]
    gateway: Target
    bare: Target
    floor: Target
    hop: Target


def _pid(process: ServerProcess) -> int:
    assert process.process is not None
    return process.process.pid


@contextmanager
def _world(directory: str) -> Iterator[World]:
    """The greeter, the gateway and the bare server, each in its own process."""
    env = {
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(Path(directory) / "registry"),
        "MICRO_LOG_LEVEL": "INFO",
    }
    gateway_port, bare_port, floor_port, hop_port, echo_port = (free_port() for _ in range(5))
    greeter = [sys.executable, str(GREETER)]
    gateway = [sys.executable, "-m", "micro_api", "--address", f"127.0.0.1:{gateway_port}"]
    bare = [sys.executable, "-m", "benchmarks.gateway", "bare", str(bare_port)]
    floor = [sys.executable, "-m", "benchmarks.gateway", "floor", str(floor_port)]
    echo = [sys.executable, "-m", "benchmarks.gateway", "echo", str(echo_port)]
    hop = [sys.executable, "-m", "benchmarks.gateway", "hop", str(hop_port), str(echo_port)]
    with (
        _process(greeter, env, directory, "greeter", free_port(), "serving on") as greeter_process,
        _process(gateway, env, directory, "gateway", gateway_port) as gateway_process,
        _process(bare, env, directory, "bare", bare_port) as bare_process,
        _process(floor, env, directory, "floor", floor_port) as floor_process,
        _process(echo, env, directory, "echo", echo_port) as echo_process,
        _process(hop, env, directory, "hop", hop_port) as hop_process,
    ):
        url = f"http://127.0.0.1:{gateway_port}"
        wait_until(
            lambda: b"Greeter.Hello" in urllib.request.urlopen(f"{url}/routes").read(), 20, "greeter route"
        )
        query = f"/greeter/hello?name={NAME}"
        yield World(
            env,
            Target(url + query, _pid(gateway_process), _pid(greeter_process)),
            Target(f"http://127.0.0.1:{bare_port}{query}", _pid(bare_process)),
            Target(f"http://127.0.0.1:{floor_port}{query}", _pid(floor_process), _pid(greeter_process)),
            Target(f"http://127.0.0.1:{hop_port}{query}", _pid(hop_process), _pid(echo_process)),
        )


def wrk_case(name: str, target: Target, connections: int, seconds: int) -> Result:
    """One wrk run, with the CPU time the server (and its upstream) spent per request."""
    before = cpu_seconds(target.pid), cpu_seconds(target.upstream_pid) if target.upstream_pid else 0.0
    done, elapsed, p50, p99 = wrk(target.url, seconds, connections)
    params: dict[str, object] = {"connections": connections, "reply_bytes": REPLY_SIZE}
    params["cpu_us_per_request"] = round((cpu_seconds(target.pid) - before[0]) / done * 1e6, 1)
    if target.upstream_pid:
        upstream = cpu_seconds(target.upstream_pid) - before[1]
        params["upstream_cpu_us_per_request"] = round(upstream / done * 1e6, 1)
    return Result(GROUP, name, done, elapsed, p50, p99, params)


async def direct_case(env: dict[str, str], connections: int, plan: Plan) -> Result:
    client = Service("bench-direct", registry="local", registry_address=env["MICRO_REGISTRY_ADDRESS"])
    await client.connect()
    try:

        async def call() -> None:
            await client.client.call("greeter", "Greeter.Hello", {"name": NAME})

        done, seconds, latencies = await drive(call, connections, plan.calls, plan.seconds)
    finally:
        await client.close()
    return measure(GROUP, "direct micro client call", done, seconds, latencies, connections=connections)


async def throughput_cases(plan: Plan) -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as directory, _world(directory) as world:
        await asyncio.to_thread(wrk, world.gateway.url, 1, 8)  # warm up caches and connections
        for connections in plan.connections:
            cases = {BARE: world.bare, HOP: world.hop, FLOOR: world.floor, GATEWAY: world.gateway}
            rounds: dict[str, list[Result]] = {name: [] for name in cases}
            for _ in range(plan.rounds):
                for name, target in cases.items():
                    result = await asyncio.to_thread(wrk_case, name, target, connections, plan.seconds)
                    rounds[name].append(result)
            baseline, hop, floor, through = (median_round(rounds[name]) for name in cases)
            direct = await direct_case(world.env, connections, plan)
            for bound in (hop, floor):
                bound.ratios[BARE] = bound.rate / baseline.rate
                bound.ratios["p50 / direct call p50"] = bound.p50_ms / direct.p50_ms if direct.p50_ms else 0.0
            through.ratios[BARE] = through.rate / baseline.rate
            through.ratios[FLOOR] = through.rate / floor.rate
            through.ratios["p50 / direct call p50"] = through.p50_ms / direct.p50_ms if direct.p50_ms else 0.0
            cpu, bare_cpu = through.params["cpu_us_per_request"], baseline.params["cpu_us_per_request"]
            if isinstance(cpu, float) and isinstance(bare_cpu, float) and cpu:
                through.ratios["bare CPU per request / gateway's"] = bare_cpu / cpu
            results += [baseline, direct, hop, floor, through]
    return results


async def _register(registry_dir: Path, count: int) -> list[Entry]:
    """``count`` services with two endpoints each, registered as their own processes would be."""
    registry = LocalRegistry(str(registry_dir))
    await registry.connect()
    shape = Value(
        "", "Request", [Value("name", "string"), Value("count", "int64"), Value("tags", "[]string")]
    )
    entries = []
    for index in range(count):
        entry = Entry(
            name=f"svc{index:03d}",
            version="1",
            endpoints=[Endpoint(f"Svc{index:03d}.Get", shape, shape), Endpoint("Items.List", shape, shape)],
            nodes=[Node(id=str(uuid.uuid4()), address=f"127.0.0.1:{20000 + index}")],
        )
        await registry.register(entry, 600)
        entries.append(entry)
    await registry.close()
    return entries


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def services_cases(plan: Plan) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-gateway-500-") as directory:
        registry = Path(directory) / "registry"
        entries = await _register(registry, plan.services)
        started = time.perf_counter()
        document(Table(entries))
        build = time.perf_counter() - started
        env = {
            "MICRO_REGISTRY": "local",
            "MICRO_REGISTRY_ADDRESS": str(registry),
            "MICRO_LOG_LEVEL": "WARNING",
        }
        empty = {**env, "MICRO_REGISTRY_ADDRESS": str(Path(directory) / "empty")}
        port, idle_port = free_port(), free_port()
        api_argv = [sys.executable, "-m", "micro_api", "--address", f"127.0.0.1:{port}"]
        idle_argv = [sys.executable, "-m", "micro_api", "--address", f"127.0.0.1:{idle_port}"]
        with (
            _process(api_argv, env, directory, "api", port) as api,
            _process(idle_argv, empty, directory, "idle", idle_port) as idle,
        ):
            started = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json") as response:
                paths = len(msgspec.json.decode(response.read())["paths"])
            served = time.perf_counter() - started
            assert api.process is not None and idle.process is not None
            rss, idle_rss = _rss_kib(api.process.pid), _rss_kib(idle.process.pid)
    params = {"rss_mib": round(rss / 1024, 1), "idle_rss_mib": round(idle_rss / 1024, 1)}
    memory = Result(GROUP, f"gateway memory, {plan.services} services", 1, 1.0, 0.0, 0.0, params)
    memory.ratios["rss / idle gateway rss"] = rss / idle_rss if idle_rss else 0.0
    openapi = Result(
        GROUP,
        f"OpenAPI build, {plan.services} services",
        1,
        build,
        build * 1e3,
        served * 1e3,
        {"paths": paths},
        note="p50_ms: route table + document built in-process; p99_ms: the first GET /openapi.json",
    )
    return [memory, openapi]


async def gateway_cases(quick: bool, skipped: list[str]) -> list[Result]:
    plan = QUICK if quick else FULL
    results: list[Result] = []
    try:
        results += await throughput_cases(plan)
    except Unavailable as exc:
        skipped.append(f"gateway throughput: {exc}")
    results += await services_cases(plan)
    return results


if __name__ == "__main__":
    run(_serve(sys.argv[1], int(sys.argv[2]), *sys.argv[3:]))
