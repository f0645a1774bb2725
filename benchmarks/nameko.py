"""nameko's RPC over RabbitMQ, the Python peer framework the issue compares micro with.

nameko 2.14 runs on eventlet, which monkey-patches the standard library, so it never
enters the project's venv: it gets a venv of its own under the git-ignored ``.cache``,
made once and reused. The service runs under ``nameko run``, the client in a second
process; both only ever talk to the RabbitMQ node the caller started.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from benchmarks.harness import PEERS, ROOT, Peer, Result, measure

VENV = ROOT / ".cache" / "bench-nameko-venv"
#: nameko's CLI imports pkg_resources, which a venv of Python 3.12+ no longer brings along.
REQUIREMENTS = ("nameko==2.14.1", "setuptools<81")
NAME = "nameko (RabbitMQ)"


def nameko_python() -> str:
    """The python of nameko's venv, created and filled on first use (a marker file makes it idempotent)."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    wanted = " ".join(REQUIREMENTS)
    if marker.exists() and marker.read_text() == wanted:
        return str(python)
    print(f"benchmarks: installing {wanted} into {VENV}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=300)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS],
        check=True,
        timeout=600,
    )
    marker.write_text(wanted)
    return str(python)


def bench_nameko(
    python: str, amqp_uri: str, size: int, concurrency: int, calls: int, max_seconds: float
) -> Result:
    """``calls`` echo calls of ``size`` bytes from ``concurrency`` green threads, at most ``max_seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as config:
        # JSON is YAML. nameko runs 10 workers by default; it gets as many as there are callers.
        json.dump({"AMQP_URI": amqp_uri, "max_workers": max(10, concurrency)}, config)
        config.flush()
        service = ["-m", "nameko", "run", "--config", config.name, "nameko_echo"]
        with Peer(service, env={"PYTHONPATH": str(PEERS)}, python=python, ready=["Connected to"]):
            argv = [str(PEERS / "nameko_client.py"), amqp_uri, str(concurrency), str(calls), str(size)]
            out = subprocess.run(
                [python, *argv, str(max_seconds)],
                capture_output=True,
                text=True,
                timeout=max_seconds + 120,
                check=False,
            )
    if out.returncode != 0:
        raise RuntimeError(f"nameko client failed ({out.returncode}):\n{out.stderr[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return measure(
        "rpc", NAME, data["calls"], data["seconds"], data["latencies"], payload=size, concurrency=concurrency
    )
