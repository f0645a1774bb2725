"""Fixtures: the services and gateways of the tests, each a real process on a private local registry.

One set of services per test session (the greeter, the shop with its streams and
protobuf endpoint, the same shop as ``acme.depot``, and an aiohttp app registered with
``protocol: http``), and three gateways in front of them:

- ``gateway``: ``--enable-rpc``, ``X-Caller`` passed on as metadata;
- ``strict``: ``--namespace acme``, JWT and token auth required, 5 requests/s per
  client, 1 KiB bodies;
- ``events``: ``--handler event --namespace acme``.

A gateway runs as ``python -m micro_api`` (the click command ``micro api`` loads); one
test runs it through the ``micro`` executable with global flags.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from micro_core.testing.processes import ServerProcess, free_port, wait_until

HERE = Path(__file__).parent
APPS = HERE / "apps"
GREETER = HERE.parents[2] / "examples" / "greeter" / "greeter.py"
MICRO = str(Path(sys.executable).parent / "micro")
JWT_KEY = "the-gateway-test-secret-of-32-bytes!"
STATIC_TOKEN = "ci-token"


@dataclass
class Stack:
    """Where the session's processes are and the environment they share."""

    env: dict[str, str]
    tmp: Path
    processes: list[ServerProcess]

    def start(self, argv: list[str], name: str, port: int = 0, ready_text: str = "") -> ServerProcess:
        log = self.tmp / f"{name}.log"
        process = ServerProcess(
            argv,
            port=port or free_port(),
            env=self.env,
            log_path=log,
            ready_text=ready_text or "serving on",
            name=name,
        )
        process.start(timeout=60)
        self.processes.append(process)
        return process

    def service(self, script: Path, *args: str, name: str = "") -> ServerProcess:
        return self.start([sys.executable, str(script), *args], name or script.stem)

    def gateway(self, name: str, *flags: str, argv: list[str] | None = None) -> Gateway:
        """Start a gateway (``python -m micro_api``, or ``argv``) with ``flags``; ready once it
        printed its route table."""
        port = free_port()
        command = argv or [sys.executable, "-m", "micro_api"]
        address = ["--address", f"127.0.0.1:{port}"]
        process = self.start([*command, *address, *flags], name, port, ready_text="micro api listening on")
        return Gateway(f"http://127.0.0.1:{port}", process)


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Gateway:
    """A running gateway: its base URL and process."""

    url: str
    process: ServerProcess

    def get(self, path: str) -> Any:
        """The JSON answer to ``GET path`` (urllib: usable from sync and async tests alike)."""
        return get_json(self.url + path)

    def routes(self) -> list[dict[str, Any]]:
        routes: list[dict[str, Any]] = self.get("/routes")
        return routes

    def wait_for(self, service: str, present: bool = True, timeout: float = 20.0) -> None:
        """Until ``service`` is (or is no longer) in the gateway's routes."""

        def seen() -> bool:
            return any(row["service"] == service for row in self.routes()) is present

        wait_until(seen, timeout, f"{service} {'in' if present else 'out of'} {self.url}/routes")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``inventory_pb2`` generated from tests/protos by protoc (grpcio-tools)."""
    out = tmp_path_factory.mktemp("pb")
    protos = HERE / "protos"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{protos}", f"--python_out={out}", "inventory.proto"],
        check=True,
        cwd=protos,
    )
    return out


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, generated: Path) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    env.update(
        MICRO_REGISTRY="local",
        MICRO_REGISTRY_ADDRESS=str(tmp / "registry"),
        MICRO_TRANSPORT="http",
        MICRO_BROKER="http",
        MICRO_REGISTER_TTL="3",
        MICRO_REGISTER_INTERVAL="1",
        MICRO_SHUTDOWN_GRACE="1",
        MICRO_CLI_CACHE_DIR=str(tmp / "cli-cache"),
        PYTHONPATH=os.pathsep.join([str(generated), env.get("PYTHONPATH", "")]),
    )
    stack = Stack(env, tmp, [])
    try:
        stack.service(GREETER)
        stack.service(APPS / "shop.py")
        stack.service(APPS / "shop.py", "acme.depot", name="depot")
        port = free_port()
        stack.start([sys.executable, str(APPS / "webapp.py"), str(port)], "webapp", port)
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()


def _ready(gateway: Gateway, *services: str) -> Gateway:
    for service in services:
        gateway.wait_for(service)
    return gateway


@pytest.fixture(scope="session")
def gateway(stack: Stack) -> Gateway:
    gateway = stack.gateway("gateway", "--enable-rpc", "--metadata-header", "X-Caller")
    return _ready(gateway, "greeter", "shop", "storefront")


@pytest.fixture(scope="session")
def strict(stack: Stack) -> Gateway:
    gateway = stack.gateway(
        "strict",
        "--namespace", "acme",
        "--auth",
        "--jwt-key", JWT_KEY,
        "--auth-token", f"ci={STATIC_TOKEN}",
        "--rate-limit", "5",
        "--rate-burst", "5",
        "--max-body", "1k",
    )  # fmt: skip
    return _ready(gateway, "acme.depot")


@pytest.fixture(scope="session")
def events(stack: Stack) -> Gateway:
    return stack.gateway("events", "--handler", "event", "--namespace", "acme")


@pytest.fixture(scope="session")
def micro() -> str:
    """The ``micro`` executable of this environment."""
    return MICRO
