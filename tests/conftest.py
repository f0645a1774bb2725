"""Fixtures for the kernel's own tests: services as real OS processes on the embedded defaults."""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from micro_core import Options, Plugins, Service
from micro_core.testing.processes import ServerProcess, wait_until

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def defaults_env(tmp_path: Path) -> dict[str, str]:
    """MICRO_* settings for processes sharing a private local registry with short TTLs."""
    return {
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "registry"),
        "MICRO_REGISTER_TTL": "2",
        "MICRO_REGISTER_INTERVAL": "0.5",
        "MICRO_SHUTDOWN_GRACE": "10",
    }


@pytest.fixture
def spawn_service(defaults_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``tests/apps/<script>`` as a process; every one is stopped after the test."""
    started: list[ServerProcess] = []

    def spawn(
        script: str = "echo_service.py", *args: str, env: dict[str, str] | None = None
    ) -> ServerProcess:
        log = tmp_path / f"{script}-{len(started)}.log"
        process = ServerProcess(
            [sys.executable, str(APPS / script), *args],
            port=0,
            ready_text="serving on",
            env={**os.environ, **defaults_env, **(env or {}), "PYTHONUNBUFFERED": "1"},
            log_path=log,
        )
        started.append(process)
        return process.start(timeout=30)

    yield spawn
    for process in started:
        process.stop()


@pytest.fixture
async def caller(defaults_env: dict[str, str]) -> AsyncIterator[Service]:
    """A client-only service on the same embedded defaults as ``spawn_service``'s processes."""
    service = Service(
        "caller", plugins=Plugins(autoload=False), options=Options(code={}, environ=defaults_env)
    )
    await service.connect()
    yield service
    await service.close()


__all__ = ["wait_until"]


@pytest.fixture(scope="session")
def gomicro_binary() -> Path:
    """The Go Micro v5 peer (``tests/gomicro``), built on first use and cached in ``.cache/gomicro``."""
    build = runpy.run_path(str(Path(__file__).parent / "gomicro" / "build.py"))["build"]
    try:
        return Path(build())
    except RuntimeError as exc:
        pytest.fail(str(exc))
