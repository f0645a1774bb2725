"""Start and stop real server processes (Consul, RabbitMQ, Kafka, services) from tests.

A server is started on loopback, waited for until a readiness probe passes, and
stopped by PID; the stop waits for the port to close rather than for the PID to
vanish, because a stopped daemon lingers briefly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
        return True
    return False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``predicate`` until it is true; ``TimeoutError`` naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f}s")
        time.sleep(interval)


class ServerProcess:
    """One background server process with a readiness probe and a clean stop."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        ready: Callable[[], bool] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        ready_text: str = "",
        name: str = "",
    ) -> None:
        """``ready`` probes readiness; by default the port answers, or with ``ready_text`` the
        log (``log_path``) contains that text, e.g. a service's "serving on" line."""
        self.argv = list(argv)
        self.port = port
        self.log_path = Path(log_path) if log_path else None
        if ready is None:
            ready = self._logged if ready_text else lambda: port_open(port)
        self.ready = ready
        self.ready_text = ready_text
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.name = name or Path(self.argv[0]).name
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        if self.log_path:
            with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
                self.process = self._spawn(log)
        else:
            self.process = self._spawn(subprocess.DEVNULL)

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode} before it was ready{self._log_tail()}"
                )
            return self.ready()

        try:
            wait_until(ready, timeout, self.name)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, output: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _logged(self) -> bool:
        log = self.log_path
        return log is not None and log.exists() and self.ready_text in log.read_text(errors="replace")

    def _log_tail(self) -> str:
        if self.log_path and self.log_path.exists():
            return ":\n" + self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a crash would; does not wait."""
        self.signal(signal.SIGKILL)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; returns once the port is closed."""
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(5)
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: not port_open(self.port), 10, f"{self.name} port {self.port} to close")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
