"""Fixtures for the kernel's own tests: services as real OS processes on the embedded defaults."""

from __future__ import annotations

import runpy
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from micro_core import Options, Plugins, Service
from micro_core.testing.plugin import StartProcess
from micro_core.testing.processes import ServerProcess, wait_until

APPS = Path(__file__).parent / "apps"


@pytest.fixture
def defaults_env(micro_process_env: dict[str, str]) -> dict[str, str]:
    """``micro_process_env`` with the kernel tests' shorter TTLs and longer grace."""
    micro_process_env.update(
        {"MICRO_REGISTER_TTL": "2", "MICRO_REGISTER_INTERVAL": "0.5", "MICRO_SHUTDOWN_GRACE": "10"}
    )
    return micro_process_env


@pytest.fixture
def spawn_service(defaults_env: dict[str, str], micro_process: StartProcess) -> Callable[..., ServerProcess]:
    """Start ``tests/apps/<script>`` as a process (``micro_process``, on ``defaults_env``)."""

    def spawn(
        script: str = "echo_service.py", *args: str, env: dict[str, str] | None = None
    ) -> ServerProcess:
        return micro_process(sys.executable, APPS / script, *args, env=env)

    return spawn


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
