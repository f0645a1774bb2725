"""The default path (HTTP transport, JSON, an echo service in its own process) with the
observability plugins, as ratios to the same calls without them, in alternating rounds.

Setups, on both the client (this process) and the server:

- ``not installed``: the plugins blocked (``MICRO_BLOCK_PLUGINS``): no wrapper is composed;
- ``installed, off``: loaded but not configured (no ``metrics_address``, no OTEL_*
  destination): the server composes nothing, the client passes calls straight through;
- ``metrics``: ``/metrics`` served on both sides, every call counted and timed;
- ``tracing``: a span per call on each side at 100% sampling, batched and exported over
  OTLP/HTTP to a sink process (the SDK's default batch settings);
- ``tracing + metrics``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import micro_wrapper_opentelemetry.plugin
import micro_wrapper_prometheus.plugin
from benchmarks.harness import PEERS, Peer, Result, drive, measure, median_round
from benchmarks.rpc import Plan, payload
from micro_core import Options, Plugins, Service
from micro_core.testing.processes import free_port
from micro_wrapper_opentelemetry import provider, setup_tracing
from micro_wrapper_prometheus import MetricsServer, exposition

FULL = Plan(payloads=(100,), concurrency=(1, 64), calls=20000, max_seconds=3, rounds=3)
QUICK = Plan(payloads=(100,), concurrency=(16,), calls=2000, max_seconds=2, rounds=1)
BLOCKED = "wrapper-opentelemetry,wrapper-prometheus,wrapper-resilience"
BASELINE = "not installed"


@dataclass(frozen=True)
class Setup:
    name: str
    installed: bool = True
    metrics: bool = False
    tracing: bool = False


SETUPS = (
    Setup(BASELINE, installed=False),
    Setup("installed, off"),
    Setup("metrics", metrics=True),
    Setup("tracing", tracing=True),
    Setup("tracing + metrics", metrics=True, tracing=True),
)


@contextmanager
def _echo(setup: Setup, sink: str) -> Iterator[dict[str, str]]:
    """The echo service for ``setup``; yields the environment that reaches it."""
    with tempfile.TemporaryDirectory() as registry:
        env = {
            "MICRO_REGISTRY": "local",
            "MICRO_REGISTRY_ADDRESS": registry,
            "MICRO_TRANSPORT": "http",
            "MICRO_BLOCK_PLUGINS": "" if setup.installed else BLOCKED,
            "MICRO_METRICS_ADDRESS": "127.0.0.1:0" if setup.metrics else "",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink if setup.tracing else "",
        }
        with Peer([str(PEERS / "micro_echo.py")], env=env):
            yield env


async def _client(setup: Setup, env: dict[str, str]) -> Service:
    plugins = Plugins(autoload=False)
    if setup.installed:
        plugins.register(micro_wrapper_opentelemetry.plugin)
        plugins.register(micro_wrapper_prometheus.plugin)
    client = Service("bench-client", plugins=plugins, options=Options(environ=env))
    await client.connect()
    return client


async def _case(setup: Setup, client: Service, size: int, concurrency: int, plan: Plan) -> Result:
    body = payload(size)
    provider.switch.on = setup.tracing  # this process's provider and /metrics were set up once, at the start
    exposition.switch.on = setup.metrics

    async def call() -> None:
        await client.client.call("bench-echo", "Echo.Echo", body)

    done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
    return measure("observability", f"micro http, {setup.name}", done, seconds, latencies,
                   payload=size, concurrency=concurrency)  # fmt: skip


async def observability_cases(plan: Plan) -> list[Result]:
    """One echo process per setup, all started first; then the setups' calls in alternating rounds."""
    results: list[Result] = []
    port = free_port()
    sink = f"http://127.0.0.1:{port}"
    with ExitStack() as processes:
        processes.enter_context(Peer([str(PEERS / "otlp_sink.py"), str(port)]))
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink  # for this process's exporter only
        try:
            setup_tracing("bench-client")
        finally:
            del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
        processes.callback(MetricsServer("127.0.0.1:0").close)
        clients = {
            setup: await _client(setup, processes.enter_context(_echo(setup, sink))) for setup in SETUPS
        }
        try:
            for size in plan.payloads:
                for concurrency in plan.concurrency:
                    rounds: dict[str, list[Result]] = {setup.name: [] for setup in SETUPS}
                    for _ in range(plan.rounds):
                        for setup, client in clients.items():
                            rounds[setup.name].append(await _case(setup, client, size, concurrency, plan))
                    median = {name: median_round(measured) for name, measured in rounds.items()}
                    baseline = median[BASELINE]
                    for name, result in median.items():
                        if name != BASELINE and baseline.rate:
                            result.ratios[BASELINE] = result.rate / baseline.rate
                    results += median.values()
        finally:
            for client in clients.values():
                await client.close()
            provider.switch.on = exposition.switch.on = False  # later groups run without them
    return results
