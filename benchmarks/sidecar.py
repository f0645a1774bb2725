"""The sidecar's cost: the same call through ``micro sidecar`` and made directly, in the same run.

Two directions, each against its own baseline, in alternating rounds:

- **outbound** (an app calling a service): an HTTP client POSTs to the sidecar's
  ``/rpc`` → the sidecar calls the micro echo service; baseline: the same HTTP client
  POSTs the same request straight to the service's node (the HTTP transport's own
  ``POST /`` with ``Micro-*`` headers).
- **inbound** (the system calling the app): a micro client calls the app by name → the
  sidecar delivers ``POST /Greeter.Hello`` to the Node.js test app; baseline: the HTTP
  client POSTs the same request to the app directly.

Every process is separate (service, sidecar, Node app, and the client here). The
result rows carry the added p50 at one call in flight (``added p50 ms``; the target is
≤ 1 ms) and the throughput as a ratio to the baseline.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from benchmarks.harness import ROOT, Call, Peer, Result, drive, measure, median_round
from benchmarks.rpc import micro_client, micro_echo, payload
from benchmarks.servers import Unavailable
from micro_core.testing.processes import ServerProcess, free_port

NODE_APP = ROOT / "components" / "sidecar" / "tests" / "node" / "app.js"
GROUP = "sidecar"


@dataclass(frozen=True)
class Plan:
    concurrency: tuple[int, ...]
    calls: int
    max_seconds: float
    rounds: int


FULL = Plan(concurrency=(1, 16), calls=5000, max_seconds=5, rounds=3)
QUICK = Plan(concurrency=(1, 16), calls=800, max_seconds=2, rounds=1)


@contextmanager
def sidecar(env: dict[str, str], *flags: str) -> Iterator[str]:
    """``micro sidecar`` in its own process; its URL. Warnings only (no access log line per
    request), and no autoloaded plugins: the wrappers installed in this venv (tracing,
    metrics) would cost the sidecar's calls what the direct ones, and the client here, do not pay."""
    port = free_port()
    argv = ["-m", "micro_cli", "sidecar", "--address", f"127.0.0.1:{port}", *flags]
    quiet = {"MICRO_LOG_LEVEL": "WARNING", "MICRO_DISABLE_PLUGIN_AUTOLOAD": "1"}
    with Peer(argv, env={**env, **quiet}, ready=("serving on",)):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def node_app(directory: str) -> Iterator[str]:
    node = shutil.which("node")
    if node is None:
        raise Unavailable("node is not installed (scripts/servers/node.sh install)")
    port = free_port()
    app = ServerProcess(
        [node, "--no-warnings", "--experimental-websocket", str(NODE_APP)],
        port=port,
        env={"PORT": str(port)},
        log_path=Path(directory) / "node.log",
        name="node app",
    )
    with app:
        yield f"http://127.0.0.1:{port}"


async def against(direct: tuple[str, Call], through: tuple[str, Call], plan: Plan) -> list[Result]:
    """The call made directly and through the sidecar, in alternating rounds at each concurrency;
    of each the median round, the one through the sidecar compared with the direct one."""
    results: list[Result] = []
    for concurrency in plan.concurrency:
        rounds: dict[str, list[Result]] = {direct[0]: [], through[0]: []}
        for _ in range(plan.rounds):
            for name, call in (direct, through):
                done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
                rounds[name].append(measure(GROUP, name, done, seconds, latencies, concurrency=concurrency))
        baseline, via = median_round(rounds[direct[0]]), median_round(rounds[through[0]])
        via.ratios[baseline.name] = via.rate / baseline.rate if baseline.rate else 0.0
        via.params["added p50 ms"] = round(via.p50_ms - baseline.p50_ms, 3)
        results += [baseline, via]
    return results


async def outbound(plan: Plan) -> list[Result]:
    body = payload(100)
    encoded = json.dumps(body).encode()
    rpc = json.dumps({"service": "bench-echo", "endpoint": "Echo.Echo", "request": body}).encode()
    with micro_echo("http") as env, sidecar(env) as url:
        service = await micro_client(env)
        [entry] = await service.registry.get_service("bench-echo")
        node = f"http://{entry.nodes[0].address}/"
        direct_headers = {
            "Content-Type": "application/json",
            "Micro-Service": "bench-echo",
            "Micro-Endpoint": "Echo.Echo",
        }
        async with aiohttp.ClientSession() as http:

            async def direct() -> None:
                async with http.post(node, data=encoded, headers=direct_headers) as response:
                    await response.read()
                    assert response.status == 200 and "Micro-Error" not in response.headers

            async def through() -> None:
                async with http.post(f"{url}/rpc", data=rpc) as response:
                    await response.read()
                    assert response.status == 200

            results = await against(
                ("outbound: HTTP to the node directly", direct),
                ("outbound: HTTP to sidecar /rpc", through),
                plan,
            )
        await service.close()
    return results


async def inbound(plan: Plan) -> list[Result]:
    request = {"name": "bench"}
    with tempfile.TemporaryDirectory() as directory, node_app(directory) as app:
        endpoints = Path(directory) / "endpoints.json"
        endpoints.write_text(json.dumps(["Greeter.Hello"]))
        env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(Path(directory) / "registry")}
        flags = ("--name", "bench-app", "--app-address", app, "--endpoints", str(endpoints))
        with sidecar(env, *flags):
            service = await micro_client(env)
            async with aiohttp.ClientSession() as http:

                async def direct() -> None:
                    async with http.post(f"{app}/Greeter.Hello", json=request) as response:
                        await response.read()
                        assert response.status == 200

                async def through() -> None:
                    await service.client.call("bench-app", "Greeter.Hello", request)

                results = await against(
                    ("inbound: HTTP to the Node app directly", direct),
                    ("inbound: micro call via sidecar to the Node app", through),
                    plan,
                )
            await service.close()
    return results


async def sidecar_cases(quick: bool, skipped: list[str]) -> list[Result]:
    plan = QUICK if quick else FULL
    results = await outbound(plan)
    try:
        results += await inbound(plan)
    except Unavailable as exc:
        skipped.append(f"sidecar inbound: {exc}")
    return results


if __name__ == "__main__":  # python -m benchmarks.sidecar: a quick look without the report
    from micro_core import run

    for row in run(sidecar_cases("--quick" in sys.argv, [])):
        print(row.name, row.params, f"{row.rate:,.0f}/s p50 {row.p50_ms:.3f} ms", row.ratios)
