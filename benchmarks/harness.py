"""Measuring: run a bounded number of calls at a fixed concurrency, record throughput and latency."""

from __future__ import annotations

import asyncio
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.servers import Unavailable

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / "peers"

Call = Callable[[], Awaitable[object]]


@dataclass
class Result:
    """One measured case."""

    group: str
    name: str
    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    params: dict[str, object] = field(default_factory=dict)
    #: Throughput (or, for start-up and memory, cost) as a ratio to each named baseline of the same run.
    ratios: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def row(self) -> dict[str, object]:
        return {**asdict(self), "rate": round(self.rate, 1)}


def percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    if not ordered:
        return 0.0, 0.0
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def drive(
    call: Call, concurrency: int, calls: int, max_seconds: float
) -> tuple[int, float, list[float]]:
    """``calls`` calls spread over ``concurrency`` workers, stopping early after ``max_seconds``."""
    for _ in range(min(200, calls)):
        await call()  # warm up connections, caches and code paths
    latencies: list[float] = []
    remaining = calls
    stop_at = time.perf_counter() + max_seconds

    async def worker() -> None:
        nonlocal remaining
        clock = time.perf_counter
        while remaining > 0 and clock() < stop_at:
            remaining -= 1
            began = clock()
            await call()
            latencies.append(clock() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), time.perf_counter() - began, latencies


def measure(
    group: str, name: str, done: int, seconds: float, latencies: list[float], **params: object
) -> Result:
    p50, p99 = percentiles(latencies)
    return Result(group, name, done, seconds, p50, p99, dict(params))


def median_round(results: Sequence[Result]) -> Result:
    """The round with the median rate, its p50 and p99 the medians of the rounds' own; its note
    lists every round's rate, so the spread shows.

    Cases compared with each other run in alternating rounds, so that the machine's
    noise (easily ±30% between two runs of one case here) hits all of them alike. Each
    statistic is a median over the rounds on its own: one round's stall moves one round's
    p99, and the ratio of two p99s should not hang on a single round.
    """
    middle = sorted(results, key=lambda r: r.rate)[len(results) // 2]
    if len(results) > 1:
        middle.p50_ms = statistics.median(r.p50_ms for r in results)
        middle.p99_ms = statistics.median(r.p99_ms for r in results)
        rates = ", ".join(f"{r.rate:,.0f}" for r in results)
        middle.note = "; ".join(filter(None, [f"median of {len(results)} rounds ({rates}/s)", middle.note]))
    return middle


class Peer:
    """A benchmark server in its own process, ready once it prints a line containing one of
    ``ready`` (by default ``ready`` or, for micro services, ``serving on``)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        ready: Sequence[str] = ("ready", "serving on"),
    ):
        self.argv = [python, *argv]
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.ready = tuple(ready)
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Peer:
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        for line in self.process.stdout:
            if any(marker in line for marker in self.ready):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.argv} not ready")
        else:
            raise RuntimeError(f"{self.argv} exited: {self.process.wait()}")
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def pinned(core: int, argv: list[str]) -> list[str]:
    """``argv`` run on ``core`` only (``taskset``), where the machine has more than one."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(core), *argv] if taskset and (os.cpu_count() or 1) > 1 else argv


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (``/proc/PID/stat`` fields 14 and 15): the load
    of a shared machine moves it far less than a rate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk(url: str, seconds: int, connections: int) -> tuple[int, float, float, float]:
    """Requests done, seconds, p50 and p99 in ms, from ``wrk --latency`` on core 1.

    :raises Unavailable: wrk is not installed.
    """
    binary = shutil.which("wrk")
    if binary is None:
        raise Unavailable("wrk is not installed (scripts/servers/wrk.sh install)")
    output = subprocess.run(
        pinned(1, [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]),
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    if done is None or "Non-2xx" in output:
        raise RuntimeError(f"wrk against {url} failed:\n{output}")

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(found.group(1)) * _UNITS[found.group(2)] if found else 0.0

    elapsed = float(done.group(2)) * (60 if done.group(3) == "m" else 1)
    return int(done.group(1)), elapsed, latency("50"), latency("99")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: the machine is shared, so figures carry their noise."""
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def machine() -> dict[str, object]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
