"""``python -m benchmarks [--quick] [--only GROUP…]``: every case, baselines in the same run,
results in benchmarks/RESULTS.md and benchmarks/RESULTS.json.

Every case is bounded in calls and seconds; the full run takes under 10 minutes on
2 cores, ``--quick`` under one. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

from benchmarks import brokers, codecs, gomicro, nameko, rpc, sidecar, startup, web
from benchmarks.harness import Result, load_average, machine, median_round
from benchmarks.report import write_report
from benchmarks.servers import Unavailable, kafka, rabbitmq
from micro_core import run

HERE = Path(__file__).resolve().parent

#: Bounded by time more than by count: the fast cases make 40 000 calls in well under a second
#: each, the gRPC ones stop at 3 s, so every round lasts long enough to mean something.
FULL = rpc.Plan(payloads=(100, 4096), concurrency=(1, 16, 64), calls=40000, max_seconds=3, rounds=5)
QUICK = rpc.Plan(payloads=(100,), concurrency=(1, 64), calls=3000, max_seconds=5)
#: nameko runs a few hundred calls a second: fewer calls keep its cases near 10 s each.
NAMEKO = rpc.Plan(payloads=(100,), concurrency=(1, 16), calls=3000, max_seconds=10)
#: Throughput with 64 publishes awaiting confirmation, then the latency of one message at a time.
BROKERS_FULL = (brokers.Plan(10000, window=64, max_seconds=20, rounds=7), brokers.Plan(1000, 1, 10, rounds=3))
BROKERS_QUICK = (brokers.Plan(1000, window=64, max_seconds=5), brokers.Plan(200, 1, 3))
GROUPS = ("rpc", "broker", "codec", "startup", "gomicro", "sidecar", "web", "observability", "gateway")
CODEC_FULL = rpc.Plan(payloads=(100, 4096), concurrency=(1, 64), calls=5000, max_seconds=10)
#: Go Micro's client runs every call it is given (no time bound): counts sized for ~2 s a case.
GOMICRO_FULL = rpc.Plan(payloads=(100,), concurrency=(1, 16, 64), calls=10000, max_seconds=5, rounds=3)
GOMICRO_QUICK = rpc.Plan(payloads=(100,), concurrency=(1, 16, 64), calls=1500, max_seconds=2)
CODEC_QUICK = rpc.Plan(payloads=(100,), concurrency=(64,), calls=2000, max_seconds=5)


def compare(result: Result, baselines: Iterable[Result]) -> Result:
    for baseline in baselines:
        if baseline.rate:
            result.ratios[baseline.name] = result.rate / baseline.rate
    return result


async def rpc_cases(plan: rpc.Plan, results: list[Result], amqp: str | None) -> None:
    nameko_rows: dict[int, Result] = {}
    if amqp is not None:
        python = nameko.nameko_python()
        for concurrency in NAMEKO.concurrency:
            nameko_rows[concurrency] = nameko.bench_nameko(
                python, amqp, NAMEKO.payloads[0], concurrency, NAMEKO.calls, NAMEKO.max_seconds
            )
    widest = (plan.payloads[0], plan.concurrency[-1])
    for size in plan.payloads:
        for concurrency in plan.concurrency:
            cases: dict[str, Callable[[], Awaitable[Result]]] = {
                "floor": functools.partial(rpc.bench_asyncio_echo, size, concurrency, plan),
                "raw": functools.partial(rpc.bench_raw_grpc, size, concurrency, plan),
                "http": functools.partial(rpc.bench_micro, "http", size, concurrency, plan),
                "grpc": functools.partial(rpc.bench_micro, "grpc", size, concurrency, plan),
            }
            if (size, concurrency) == widest:  # the registry's cost: the same calls to a fixed address
                cases["direct"] = functools.partial(
                    rpc.bench_micro, "http", size, concurrency, plan, direct=True
                )
            rounds: dict[str, list[Result]] = {name: [] for name in cases}
            for _ in range(plan.rounds):
                for name, case in cases.items():
                    rounds[name].append(await case())
            median = {name: median_round(measured) for name, measured in rounds.items()}
            floor, raw, http, grpc = median["floor"], median["raw"], median["http"], median["grpc"]
            peer = (
                [nameko_rows.pop(concurrency)]
                if size == NAMEKO.payloads[0] and concurrency in nameko_rows
                else []
            )
            results += [floor, raw, *peer, compare(http, [raw, floor, *peer]), compare(grpc, [raw])]
            if raw.p50_ms:
                http.ratios["p50 / raw grpc.aio p50"] = http.p50_ms / raw.p50_ms
                grpc.ratios["p99 / raw grpc.aio p99"] = grpc.p99_ms / raw.p99_ms
            if "direct" in median:
                results.append(median["direct"])
                http.ratios["direct address"] = http.rate / median["direct"].rate
    results += nameko_rows.values()  # at a concurrency the plan does not run micro at
    messages = min(plan.calls // 4, 5000)
    raw_stream = await rpc.bench_stream_grpc(messages, plan)
    results += [raw_stream, compare(await rpc.bench_stream_micro(messages, plan), [raw_stream])]


async def broker_cases(
    plans: Sequence[brokers.Plan], results: list[Result], amqp: str | None, kafka: str | None
) -> None:
    results += await brokers.builtin_cases(plans)
    if amqp is not None:
        results += await brokers.rabbitmq_cases(amqp, plans)
    if kafka is not None:
        results += await brokers.kafka_cases(kafka, plans)


async def main(quick: bool, only: set[str], skipped: list[str]) -> list[Result]:
    """Every group asked for; what could not run is said in ``skipped``, never silently left out."""
    results: list[Result] = []
    wanted = only or set(GROUPS)
    with ExitStack() as servers:

        def start(name: str, server: Callable[[], AbstractContextManager[str]]) -> str | None:
            try:
                return servers.enter_context(server())
            except Unavailable as exc:
                skipped.append(f"{name}: {exc}")
                return None

        needs_rabbitmq = "broker" in wanted or ("rpc" in wanted and not quick)
        amqp = start("RabbitMQ cases", rabbitmq) if needs_rabbitmq else None
        if "rpc" in wanted:
            if quick:
                skipped.append("nameko: not in --quick (its own venv and ~25 s of calls)")
            await rpc_cases(QUICK if quick else FULL, results, None if quick else amqp)
        if "broker" in wanted:
            kafka_address = start("Kafka cases", kafka)
            await broker_cases(BROKERS_QUICK if quick else BROKERS_FULL, results, amqp, kafka_address)
    if "codec" in wanted:
        if importlib.util.find_spec("micro_codec_protobuf") is None:
            skipped.append("codec: the micro-codec-protobuf plugin is not installed")
        else:
            results += await codecs.bench_codecs(CODEC_QUICK if quick else CODEC_FULL)
    if "gomicro" in wanted:
        try:
            results += await gomicro.gomicro_cases(GOMICRO_QUICK if quick else GOMICRO_FULL)
        except gomicro.Unavailable as exc:
            skipped.append(f"gomicro: {exc}")
    if "startup" in wanted:
        results += startup.cold_start(5 if quick else 20)
        results.append(await startup.time_to_answer(2 if quick else 5))
        results.append(startup.idle_memory())
    if "sidecar" in wanted:
        results += await sidecar.sidecar_cases(quick, skipped)
    if "web" in wanted:
        results += await web.web_cases(quick, skipped)
    if "gateway" in wanted:
        from benchmarks import gateway  # imports micro_api: only when the group runs

        results += await gateway.gateway_cases(quick, skipped)
    if "observability" in wanted:
        from benchmarks import observability  # imports the plugins: only when the group runs

        plan = observability.QUICK if quick else observability.FULL
        results += await observability.observability_cases(plan)
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute), as CI runs it")
    parser.add_argument("--only", nargs="*", default=[], choices=GROUPS, help="groups to run (default: all)")
    parser.add_argument(
        "--output", type=Path, default=HERE, help="folder for RESULTS.md and RESULTS.json (default: here)"
    )
    args = parser.parse_args()
    began = time.monotonic()
    load_before = load_average()
    skipped: list[str] = []
    results = run(main(args.quick, set(args.only), skipped))
    info = {
        **machine(),
        "load average (1/5/15 min) before": load_before,
        "load average (1/5/15 min) after": load_average(),
        "mode": "quick" if args.quick else "full",
        "wall_seconds": round(time.monotonic() - began, 1),
        "skipped": "; ".join(skipped) or "nothing",
    }
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "RESULTS.json").write_text(
        json.dumps({"machine": info, "results": [r.row() for r in results]}, indent=2)
    )
    write_report(args.output / "RESULTS.md", info, results)
    print((args.output / "RESULTS.md").read_text())


if __name__ == "__main__":
    cli()
