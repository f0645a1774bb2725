"""Fixtures: a real ``micro sidecar`` process, the Node.js app beside it, and Python services,
all on the embedded defaults (local registry in a tmp dir, HTTP transport, HTTP broker)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from micro_core import Options, Service, errors
from micro_core.testing.processes import ServerProcess, free_port

NODE_APP = Path(__file__).parent / "node" / "app.js"
MICRO = str(Path(sys.executable).parent / "micro")
#: The Node app's endpoints, as a file for ``--endpoints``.
NODE_ENDPOINTS = ["Greeter.Hello", "Greeter.Relay", "Greeter.Announce", "Greeter.Seen", "Greeter.Fail"]


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    """The kernel settings every process of one test shares: a private registry, short TTLs."""
    return {
        "registry": "local",
        "registry_address": str(tmp_path / "registry"),
        "transport": "http",
        "broker": "http",
        "register_ttl": 3.0,
        "register_interval": 1.0,
        "shutdown_grace": 2.0,
    }


@pytest.fixture
def env(settings: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    """The same settings as ``MICRO_*`` variables, for the processes a test starts."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    return {
        **clean,
        **{f"MICRO_{name.upper()}": str(value) for name, value in settings.items()},
        "MICRO_CLI_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def micro() -> str:
    """The ``micro`` executable of this environment."""
    return MICRO


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Every process a test starts, stopped after it (SIGTERM, then SIGKILL)."""
    started: list[ServerProcess] = []
    yield started
    for process in reversed(started):
        process.stop()


@pytest.fixture
def start_sidecar(
    env: dict[str, str], tmp_path: Path, processes: list[ServerProcess]
) -> Callable[..., Sidecar]:
    """``start_sidecar(*flags)``: ``micro sidecar`` on a port of its own, ready once it serves."""

    def start(*flags: str, extra_env: dict[str, str] | None = None) -> Sidecar:
        log = tmp_path / f"sidecar-{len(processes)}.log"
        process = ServerProcess(
            [MICRO, "sidecar", "--address", "127.0.0.1:0", *flags],
            port=0,
            ready_text="serving on",
            env={**env, **(extra_env or {})},
            log_path=log,
            name="micro sidecar",
        )
        processes.append(process)
        process.start(timeout=30)
        # Port 0 and the port it printed: no other process can take a port picked in advance.
        address = log.read_text().split("serving on ", 1)[1].split()[0]
        process.port = int(address.rsplit(":", 1)[1])
        return Sidecar(process, f"http://{address}", log)

    return start


@pytest.fixture
def start_node(env: dict[str, str], tmp_path: Path, processes: list[ServerProcess]) -> Callable[..., NodeApp]:
    """``start_node(sidecar_url)``: the Node.js app on a free port, talking to that sidecar."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: run scripts/servers/node.sh install")

    def start(sidecar: str, port: int | None = None, token: str = "") -> NodeApp:
        port = port or free_port()
        process = ServerProcess(
            [node, "--no-warnings", "--experimental-websocket", str(NODE_APP)],
            port=port,
            env={**env, "PORT": str(port), "SIDECAR": sidecar, "SIDECAR_TOKEN": token},
            log_path=tmp_path / f"node-{port}.log",
            name="node app",
        )
        processes.append(process)
        process.start(timeout=30)
        return NodeApp(process, f"http://127.0.0.1:{port}", port)

    return start


@pytest.fixture
def endpoints_file(tmp_path: Path) -> Path:
    import json

    path = tmp_path / "endpoints.json"
    path.write_text(json.dumps(NODE_ENDPOINTS))
    return path


@pytest.fixture
async def kernel(settings: dict[str, Any]) -> AsyncIterator[Callable[..., Any]]:
    """``await kernel(name, *handlers, setup=fn, **settings)``: a Python service in this process,
    started (or only connected, with no handlers and no setup), stopped after the test."""
    started: list[tuple[Service, bool]] = []

    async def start(
        name: str, *handlers: object, setup: Callable[[Service], None] | None = None, **overrides: Any
    ) -> Service:
        service = Service(
            name, handlers=handlers, options=Options(code={**settings, **overrides}, environ={})
        )
        serving = bool(handlers or setup)
        if setup is not None:
            setup(service)
        await (service.start() if serving else service.connect())
        started.append((service, serving))
        return service

    yield start
    for service, serving in reversed(started):
        await (service.stop() if serving else service.close())


@dataclass
class Item:
    sku: str


@dataclass
class Price:
    sku: str
    cents: int


class Prices:
    """The Python service apps call through the sidecar."""

    async def get(self, item: Item) -> Price:
        if item.sku == "none":
            raise errors.NotFound(f"no price for {item.sku}", id="prices")
        return Price(item.sku, 250)


@pytest.fixture
async def prices(kernel: Callable[..., Any]) -> Service:
    """The ``prices`` service running in this process."""
    service: Service = await kernel("prices", Prices())
    return service


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Sidecar:
    """A running sidecar: its process, base URL and log."""

    def __init__(self, process: ServerProcess, url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


class NodeApp:
    def __init__(self, process: ServerProcess, url: str, port: int) -> None:
        self.process = process
        self.url = url
        self.port = port
