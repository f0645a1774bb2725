"""The Consul registry against real agents: other processes, crashes, restarts, Go Micro's entries."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import consul  # type: ignore[import-untyped]
import pytest

from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import (
    Endpoint,
    EventType,
    Node,
    RegistryUnavailable,
    Service,
    ServiceNotFound,
    Value,
)
from micro_core.testing.processes import ServerProcess, free_port
from micro_registry_consul import ConsulRegistry

from .conftest import ConsulAgent, NewRegistry, StartAgent

SERVICE_SCRIPT = Path(__file__).with_name("service.py")
PATIENCE = 20.0


@pytest.fixture
def name() -> str:
    return f"consul-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def raw(consul_agent: ConsulAgent) -> Iterator[consul.Consul]:
    """py-consul's own client on the shared agent: to write and read entries behind the registry's back."""
    host, port = consul_agent.address.split(":")
    client = consul.Consul(host=host, port=int(port))
    yield client
    client.http.close()


def start_service(agent: ConsulAgent, name: str, ttl: float = 2.0) -> ServerProcess:
    """``tests/service.py`` in its own process, registered in ``agent`` with ``ttl`` and renewing."""
    port = free_port()
    env = {
        "MICRO_REGISTRY": "consul",
        "MICRO_REGISTRY_ADDRESS": agent.address,
        "MICRO_REGISTER_TTL": str(ttl),
        "MICRO_REGISTER_INTERVAL": str(ttl / 4),
        "MICRO_BROKER": "memory",
        "MICRO_SERVER_ADDRESS": f"127.0.0.1:{port}",
    }
    return ServerProcess([sys.executable, str(SERVICE_SCRIPT), name], port=port, env=env).start()


async def eventually_found(registry: ConsulRegistry, name: str) -> list[Service]:
    deadline = time.monotonic() + PATIENCE
    while True:
        try:
            return await registry.get_service(name)
        except ServiceNotFound:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def seconds_until_gone(registry: ConsulRegistry, name: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < PATIENCE:
        try:
            await registry.get_service(name)
        except ServiceNotFound:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} still passing after {PATIENCE}s")


def go_encode(data: bytes) -> str:
    """Go Micro's ``encode``: lowercase hex of the zlib-compressed bytes."""
    return zlib.compress(data).hex()


def go_decode(text: str) -> bytes:
    return zlib.decompress(bytes.fromhex(text))


# --- other processes -------------------------------------------------------------------------


async def test_a_service_in_another_process_is_discovered(
    consul_agent: ConsulAgent, new_registry: NewRegistry, name: str
) -> None:
    process = start_service(consul_agent, name)
    try:
        registry = await new_registry()
        (found,) = await eventually_found(registry, name)
        assert (found.version, found.metadata) == ("1.0", {"role": "test"})
        (node,) = found.nodes
        assert node.address == f"127.0.0.1:{process.port}"
        assert node.metadata["registry"] == "consul"
    finally:
        process.stop()
    assert await seconds_until_gone(registry, name) < 1.0, "a stopped service deregisters at once"


async def test_a_killed_process_leaves_the_passing_set_within_its_ttl(
    consul_agent: ConsulAgent, new_registry: NewRegistry, raw: consul.Consul, name: str
) -> None:
    ttl = 2.0
    process = start_service(consul_agent, name, ttl=ttl)
    try:
        registry = await new_registry()
        await eventually_found(registry, name)
        process.kill()  # SIGKILL: no deregistration, the renewals just stop
        assert await seconds_until_gone(registry, name) < ttl + 2.0
    finally:
        process.stop()
    # Consul keeps the critical instance for a minute before removing it; no read shows it.
    _, instances = raw.health.service(name)
    assert [check["Status"] for check in instances[0]["Checks"] if check["ServiceID"]] == ["critical"]


async def test_a_watch_tells_an_expiry_from_a_deregistration_and_a_reaped_expiry_is_no_second_delete(
    new_registry: NewRegistry, raw: consul.Consul, name: str
) -> None:
    registry, peer = await new_registry(), await new_registry()
    crashed = Service(name, "1", nodes=[Node("crashed", "127.0.0.1:9000")])
    stopped = Service(name, "1", nodes=[Node("stopped", "127.0.0.1:9001")])
    watcher = peer.watch(name)
    try:
        await registry.register(crashed, ttl=1.0)  # and never renewed
        await registry.register(stopped, ttl=60.0)
        async with asyncio.timeout(PATIENCE):
            events = [await anext(watcher) for _ in range(3)]
        # Consul's reaper removes the critical instance after DeregisterCriticalServiceAfter (at
        # least a minute); the agent call it makes, made here at once:
        raw.agent.service.deregister("crashed")
        await registry.deregister(stopped)
        async with asyncio.timeout(PATIENCE):
            events.append(await anext(watcher))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(watcher), 1.0)
    finally:
        await watcher.close()
    seen = [(e.type, e.service.nodes[0].id, e.expired) for e in events]
    assert sorted(seen[:2]) == [(EventType.CREATE, "crashed", False), (EventType.CREATE, "stopped", False)]
    assert seen[2:] == [(EventType.DELETE, "crashed", True), (EventType.DELETE, "stopped", False)]


async def test_a_service_registers_again_after_its_agent_restarts(
    start_agent: StartAgent, new_registry: NewRegistry, name: str
) -> None:
    agent = start_agent()
    process = start_service(agent, name)
    try:
        registry = await new_registry(agent.address)
        await eventually_found(registry, name)
        agent.restart()  # a dev agent comes back empty
        (found,) = await eventually_found(registry, name)
        assert found.nodes[0].address == f"127.0.0.1:{process.port}"
    finally:
        process.stop()


async def test_a_watch_survives_its_agent_restarting(
    start_agent: StartAgent, new_registry: NewRegistry, name: str
) -> None:
    agent = start_agent()
    registry = await new_registry(agent.address)
    watcher = registry.watch(name)
    try:
        agent.restart()
        await registry.register(Service(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
        async with asyncio.timeout(PATIENCE):
            event = await anext(watcher)
        assert (event.type, event.service.nodes[0].id) == (EventType.CREATE, "n1")
    finally:
        await watcher.close()


# --- reaching the agents -----------------------------------------------------------------------


async def test_an_unreachable_agent_is_registry_unavailable_naming_it() -> None:
    address = f"127.0.0.1:{free_port()}"
    registry = ConsulRegistry(address, timeout=2.0)
    try:
        with pytest.raises(RegistryUnavailable, match=f"http://{address}"):
            await registry.connect()
    finally:
        await registry.close()


async def test_the_next_agent_is_tried_when_one_is_down(
    consul_agent: ConsulAgent, new_registry: NewRegistry, name: str
) -> None:
    down = f"127.0.0.1:{free_port()}"
    registry = await new_registry(f"{down},{consul_agent.address}")
    await registry.register(Service(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
    assert [n.id for s in await registry.get_service(name) for n in s.nodes] == ["n1"]


async def test_an_acl_token_is_sent_and_a_missing_one_is_refused(
    start_agent: StartAgent, new_registry: NewRegistry, name: str
) -> None:
    token = str(uuid.uuid4())
    agent = start_agent(
        'acl {\n  enabled = true\n  default_policy = "deny"\n'
        f'  tokens {{\n    master = "{token}"\n  }}\n}}\n'
    )
    anonymous = await new_registry(agent.address)
    service = Service(name, "1", nodes=[Node("n1", "127.0.0.1:9000")])
    with pytest.raises(PermissionError, match="registry_consul_token"):
        await anonymous.register(service)
    registry = await new_registry(agent.address, token=token)
    await registry.register(service)
    assert [n.id for s in await registry.get_service(name) for n in s.nodes] == ["n1"]
    with pytest.raises(ServiceNotFound):  # what a token may not read, it does not see
        await anonymous.get_service(name)


def test_settings_come_from_flags_and_environment() -> None:
    plugins = Plugins(autoload=False)
    options = Options(
        flags={"registry_address": "https://a:8501,b:8501", "registry_consul_timeout": 3.0},
        environ={"MICRO_REGISTRY_CONSUL_TOKEN": "secret", "MICRO_REGISTRY_CONSUL_TLS_VERIFY": "false"},
    )
    plugins.add_options(options)
    registry = plugins.registry("consul", options)
    assert isinstance(registry, ConsulRegistry)
    assert [str(a) for a in registry.addresses] == ["https://a:8501", "http://b:8501"]
    assert (registry._token, registry._tls.verify, registry._timeout) == ("secret", False, 3.0)


def test_a_bad_setting_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="MICRO_REGISTRY_CONSUL_TLS_VERIFY='maybe'"):
        ConsulRegistry.from_options(Options(environ={"MICRO_REGISTRY_CONSUL_TLS_VERIFY": "maybe"}))
    with pytest.raises(ValueError, match="'ftp://a:1' is not"):
        ConsulRegistry("ftp://a:1")


async def test_an_address_without_a_port_is_refused_and_nothing_registered(
    new_registry: NewRegistry, name: str
) -> None:
    registry = await new_registry()
    with pytest.raises(ValueError, match="not host:port"):
        await registry.register(Service(name, "1", nodes=[Node("n1", "localhost")]))
    with pytest.raises(ServiceNotFound):
        await registry.get_service(name)


# --- entries written by others ------------------------------------------------------------------


async def test_foreign_and_malformed_entries_are_skipped_with_a_warning(
    new_registry: NewRegistry, raw: consul.Consul, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = await new_registry()
    watcher = registry.watch(name)
    try:
        raw.agent.service.register(name, service_id=f"{name}-plain", port=1, tags=["primary"])
        raw.agent.service.register(name, service_id=f"{name}-bad-hex", port=2, tags=["v-zz"])
        raw.agent.service.register(name, service_id=f"{name}-bad-json", port=3, tags=["v=1", "t=[1]"])
        raw.agent.service.register(name + "-foreign", port=4, tags=["web"])
        await registry.register(Service(name, "1", nodes=[Node("good", "127.0.0.1:9000")]))
        with caplog.at_level(logging.WARNING, logger="micro_registry_consul"):
            async with asyncio.timeout(PATIENCE):
                event = await anext(watcher)  # the watch goes on past the bad entries
            assert (event.type, event.service.nodes[0].id) == (EventType.CREATE, "good")
            assert [n.id for s in await registry.get_service(name) for n in s.nodes] == ["good"]
            listed = {s.name for s in await registry.list_services()}
            assert name in listed and name + "-foreign" not in listed
        warnings = "\n".join(r.getMessage() for r in caplog.records)
        assert f"{name}-plain" in warnings and "no version tag" in warnings
        assert f"{name}-bad-hex" in warnings and "not hex-encoded zlib data" in warnings
        assert f"{name}-bad-json" in warnings and "bad t= tag" in warnings
        assert f"{name}-foreign" in warnings
    finally:
        await watcher.close()
        for suffix in ("plain", "bad-hex", "bad-json"):
            raw.agent.service.deregister(f"{name}-{suffix}")
        raw.agent.service.deregister(name + "-foreign")


async def test_an_entry_written_by_go_micro_is_read(
    new_registry: NewRegistry, raw: consul.Consul, name: str
) -> None:
    # What Go Micro's consul registry writes for a service with one endpoint (research notes §5).
    endpoint = {
        "request": {
            "name": "Request",
            "type": "Request",
            "values": [{"name": "name", "type": "string", "values": None}],
        },
        "response": {"name": "Response", "type": "Response", "values": None},
        "metadata": {"stream": "false"},
        "name": "Greeter.Hello",
    }
    node_id = f"{name}-5f1c7a4e"
    tags = [
        "t-" + go_encode(b'{"protocol":"mucp"}'),
        "t-" + go_encode(b'{"transport":"http"}'),
        "e-" + go_encode(json.dumps(endpoint, separators=(",", ":")).encode()),
        "v-" + go_encode(b"latest"),
    ]
    check = {"TTL": "1m0s", "DeregisterCriticalServiceAfter": "1m5s"}
    raw.agent.service.register(
        name, service_id=node_id, address="127.0.0.1", port=54321, tags=tags, check=check
    )
    raw.agent.check.ttl_pass(f"service:{node_id}")
    try:
        registry = await new_registry()
        assert await registry.get_service(name) == [
            Service(
                name,
                "latest",
                endpoints=[
                    Endpoint(
                        "Greeter.Hello",
                        Value("Request", "Request", [Value("name", "string")]),
                        Value("Response", "Response"),
                        {"stream": "false"},
                    )
                ],
                nodes=[Node(node_id, "127.0.0.1:54321", {"protocol": "mucp", "transport": "http"})],
            )
        ]
    finally:
        raw.agent.service.deregister(node_id)


async def test_old_plain_tags_are_read(new_registry: NewRegistry, raw: consul.Consul, name: str) -> None:
    tags = ["v=2.0", 't={"zone":"eu"}', 'e={"name":"Greeter.Ping","request":null}']
    raw.agent.service.register(name, service_id=f"{name}-old", address="10.0.0.1", port=80, tags=tags)
    try:
        registry = await new_registry()
        assert await registry.get_service(name) == [
            Service(
                name,
                "2.0",
                endpoints=[Endpoint("Greeter.Ping")],
                nodes=[Node(f"{name}-old", "10.0.0.1:80", {"zone": "eu"})],
            )
        ]
    finally:
        raw.agent.service.deregister(f"{name}-old")


async def test_our_entry_is_what_go_micro_reads(
    new_registry: NewRegistry, raw: consul.Consul, name: str
) -> None:
    registry = await new_registry()
    hello = Endpoint("Greeter.Hello", Value("Request", "Request", [Value("name", "string")]))
    metadata = {"transport": "http", "a.b": "not a valid Meta key"}
    await registry.register(
        Service(name, "1.2", endpoints=[hello], nodes=[Node("n1", "[::1]:9000", metadata)]), ttl=30
    )
    _, (item,) = raw.health.service(name)
    instance = item["Service"]
    assert (instance["ID"], instance["Address"], instance["Port"]) == ("n1", "::1", 9000)
    assert instance["Meta"] == {"transport": "http"}  # Consul refuses "a.b"; the tags keep it
    by_kind: dict[str, list[bytes]] = {}
    for tag in instance["Tags"]:
        assert tag[1] == "-" and tag[2:] == tag[2:].lower()
        by_kind.setdefault(tag[0], []).append(go_decode(tag[2:]))
    assert by_kind["v"] == [b"1.2"]
    assert [json.loads(t) for t in by_kind["t"]] == [{"transport": "http"}, {"a.b": "not a valid Meta key"}]
    assert [json.loads(e) for e in by_kind["e"]] == [
        {
            "request": {
                "name": "Request",
                "type": "Request",
                "values": [{"name": "name", "type": "string", "values": None}],
            },
            "response": None,
            "metadata": None,
            "name": "Greeter.Hello",
        }
    ]
    (check,) = [c for c in item["Checks"] if c["ServiceID"] == "n1"]
    assert (check["CheckID"], check["Status"]) == ("service:n1", "passing")
    await registry.deregister(Service(name, nodes=[Node("n1", "[::1]:9000")]))
