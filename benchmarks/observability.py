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
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class _Echo:
    setup: Setup
    client: Service
    pid: int


@contextmanager
def _echo(setup: Setup, sink: str) -> Iterator[tuple[dict[str, str], int]]:
    """The echo service for ``setup``; yields the environment that reaches it and its pid."""
    with tempfile.TemporaryDirectory() as registry:
        env = {
            "MICRO_REGISTRY": "local",
            "MICRO_REGISTRY_ADDRESS": registry,
            "MICRO_TRANSPORT": "http",
            "MICRO_BLOCK_PLUGINS": "" if setup.installed else BLOCKED,
            "MICRO_METRICS_ADDRESS": "127.0.0.1:0" if setup.metrics else "",
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink if setup.tracing else "",
        }
        with Peer([str(PEERS / "micro_echo.py")], env=env) as peer:
            yield env, peer.pid


async def _client(setup: Setup, env: dict[str, str]) -> Service:
    plugins = Plugins(autoload=False)
    if setup.installed:
        plugins.register(micro_wrapper_opentelemetry.plugin)
        plugins.register(micro_wrapper_prometheus.plugin)
    client = Service("bench-client", plugins=plugins, options=Options(environ=env))
    await client.connect()
    return client


async def _case(echo: _Echo, size: int, concurrency: int, plan: Plan) -> Result:
    """Throughput, and the CPU both processes spent per call (what the machine's noise moves least)."""
    body = payload(size)
    setup, client = echo.setup, echo.client
    provider.switch.on = setup.tracing  # this process's provider and /metrics were set up once, at the start
    exposition.switch.on = setup.metrics

    async def call() -> None:
        await client.client.call("bench-echo", "Echo.Echo", body)

    cpu = time.process_time() + _cpu_seconds(echo.pid)
    done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
    tracer_provider = trace.get_tracer_provider()
    if setup.tracing and isinstance(tracer_provider, TracerProvider):
        tracer_provider.force_flush()  # the export is part of the cost
    cpu = time.process_time() + _cpu_seconds(echo.pid) - cpu
    result = measure("observability", f"micro http, {setup.name}", done, seconds, latencies,
                     payload=size, concurrency=concurrency)  # fmt: skip
    result.params["cpu us/call"] = round(cpu / (done + min(200, plan.calls)) * 1e6, 1)
    return result


async def observability_cases(plan: Plan) -> list[Result]:
    """One echo process per setup, all started first; then the setups' calls in alternating rounds."""
    results: list[Result] = []
    port = free_port()
    sink = f"http://127.0.0.1:{port}"
    with ExitStack() as processes:
        processes.enter_context(Peer([str(PEERS / "otlp_sink.py"), str(port)]))
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink  # for this process's exporter only
        try:
            tracing = setup_tracing("bench-client")
        finally:
            del os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
        if tracing is not None:
            processes.callback(tracing.shutdown)  # before the sink stops (callbacks run last-in first-out)
        processes.callback(MetricsServer("127.0.0.1:0").close)
        echoes = []
        for setup in SETUPS:
            env, pid = processes.enter_context(_echo(setup, sink))
            echoes.append(_Echo(setup, await _client(setup, env), pid))
        try:
            for size in plan.payloads:
                for concurrency in plan.concurrency:
                    rounds: dict[str, list[Result]] = {echo.setup.name: [] for echo in echoes}
                    for _ in range(plan.rounds):
                        for echo in echoes:
                            rounds[echo.setup.name].append(await _case(echo, size, concurrency, plan))
                    results += _compared({name: median_round(measured) for name, measured in rounds.items()})
        finally:
            for echo in echoes:
                await echo.client.close()
            provider.switch.on = exposition.switch.on = False  # later groups run without them
    return results


def _compared(median: dict[str, Result]) -> list[Result]:
    """Each setup against the baseline: throughput, and throughput if CPU-bound (CPU per call)."""
    baseline = median[BASELINE]
    for name, result in median.items():
        if name != BASELINE and baseline.rate:
            result.ratios[BASELINE] = result.rate / baseline.rate
            cpu, base_cpu = result.params["cpu us/call"], baseline.params["cpu us/call"]
            assert isinstance(cpu, float) and isinstance(base_cpu, float)
            result.ratios[f"{BASELINE}, by CPU per call"] = base_cpu / cpu
    return list(median.values())
