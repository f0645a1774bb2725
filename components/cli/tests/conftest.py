"""Fixtures: the real ``micro`` executable, run against services as real processes on the
embedded defaults (local registry in a tmp dir, HTTP transport, HTTP broker)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from micro_core.testing.plugin import StartProcess
from micro_core.testing.processes import ServerProcess

APPS = Path(__file__).parent / "apps"
MICRO = str(Path(sys.executable).parent / "micro")


class Result:
    """What one ``micro`` run printed and returned."""

    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.code = done.returncode
        self.out = done.stdout
        self.err = done.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[-800:]!r}, err={self.err[-800:]!r})"


@pytest.fixture
def micro_env(micro_process_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of every process of one test: ``micro_process_env`` (a private local
    registry, short TTLs) with a private CLI cache."""
    micro_process_env["MICRO_CLI_CACHE_DIR"] = str(tmp_path / "cache")
    return micro_process_env


@pytest.fixture
def micro(micro_env: dict[str, str]) -> Callable[..., Result]:
    """``micro(*args, input=..., env=...)`` runs the installed executable and returns its Result."""

    def run(*args: str, input: str = "", env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        done = subprocess.run(
            [MICRO, *args],
            input=input,
            env={**micro_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(done)

    return run


@pytest.fixture
def spawn(micro_env: dict[str, str], micro_process: StartProcess) -> StartProcess:
    """``micro_process`` on ``micro_env``: start a process that logs "serving on" once ready."""
    return micro_process


@pytest.fixture
def apps() -> Path:
    """The directory of the sample services."""
    return APPS


@pytest.fixture
def shop(spawn: Callable[..., ServerProcess]) -> ServerProcess:
    """The shop service (tests/apps/shop.py) running on the defaults."""
    return spawn(sys.executable, str(APPS / "shop.py"))
