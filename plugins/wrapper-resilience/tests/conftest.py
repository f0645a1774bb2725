"""Flaky service processes on a private local registry, and a caller with the resilience plugin."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import micro_wrapper_resilience.plugin
from micro_core import Plugins, Service
from micro_core.options import Options
from micro_core.testing.processes import ServerProcess

APP = Path(__file__).parent / "flaky_app.py"


@pytest.fixture
def registry(tmp_path: Path) -> str:
    return str(tmp_path / "registry")


@pytest.fixture
def flaky(registry: str, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start flaky nodes (extra MICRO_* settings as keywords); all stopped after the test."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        process = ServerProcess(
            [sys.executable, str(APP)],
            port=0,
            ready_text="serving on",
            env={
                **os.environ,
                "MICRO_REGISTRY": "local",
                "MICRO_REGISTRY_ADDRESS": registry,
                "MICRO_DISABLE_PLUGIN_AUTOLOAD": "1" if env.pop("plain", "") else "",
                "PYTHONUNBUFFERED": "1",
                **{f"MICRO_{name.upper()}": value for name, value in env.items()},
            },
            log_path=tmp_path / f"flaky-{len(started)}.log",
        )
        started.append(process.start(timeout=30))
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
async def caller(registry: str) -> AsyncIterator[Callable[..., Awaitable[Service]]]:
    """A connected caller; ``resilient=False`` leaves the plugin out, settings as keywords."""
    made: list[Service] = []

    async def make(resilient: bool = True, **settings: Any) -> Service:
        plugins = Plugins(autoload=False)
        if resilient:
            plugins.register(micro_wrapper_resilience.plugin)
        options = Options(code={"registry": "local", "registry_address": registry, **settings}, environ={})
        service = Service("caller", plugins=plugins, options=options)
        await service.connect()
        made.append(service)
        return service

    yield make
    for service in made:
        await service.close()
