"""Start-up and memory: cold ``micro --help`` against ``import click``, time until a service
answers, and the resident size of an idle service."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import PEERS, Peer, Result
from micro_core import Options, Plugins, Service


def _best_of(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - began)
    return times


def cold_start(runs: int) -> list[Result]:
    click = _best_of([sys.executable, "-c", "import click"], runs)
    results = [
        Result(
            "startup",
            'python -c "import click"',
            runs,
            sum(click),
            statistics.median(click) * 1000,
            max(click) * 1000,
        )
    ]
    micro = shutil.which("micro", path=str(Path(sys.executable).parent))
    if micro is None:
        results[0].note = "the micro CLI is not installed: no comparison"
        return results
    help_times = _best_of([micro, "--help"], runs)
    result = Result(
        "startup",
        "micro --help",
        runs,
        sum(help_times),
        statistics.median(help_times) * 1000,
        max(help_times) * 1000,
    )
    result.ratios["import click"] = statistics.median(help_times) / statistics.median(click)
    results.append(result)
    return results


async def time_to_answer(runs: int) -> Result:
    """From process start until a call through the registry succeeds."""
    samples = []
    with tempfile.TemporaryDirectory() as registry:
        env = {**os.environ, "MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": registry}
        caller = Service("bench-caller", plugins=Plugins(autoload=False), options=Options(environ=env))
        await caller.connect()
        for _ in range(runs):
            began = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, str(PEERS / "micro_echo.py")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                async with asyncio.timeout(30):
                    while True:
                        try:
                            await caller.client.call("bench-echo", "Debug.Health", timeout=1)
                            break
                        except Exception:
                            await asyncio.sleep(0.005)
                samples.append(time.perf_counter() - began)
            finally:
                process.terminate()
                process.wait(20)
        await caller.close()
    return Result(
        "startup",
        "service start → first answered call",
        runs,
        sum(samples),
        statistics.median(samples) * 1000,
        max(samples) * 1000,
    )


def idle_memory() -> Result:
    with tempfile.TemporaryDirectory() as registry:
        env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": registry}
        with Peer([str(PEERS / "micro_echo.py")], env=env) as peer:
            time.sleep(1.0)
            pages = int(Path(f"/proc/{peer.pid}/statm").read_text().split()[1])
    rss_mb = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return Result(
        "memory", "idle service RSS (MiB)", 1, 0.0, rss_mb, rss_mb, note=f"{rss_mb:.1f} MiB resident"
    )
