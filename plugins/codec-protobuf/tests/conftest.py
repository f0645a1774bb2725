"""Fixtures: code generated from protos/helloworld.proto by the real ``micro gen``, and
services run as real processes on a private local registry."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from micro_core.testing.processes import ServerProcess, free_port

HERE = Path(__file__).parent
PROTO = HERE / "protos" / "helloworld.proto"
APPS = HERE / "apps"
BIN = Path(sys.executable).parent
MICRO = str(BIN / "micro")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A directory with helloworld_pb2(.pyi), helloworld_micro.py (``micro gen``) and the stock
    grpcio stubs helloworld_pb2_grpc.py; importable from the tests while they run."""
    out = tmp_path_factory.mktemp("generated")
    subprocess.run([MICRO, "gen", str(PROTO), "--out", str(out)], check=True, capture_output=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO.parent}",
            f"--grpc_python_out={out}",
            str(PROTO),
        ],
        check=True,
        capture_output=True,
    )
    sys.path.insert(0, str(out))
    yield out
    sys.path.remove(str(out))
    for name in ("helloworld_pb2", "helloworld_pb2_grpc", "helloworld_micro"):
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def pb(generated: Path) -> ModuleType:
    """The generated message classes."""
    return importlib.import_module("helloworld_pb2")


@pytest.fixture(scope="session")
def micro_pb(generated: Path) -> ModuleType:
    """The generated micro client and server base."""
    return importlib.import_module("helloworld_micro")


@pytest.fixture
def micro_env(tmp_path: Path, generated: Path) -> dict[str, str]:
    """The environment of every process of one test: a private registry, the generated code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(generated), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "registry"),
        "MICRO_BROKER": "memory",
        "MICRO_SHUTDOWN_GRACE": "2",
        "MICRO_CLI_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def spawn(micro_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """``spawn(app, *args, env=...)`` starts ``apps/<app>.py`` on a free port (``{port}`` in
    args, or ``MICRO_SERVER_ADDRESS``) once it logs "serving on"; stopped after the test."""
    started: list[ServerProcess] = []

    def start(app: str, *args: str, env: dict[str, str] | None = None) -> ServerProcess:
        port = free_port()
        log = tmp_path / f"{app}-{len(started)}.log"
        process = ServerProcess(
            [sys.executable, str(APPS / f"{app}.py"), *(arg.format(port=port) for arg in args)],
            port=port,
            ready_text="serving on",
            env={**micro_env, "MICRO_SERVER_ADDRESS": f"127.0.0.1:{port}", **(env or {})},
            log_path=log,
            name=app,
        )
        started.append(process)
        return process.start(timeout=60)

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def micro(micro_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``micro(*args)`` runs the installed ``micro`` executable in the test's environment."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MICRO, *args], env={**micro_env, **(env or {})}, capture_output=True, text=True, timeout=60
        )

    return run
