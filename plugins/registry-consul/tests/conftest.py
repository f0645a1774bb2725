"""Real Consul agents for the tests: ``consul agent -dev`` on free loopback ports, stopped by PID.

``scripts/servers/consul.sh install`` puts the ``consul`` binary on PATH. One agent
serves the whole session (tests use service names of their own); a test that must
restart or reconfigure an agent starts its own with ``start_agent``. Given a test CA
(``trustme``), an agent also serves HTTPS with a certificate that CA signed.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import trustme

from micro_core.testing.processes import ServerProcess, free_port, port_open
from micro_core.testing.tls import TLSFiles
from micro_registry_consul import ConsulRegistry


class ConsulAgent:
    """A dev-mode Consul agent (in-memory server) on loopback; ``restart`` keeps its ports.

    With ``ca`` it also serves HTTPS (:attr:`https_address`) with a certificate for
    ``127.0.0.1`` and ``localhost`` signed by it; ``hcl`` may add, say,
    ``verify_incoming_https = true`` to require client certificates signed by it too.
    Plain HTTP stays on, for the readiness probe and for looking behind the client's back.
    """

    def __init__(self, directory: Path, hcl: str = "", *, ca: trustme.CA | None = None) -> None:
        if shutil.which("consul") is None:
            pytest.fail("consul is not installed: run scripts/servers/consul.sh install")
        self.http_port = free_port()
        self.https_port = 0
        directory.mkdir(parents=True, exist_ok=True)
        # Consul writes its own log: ServerProcess(log_path=…) leaves the file open (a ResourceWarning).
        self.log = directory / "consul.log"
        config = directory / "agent.hcl"
        ports = {
            "http": self.http_port,
            "serf_lan": free_port(),
            "serf_wan": free_port(),
            "server": free_port(),
            "dns": -1,
            "grpc": -1,
        }
        if ca is not None:
            self.https_port = ports["https"] = free_port()
            tls = TLSFiles.issue(ca, directory / "tls", "127.0.0.1", "localhost")
            hcl = f'ca_file = "{tls.ca}"\ncert_file = "{tls.cert}"\nkey_file = "{tls.key}"\n' + hcl
        config.write_text("ports {\n" + "".join(f"  {k} = {v}\n" for k, v in ports.items()) + "}\n" + hcl)
        argv = ["consul", "agent", "-dev", "-client", "127.0.0.1", "-bind", "127.0.0.1"]
        self.process = ServerProcess(
            [*argv, "-config-file", str(config), "-log-file", str(self.log)],
            port=self.http_port,
            ready=self.ready,
            name="consul",
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def https_address(self) -> str:
        if not self.https_port:
            raise ValueError("this agent serves no HTTPS: start it with a ca")
        return f"https://127.0.0.1:{self.https_port}"

    def ready(self) -> bool:
        return self.has_leader() and (not self.https_port or port_open(self.https_port))

    def has_leader(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.address}/v1/status/leader", timeout=1) as reply:
                return bool(json.loads(reply.read()))
        except OSError:
            return False

    def start(self) -> ConsulAgent:
        self.process.start(timeout=60)
        return self

    def stop(self) -> None:
        self.process.stop()

    def restart(self) -> None:
        """Stop and start again on the same ports; a dev agent forgets every registration."""
        self.stop()
        self.start()


StartAgent = Callable[..., ConsulAgent]
NewRegistry = Callable[..., Awaitable[ConsulRegistry]]


@pytest.fixture(scope="session")
def consul_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsulAgent]:
    """The session's shared agent."""
    agent = ConsulAgent(tmp_path_factory.mktemp("consul")).start()
    yield agent
    agent.stop()


@pytest.fixture
def start_agent(tmp_path: Path) -> Iterator[StartAgent]:
    """Start agents of this test's own (``start_agent(hcl="acl { … }")``); stopped after it."""
    agents: list[ConsulAgent] = []

    def start(hcl: str = "") -> ConsulAgent:
        agents.append(ConsulAgent(tmp_path / f"agent-{len(agents)}", hcl).start())
        return agents[-1]

    yield start
    for agent in agents:
        agent.stop()


@pytest.fixture
async def new_registry(consul_agent: ConsulAgent) -> AsyncIterator[NewRegistry]:
    """Connected registries (on the shared agent unless ``address`` says otherwise), closed after the test."""
    opened: list[ConsulRegistry] = []

    async def new(address: str = "", **settings: object) -> ConsulRegistry:
        registry = ConsulRegistry(address or consul_agent.address, **settings)  # type: ignore[arg-type]
        opened.append(registry)
        await registry.connect()
        return registry

    yield new
    for registry in opened:
        await registry.close()
