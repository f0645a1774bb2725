"""``python -m benchmarks [--quick] [--only GROUP…]``: every case, baselines in the same run,
results in benchmarks/RESULTS.md and benchmarks/RESULTS.json.

Every case is bounded in calls and seconds; the full run takes under 10 minutes on
2 cores, ``--quick`` under one. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable
from pathlib import Path

from benchmarks import rpc, startup
from benchmarks.harness import Result, machine
from benchmarks.report import write_report
from micro_core import run

HERE = Path(__file__).resolve().parent

FULL = rpc.Plan(payloads=(100, 4096), concurrency=(1, 16, 64), calls=20000, max_seconds=20)
QUICK = rpc.Plan(payloads=(100,), concurrency=(1, 64), calls=3000, max_seconds=5)


def compare(result: Result, baselines: Iterable[Result]) -> Result:
    for baseline in baselines:
        if baseline.rate:
            result.ratios[baseline.name] = result.rate / baseline.rate
    return result


async def rpc_cases(plan: rpc.Plan, results: list[Result]) -> None:
    for size in plan.payloads:
        for concurrency in plan.concurrency:
            floor = await rpc.bench_asyncio_echo(size, concurrency, plan)
            raw = await rpc.bench_raw_grpc(size, concurrency, plan)
            http = await rpc.bench_micro("http", size, concurrency, plan)
            grpc = await rpc.bench_micro("grpc", size, concurrency, plan)
            results += [floor, raw, compare(http, [raw, floor]), compare(grpc, [raw])]
            if raw.p50_ms:
                http.ratios["p50 / raw grpc.aio p50"] = http.p50_ms / raw.p50_ms
                grpc.ratios["p99 / raw grpc.aio p99"] = grpc.p99_ms / raw.p99_ms
    size, concurrency = plan.payloads[0], plan.concurrency[-1]
    direct = await rpc.bench_micro("http", size, concurrency, plan, direct=True)
    through_registry = next(
        r
        for r in results
        if r.name == "micro http" and r.params == {"payload": size, "concurrency": concurrency}
    )
    results.append(compare(direct, []))
    through_registry.ratios["direct address"] = through_registry.rate / direct.rate
    messages = plan.calls // 4
    raw_stream = await rpc.bench_stream_grpc(messages, plan)
    results += [raw_stream, compare(await rpc.bench_stream_micro(messages, plan), [raw_stream])]


async def main(quick: bool, only: set[str]) -> list[Result]:
    results: list[Result] = []
    if not only or "rpc" in only:
        await rpc_cases(QUICK if quick else FULL, results)
    if not only or "startup" in only:
        results += startup.cold_start(5 if quick else 20)
        results.append(await startup.time_to_answer(2 if quick else 5))
        results.append(startup.idle_memory())
    return results


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute), as CI runs it")
    parser.add_argument("--only", nargs="*", default=[], help="groups to run: rpc, startup")
    args = parser.parse_args()
    began = time.monotonic()
    results = run(main(args.quick, set(args.only)))
    info = {
        **machine(),
        "mode": "quick" if args.quick else "full",
        "wall_seconds": round(time.monotonic() - began, 1),
    }
    (HERE / "RESULTS.json").write_text(
        json.dumps({"machine": info, "results": [r.row() for r in results]}, indent=2)
    )
    write_report(HERE / "RESULTS.md", info, results)
    print((HERE / "RESULTS.md").read_text())


if __name__ == "__main__":
    cli()
