"""The Consul registry over HTTPS against real agents: certificates checked, client certificates shown.

Two agents serve the session, both with a certificate signed by the test CA: one takes
any client that trusts it, the other also requires a client certificate the CA signed
(``verify_incoming_https``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from micro_core import Service
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import EventType, Node, RegistryUnavailable, ServiceNotFound
from micro_core.registry import Service as Entry
from micro_core.testing.tls import TLSFiles
from micro_registry_consul import TLS, ConsulRegistry

from .conftest import ConsulAgent, NewRegistry

#: Seconds a refusal may take: it must be prompt and never hang.
REFUSED_WITHIN = 5.0
PATIENCE = 20.0


@pytest.fixture(scope="session")
def https_agent(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsulAgent]:
    """An agent serving HTTPS to any client (no client certificate asked for)."""
    agent = ConsulAgent(tmp_path_factory.mktemp("consul-https"), ca=tls_ca).start()
    yield agent
    agent.stop()


@pytest.fixture(scope="session")
def mtls_agent(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsulAgent]:
    """An agent whose HTTPS requires a client certificate signed by the test CA."""
    hcl = "verify_incoming_https = true\n"
    agent = ConsulAgent(tmp_path_factory.mktemp("consul-mtls"), hcl, ca=tls_ca).start()
    yield agent
    agent.stop()


@pytest.fixture
def name() -> str:
    return f"consul-tls-{uuid.uuid4().hex[:8]}"


def connections_to(port: int) -> int:
    """Established TCP connections to 127.0.0.1:``port``, from any process (Linux's table)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(row[2] == f"0100007F:{port:04X}" and row[3] == "01" for row in rows)


def node_ids(entries: list[Entry]) -> list[str]:
    return [node.id for entry in entries for node in entry.nodes]


# --- the agent's certificate ------------------------------------------------------------------


async def test_register_get_and_list_over_https_with_the_agents_ca(
    https_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    registry = await new_registry(https_agent.https_address, tls=TLS(ca=tls_client.ca))
    await registry.register(Entry(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
    assert node_ids(await registry.get_service(name)) == ["n1"]
    assert name in {entry.name for entry in await registry.list_services()}
    await registry.deregister(Entry(name, nodes=[Node("n1", "127.0.0.1:9000")]))
    with pytest.raises(ServiceNotFound):
        await registry.get_service(name)


async def test_a_watch_over_https_sees_a_registration(
    https_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    registry = await new_registry(https_agent.https_address, tls=TLS(ca=tls_client.ca))
    watcher = registry.watch(name)
    try:
        await registry.register(Entry(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
        async with asyncio.timeout(PATIENCE):
            event = await anext(watcher)
        assert (event.type, node_ids([event.service])) == (EventType.CREATE, ["n1"])
    finally:
        await watcher.close()


async def test_closing_a_watch_and_its_registry_leaves_no_connection_open(
    https_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    registry = await new_registry(https_agent.https_address, tls=TLS(ca=tls_client.ca))
    watcher = registry.watch(name)
    await registry.register(Entry(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
    async with asyncio.timeout(PATIENCE):
        await anext(watcher)
    await asyncio.sleep(0.2)  # its next blocking query is in flight: Consul holds it for 30 s
    await watcher.close()
    await registry.close()
    async with asyncio.timeout(REFUSED_WITHIN):
        while connections_to(https_agent.https_port):
            await asyncio.sleep(0.05)


async def test_an_agent_certificate_from_an_unknown_ca_is_refused_naming_the_problem(
    https_agent: ConsulAgent, new_registry: NewRegistry
) -> None:
    address = https_agent.https_address
    with pytest.raises(RegistryUnavailable, match=f"{address}: .*CERTIFICATE_VERIFY_FAILED"):
        async with asyncio.timeout(REFUSED_WITHIN):
            await new_registry(address)  # no CA given: the system's roots, which never signed it


async def test_verify_false_connects_to_an_agent_it_cannot_verify(
    https_agent: ConsulAgent, new_registry: NewRegistry, name: str
) -> None:
    registry = await new_registry(https_agent.https_address, tls=TLS(verify=False))
    await registry.register(Entry(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
    assert node_ids(await registry.get_service(name)) == ["n1"]


async def test_a_ca_file_that_cannot_be_read_is_a_clear_error_naming_it(
    https_agent: ConsulAgent, new_registry: NewRegistry, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(ValueError, match=re.escape(f"tls_ca {missing!r}") + ".*No such file"):
        await new_registry(https_agent.https_address, tls=TLS(ca=missing))


# --- client certificates ------------------------------------------------------------------------


async def test_a_client_certificate_signed_by_the_ca_is_accepted(
    mtls_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    tls = TLS(ca=tls_client.ca, cert=tls_client.cert, key=tls_client.key)
    registry = await new_registry(mtls_agent.https_address, tls=tls)
    await registry.register(Entry(name, "1", nodes=[Node("n1", "127.0.0.1:9000")]))
    assert node_ids(await registry.get_service(name)) == ["n1"]


async def test_a_client_without_a_certificate_is_refused_clearly(
    mtls_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry
) -> None:
    address = mtls_agent.https_address
    # Go's TLS says "bad certificate" (Consul 1.8); newer Go says "certificate required".
    refused = f"{address}: .*(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)"
    with pytest.raises(RegistryUnavailable, match=refused):
        async with asyncio.timeout(REFUSED_WITHIN):
            await new_registry(address, tls=TLS(ca=tls_client.ca))


# --- the same through a service's settings ------------------------------------------------------

#: What every service below shares: the Consul registry, and no broker server to reach.
CONSUL = {"MICRO_REGISTRY": "consul", "MICRO_BROKER": "memory"}


def service_from(environ: dict[str, str], name: str) -> Service:
    """A service configured only by ``environ``, as ``MICRO_*`` variables configure a real one."""
    return Service(name, plugins=Plugins(environ=environ), options=Options(environ=environ))


async def assert_registers(service: Service, looker: ConsulRegistry) -> None:
    """``service`` registers on start and deregisters on stop, as ``looker`` (plain HTTP) sees."""
    await service.start()
    try:
        assert node_ids(await looker.get_service(service.name)) == [service.id]
    finally:
        await service.stop()
    with pytest.raises(ServiceNotFound):
        await looker.get_service(service.name)


async def test_a_service_registers_over_https_with_the_ca_from_its_settings(
    https_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    environ = {
        **CONSUL,
        "MICRO_REGISTRY_ADDRESS": https_agent.https_address,
        "MICRO_REGISTRY_CONSUL_TLS_CA": tls_client.ca,
    }
    await assert_registers(service_from(environ, name), await new_registry(https_agent.address))


async def test_a_service_that_cannot_verify_its_agent_does_not_start(
    https_agent: ConsulAgent, name: str
) -> None:
    service = service_from({**CONSUL, "MICRO_REGISTRY_ADDRESS": https_agent.https_address}, name)
    with pytest.raises(RegistryUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        async with asyncio.timeout(REFUSED_WITHIN):
            await service.start()  # and closes what it opened: nothing is left unclosed


async def test_a_service_with_tls_verify_false_registers_with_an_agent_it_cannot_verify(
    https_agent: ConsulAgent, new_registry: NewRegistry, name: str
) -> None:
    environ = {
        **CONSUL,
        "MICRO_REGISTRY_ADDRESS": https_agent.https_address,
        "MICRO_REGISTRY_CONSUL_TLS_VERIFY": "false",
    }
    await assert_registers(service_from(environ, name), await new_registry(https_agent.address))


async def test_a_service_shows_the_client_certificate_from_its_settings(
    mtls_agent: ConsulAgent, tls_client: TLSFiles, new_registry: NewRegistry, name: str
) -> None:
    environ = {
        **CONSUL,
        "MICRO_REGISTRY_ADDRESS": f"127.0.0.1:{mtls_agent.https_port}",
        "MICRO_REGISTRY_CONSUL_SCHEME": "https",
        "MICRO_REGISTRY_CONSUL_TLS_CA": tls_client.ca,
        "MICRO_REGISTRY_CONSUL_TLS_CERT": tls_client.cert,
        "MICRO_REGISTRY_CONSUL_TLS_KEY": tls_client.key,
    }
    await assert_registers(service_from(environ, name), await new_registry(mtls_agent.address))
