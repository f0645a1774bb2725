"""micro and Go Micro v5 through one Consul agent: calls, errors, metadata, listings and events both ways.

The Go side is a real Go Micro program (``tests/gomicro``, built from the Go module
proxy and cached), so these tests hold micro to Go Micro's wire formats as Go Micro
writes and reads them. The Python service runs as its own process
(``tests/apps/gomicro_greeter.py``); the Python client runs in the test.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.wrappers_pb2 import StringValue

from micro_core import Options, Plugins, Service, errors
from micro_core.testing.processes import ServerProcess, free_port, wait_until

# The first test may build the Go peer (~1 minute on a cold Go module cache).
pytestmark = pytest.mark.timeout(300)

APP = Path(__file__).parent / "apps" / "gomicro_greeter.py"
SEQUENTIAL = 500
CONCURRENT = 64


class GoMicro:
    """Runs the Go peer's commands against one registry, each Go process with a private HOME."""

    def __init__(self, binary: Path, registry: str, home: Path) -> None:
        self.binary = binary
        self.registry = registry
        self.env = {**os.environ, "HOME": str(home)}  # Go Micro's store writes under $HOME

    def run(self, command: str, *args: str, timeout: float = 120) -> dict[str, Any]:
        """Run a command to its end and return the JSON object it printed last."""
        done = subprocess.run(
            [str(self.binary), command, "-registry", self.registry, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )
        assert done.returncode == 0, f"gomicro {command} failed: {done.stderr[-2000:]}"
        return json.loads(_json_lines(done.stdout)[-1])

    def start(self, command: str, *args: str, log: Path) -> ServerProcess:
        """Start a long-running command (``serve``, ``subscribe``); ready once it printed ``ready``."""
        process = ServerProcess(
            [str(self.binary), command, "-registry", self.registry, *args],
            port=0,
            env=self.env,
            log_path=log,
            ready_text='"ready"',
            name=f"gomicro {command}",
        )
        return process.start(timeout=30)


def _json_lines(text: str) -> list[str]:
    """The peer's own output: Go Micro logs to the same streams, in lines that are not JSON objects."""
    return [line for line in text.splitlines() if line.startswith("{")]


def _log_objects(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _json_lines(log.read_text(errors="replace"))]


@pytest.fixture(scope="module")
def consul_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev-mode Consul agent on free loopback ports, for this module."""
    if shutil.which("consul") is None:
        pytest.fail("consul is not installed: run scripts/servers/consul.sh install")
    directory = tmp_path_factory.mktemp("consul")
    port = free_port()
    ports = {"serf_lan": free_port(), "serf_wan": free_port(), "server": free_port(), "dns": -1, "grpc": -1}
    config = directory / "agent.hcl"
    config.write_text("ports {\n" + "".join(f"  {k} = {v}\n" for k, v in ports.items()) + "}\n")
    agent = ServerProcess(
        [
            *("consul", "agent", "-dev", "-client", "127.0.0.1", "-bind", "127.0.0.1"),
            *(
                "-http-port",
                str(port),
                "-config-file",
                str(config),
                "-log-file",
                str(directory / "consul.log"),
            ),
        ],
        port=port,
        ready=lambda: _has_leader(port),
        name="consul",
    )
    agent.start(timeout=60)
    yield f"127.0.0.1:{port}"
    agent.stop()


def _has_leader(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/status/leader", timeout=1) as reply:
            return bool(json.loads(reply.read()))
    except OSError:
        return False


@pytest.fixture
def go(gomicro_binary: Path, consul_address: str, tmp_path: Path) -> GoMicro:
    return GoMicro(gomicro_binary, consul_address, tmp_path / "home")


@pytest.fixture
def name() -> str:
    """A service name of this test's own, so tests sharing the agent never see each other."""
    return f"greeter-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Processes the test starts; each stopped by PID after it."""
    processes: list[ServerProcess] = []
    yield processes
    for process in processes:
        process.stop()


@pytest.fixture
def go_service(
    go: GoMicro, name: str, tmp_path: Path, started: list[ServerProcess]
) -> Callable[..., ServerProcess]:
    """Start a node of Go service ``go.<name>`` (as often as called); ``"-grpc"``: Go Micro's gRPC server."""

    def start(*flags: str) -> ServerProcess:
        log = tmp_path / f"go-serve-{len(started)}.log"
        started.append(go.start("serve", "-name", f"go.{name}", *flags, log=log))
        return started[-1]

    return start


@pytest.fixture
def py_service(
    consul_address: str, name: str, tmp_path: Path, started: list[ServerProcess]
) -> Callable[..., ServerProcess]:
    """Start a node of Python service ``py.<name>``; it writes its ``go.events`` to ``events.jsonl``."""

    def start(transport: str = "http") -> ServerProcess:
        env = {
            "MICRO_REGISTRY": "consul",
            "MICRO_REGISTRY_ADDRESS": consul_address,
            "MICRO_SERVER_ADDRESS": "127.0.0.1:0",
            "MICRO_TRANSPORT": transport,
            "MICRO_BROKER": "http",
            "GOMICRO_EVENTS_FILE": str(tmp_path / "events.jsonl"),
            "PYTHONUNBUFFERED": "1",
        }
        process = ServerProcess(
            [sys.executable, str(APP), f"py.{name}"],
            port=0,
            env=env,
            log_path=tmp_path / f"py-{len(started)}.log",
            ready_text="serving on",
        )
        started.append(process.start(timeout=30))
        return started[-1]

    return start


async def _client(consul_address: str, transport: str) -> Service:
    settings = {"registry": "consul", "registry_address": consul_address, "server_address": "127.0.0.1:0"}
    settings["transport"] = transport
    service = Service("py.client", plugins=Plugins(), options=Options(code=settings, environ={}))
    await service.start()
    return service


@pytest.fixture
async def client(consul_address: str) -> AsyncIterator[Service]:
    """A Python service in the test process, used for its client and broker, on the same agent."""
    service = await _client(consul_address, "http")
    yield service
    await service.stop()


@pytest.fixture
async def grpc_client(consul_address: str) -> AsyncIterator[Service]:
    """The same on the gRPC transport (micro-transport-grpc)."""
    service = await _client(consul_address, "grpc")
    yield service
    await service.stop()


async def _wait_for(client: Service, service: str, nodes: int = 1) -> None:
    for _ in range(100):
        try:
            found = await client.registry.get_service(service)
        except Exception:
            found = []
        if sum(len(entry.nodes) for entry in found) >= nodes:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service} did not appear in the registry with {nodes} node(s)")


# --- calls ------------------------------------------------------------------------------------


def test_a_go_micro_client_calls_a_python_service_sequentially_and_64_at_once(
    go: GoMicro, py_service: Callable[..., ServerProcess], name: str
) -> None:
    py_service()
    hello = ["-service", f"py.{name}", "-endpoint", "Greeter.Hello", "-body", '{"name": "go"}']
    sequential = go.run("call", *hello, "-count", str(SEQUENTIAL), "-metadata", "Trace-Id=t-1,Tenant=acme")
    assert (sequential["failures"], sequential["errors"]) == (0, [])
    assert sequential["reply"]["msg"] == "hello go from python"
    assert sequential["reply"]["metadata"]["Trace-Id"] == "t-1"
    assert sequential["reply"]["metadata"]["Tenant"] == "acme"
    concurrent = go.run("call", *hello, "-count", str(4 * CONCURRENT), "-concurrency", str(CONCURRENT))
    assert (concurrent["failures"], concurrent["errors"]) == (0, [])


async def test_a_python_client_calls_a_go_micro_service_sequentially_and_64_at_once(
    client: Service, go_service: Callable[..., ServerProcess], name: str
) -> None:
    go_service()
    await _wait_for(client, f"go.{name}")
    call = client.client.call
    metadata = {"Trace-Id": "t-2", "Tenant": "acme"}
    for i in range(SEQUENTIAL):
        reply = await call(f"go.{name}", "Greeter.Hello", {"name": f"py{i}"}, metadata=metadata)
        assert reply["msg"] == f"hello py{i} from go"
    assert reply["metadata"]["Trace-Id"] == "t-2" and reply["metadata"]["Tenant"] == "acme"
    for _ in range(4):
        replies = await asyncio.gather(
            *(call(f"go.{name}", "Greeter.Hello", {"name": f"c{i}"}) for i in range(CONCURRENT))
        )
        assert [r["msg"] for r in replies] == [f"hello c{i} from go" for i in range(CONCURRENT)]


# --- errors -----------------------------------------------------------------------------------


def test_a_python_services_error_reaches_a_go_micro_client_with_its_id(
    go: GoMicro, py_service: Callable[..., ServerProcess], name: str
) -> None:
    py_service()
    for code, status in ((409, "Conflict"), (400, "Bad Request")):
        failed = go.run(
            "call", "-service", f"py.{name}", "-endpoint", "Greeter.Fail",
            "-body", json.dumps({"code": code, "detail": "café closed"}),
        )  # fmt: skip
        assert failed["errors"] == [
            {"id": f"py.{name}", "code": code, "detail": "café closed", "status": status}
        ]
    # A body the JSON codec refuses: a 400 raised before the handler, still under the service's id.
    refused = go.run("call", "-service", f"py.{name}", "-endpoint", "Greeter.Fail", "-body", '{"code": "x"}')
    [error] = refused["errors"]
    assert (error["id"], error["code"], error["status"]) == (f"py.{name}", 400, "Bad Request")


async def test_a_go_micro_services_error_reaches_a_python_client_typed_with_its_id(
    client: Service, go_service: Callable[..., ServerProcess], name: str
) -> None:
    go_service()
    await _wait_for(client, f"go.{name}")
    with pytest.raises(errors.Conflict) as raised:
        await client.client.call(f"go.{name}", "Greeter.Fail", {"code": 409, "detail": "café closed"})
    assert raised.value.to_dict() == {
        "id": f"go.{name}",
        "code": 409,
        "detail": "café closed",
        "status": "Conflict",
    }


# --- listings ---------------------------------------------------------------------------------


async def test_each_side_lists_the_others_services_with_their_endpoints(
    client: Service,
    go: GoMicro,
    go_service: Callable[..., ServerProcess],
    py_service: Callable[..., ServerProcess],
    name: str,
) -> None:
    go_service()
    py_service()
    await _wait_for(client, f"go.{name}")
    await _wait_for(client, f"py.{name}")
    listed = {s["name"]: s for s in go.run("list")["services"]}
    assert {"Greeter.Hello", "Greeter.Fail"} <= {e["name"] for e in listed[f"py.{name}"]["endpoints"]}
    [request] = [e["request"] for e in listed[f"py.{name}"]["endpoints"] if e["name"] == "Greeter.Hello"]
    assert {v["name"] for v in request["values"]} == {"name", "code", "detail"}

    names = {entry.name for entry in await client.registry.list_services()}
    assert {f"go.{name}", f"py.{name}"} <= names
    [go_entry] = await client.registry.get_service(f"go.{name}")
    assert {e.name for e in go_entry.endpoints} == {
        "Greeter.Echo",
        "Greeter.Fail",
        "Greeter.Hello",
        "Greeter.Refuse",
        "Greeter.Upper",
    }
    assert go_entry.nodes[0].metadata["server"] == "mucp"


# --- events (the http broker) -----------------------------------------------------------------


async def test_a_go_micro_publish_reaches_a_python_subscriber(
    go: GoMicro, py_service: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    py_service()
    events = tmp_path / "events.jsonl"
    go.run("publish", "-topic", "go.events", "-count", "3")
    await asyncio.to_thread(
        wait_until, lambda: events.exists() and len(events.read_text().splitlines()) >= 3, 15, "three events"
    )
    received = sorted(
        (json.loads(line) for line in events.read_text().splitlines()), key=lambda e: e["header"]["Seq"]
    )
    assert [base64.b64decode(e["body"]) for e in received] == [b'{"seq": %d}' % i for i in range(3)]
    assert [e["header"]["Micro-Topic"] for e in received] == ["go.events"] * 3


async def test_a_python_publish_reaches_a_go_micro_subscriber(
    client: Service, go: GoMicro, tmp_path: Path, started: list[ServerProcess]
) -> None:
    topic = f"py.events.{uuid.uuid4().hex[:8]}"
    log = tmp_path / "go-subscribe.log"
    started.append(go.start("subscribe", "-topic", topic, log=log))
    await _wait_for(client, "micro.http.broker")
    for seq in range(3):
        await client.client.publish(topic, {"seq": seq, "note": "café"}, metadata={"Seq": str(seq)})
    await asyncio.to_thread(
        wait_until, lambda: len([o for o in _log_objects(log) if "body" in o]) >= 3, 15, "three events in Go"
    )
    received = sorted((o for o in _log_objects(log) if "body" in o), key=lambda o: o["header"]["Seq"])
    assert [json.loads(o["body"]) for o in received] == [{"seq": i, "note": "café"} for i in range(3)]
    assert all(o["header"]["Micro-Topic"] == topic and o["header"]["Micro-Id"] for o in received)


# --- fail-over --------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["go", "py"])
async def test_a_node_killed_mid_run_is_failed_over(
    client: Service,
    go_service: Callable[..., ServerProcess],
    py_service: Callable[..., ServerProcess],
    name: str,
    side: str,
) -> None:
    start = go_service if side == "go" else py_service
    victim, _ = start(), start()
    service = f"{side}.{name}"
    await _wait_for(client, service, nodes=2)
    for i in range(200):
        if i == 50:
            victim.kill()  # as a crash would: still registered, its port closed
        reply = await client.client.call(service, "Greeter.Hello", {"name": f"n{i}"})
        assert reply["msg"].startswith(f"hello n{i} from ")


# --- gRPC: Go Micro's gRPC client and server, micro-transport-grpc, the protobuf codec ---------


def test_a_go_micro_grpc_client_calls_a_python_grpc_service_in_json_and_protobuf(
    go: GoMicro, py_service: Callable[..., ServerProcess], name: str
) -> None:
    py_service("grpc")
    hello = ["-grpc", "-service", f"py.{name}", "-endpoint", "Greeter.Hello", "-body", '{"name": "go"}']
    sequential = go.run("call", *hello, "-count", str(SEQUENTIAL), "-metadata", "Trace-Id=t-3")
    assert (sequential["failures"], sequential["errors"]) == (0, [])
    assert sequential["reply"]["msg"] == "hello go from python"
    assert sequential["reply"]["metadata"]["Trace-Id"] == "t-3"
    concurrent = go.run("call", *hello, "-count", str(4 * CONCURRENT), "-concurrency", str(CONCURRENT))
    assert (concurrent["failures"], concurrent["errors"]) == (0, [])
    failed = go.run("call", "-grpc", "-service", f"py.{name}", "-endpoint", "Greeter.Fail",
                    "-body", '{"code": 409, "detail": "closed"}')  # fmt: skip
    assert failed["errors"] == [{"id": f"py.{name}", "code": 409, "detail": "closed", "status": "Conflict"}]
    protobuf = ["-grpc", "-content-type", "application/grpc+proto", "-service", f"py.{name}"]
    upper = go.run("call", *protobuf, "-endpoint", "Greeter.Upper", "-body", "café", "-concurrency", "8")
    assert (upper["failures"], upper["reply"]) == (0, "CAFÉ")


async def test_a_python_grpc_client_calls_a_go_micro_grpc_service_in_protobuf(
    grpc_client: Service, go_service: Callable[..., ServerProcess], name: str
) -> None:
    """Protobuf only: Go Micro's gRPC server picks its codec from gRPC's content-subtype
    (``application/grpc+json``), which grpcio does not let a client set, so a JSON body
    from a Python gRPC client is read as protobuf there and refused."""
    go_service("-grpc")
    await _wait_for(grpc_client, f"go.{name}")
    call = functools.partial(
        grpc_client.client.call, f"go.{name}", "Greeter.Upper",
        response_type=StringValue, content_type="application/grpc+proto",
    )  # fmt: skip
    for i in range(SEQUENTIAL):
        assert (await call(StringValue(value=f"py{i}"), metadata={"Trace-Id": "t-4"})).value == f"PY{i}"
    replies = await asyncio.gather(*(call(StringValue(value=f"c{i}")) for i in range(CONCURRENT)))
    assert [r.value for r in replies] == [f"C{i}" for i in range(CONCURRENT)]
    with pytest.raises(errors.Conflict) as refused:
        await grpc_client.client.call(
            f"go.{name}", "Greeter.Refuse", StringValue(value="café closed"),
            response_type=StringValue, content_type="application/grpc+proto",
        )  # fmt: skip
    assert refused.value.to_dict() == {
        "id": f"go.{name}",
        "code": 409,
        "detail": "café closed",
        "status": "Conflict",
    }
    with pytest.raises(errors.MicroError) as missing:
        await grpc_client.client.call(
            f"go.{name}", "Greeter.Nope", StringValue(value="x"), content_type="application/grpc+proto"
        )
    assert missing.value.code == 501  # gRPC's UNIMPLEMENTED, as Go Micro maps it
