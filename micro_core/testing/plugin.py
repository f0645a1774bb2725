"""The pytest plugin of micro_core (entry point ``pytest11``): fixtures for service tests.

``micro_settings`` gives settings for memory drivers private to one test, so tests
never see each other's services; ``micro_service`` starts services in-process on
them and stops them after the test::

    async def test_hello(micro_service):
        service = await micro_service(Greeter(), name="greeter")
        reply = await service.client.call("greeter", "Greeter.Hello", {"name": "Ada"})
        assert reply == {"message": "Hello Ada"}

Services as real OS processes: ``micro_process(*argv)`` starts one (a service, ``micro
run``, ``micro web``…) with ``micro_process_env``, a private local registry in the test's
directory, short TTLs and the HTTP transport and broker, once its log says "serving on";
each is stopped after the test::

    def test_call(micro_process, micro_process_env):
        micro_process(sys.executable, "greeter.py")
        subprocess.run(["micro", "call", "greeter", "Greeter.Hello", "{}"], env=micro_process_env)

For TLS tests against real servers, ``tls_ca`` is a throwaway certificate authority
(``trustme``, a test dependency) and ``tls_client`` a client identity it signed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.service import Service
from micro_core.testing.processes import ServerProcess
from micro_core.testing.tls import TLSFiles

if TYPE_CHECKING:
    import trustme

StartService = Callable[..., Awaitable[Service]]
StartProcess = Callable[..., ServerProcess]


@pytest.fixture
def micro_settings() -> dict[str, Any]:
    """Driver settings for one test: memory registry, transport and broker in a private namespace."""
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    return {
        "registry": "memory",
        "registry_address": namespace,
        "transport": "memory",
        "broker": "memory",
        "broker_address": namespace,
        "server_address": f"{namespace}:0",
    }


@pytest.fixture
async def micro_service(micro_settings: dict[str, Any]) -> AsyncIterator[StartService]:
    """Start services in-process; each is stopped after the test.

    ``await micro_service(handler, name="greeter", setup=fn, **settings)``: ``setup``
    is called with the service before it starts (to add subscribers); ``settings``
    override the memory defaults.
    """
    started: list[Service] = []

    async def start(
        *handlers: object, name: str = "test", setup: Callable[[Service], None] | None = None, **settings: Any
    ) -> Service:
        code = {**micro_settings, "shutdown_grace": 1.0, **settings}
        service = Service(
            name,
            handlers=handlers,
            plugins=Plugins(autoload=False),
            options=Options(code=code, environ={}),  # isolated from the operator's MICRO_* variables
        )
        if setup is not None:
            setup(service)  # declare subscribers and the like before the start
        await service.start()
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        await service.stop()


@pytest.fixture
def micro_process_env(tmp_path: Path) -> dict[str, str]:
    """The environment of every process of one test: the caller's, without its ``MICRO_*``
    variables, plus a private local registry (``tmp_path / "registry"``), the HTTP
    transport and broker, and short TTLs. A test or conftest may add to it before it
    starts processes; ``micro_process`` reads it at each start."""
    (tmp_path / "registry").mkdir(exist_ok=True)
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("MICRO_")},
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "registry"),
        "MICRO_TRANSPORT": "http",
        "MICRO_BROKER": "http",
        "MICRO_REGISTER_TTL": "3",
        "MICRO_REGISTER_INTERVAL": "1",
        "MICRO_SHUTDOWN_GRACE": "2",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def micro_process(micro_process_env: dict[str, str], tmp_path: Path) -> Iterator[StartProcess]:
    """Start real processes; each is stopped (SIGTERM, its port closed) after the test, the
    last started first.

    ``micro_process(*argv, env=None, cwd=None, ready="serving on")`` returns the running
    :class:`~micro_core.testing.processes.ServerProcess` once its log (``process-<n>.log``
    in ``tmp_path``, named in a failure) contains ``ready``; ``env`` adds to
    ``micro_process_env``.
    """
    started: list[ServerProcess] = []

    def start(
        *argv: str | Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        ready: str = "serving on",
    ) -> ServerProcess:
        process = ServerProcess(
            [str(arg) for arg in argv],
            port=0,
            ready_text=ready,
            cwd=cwd,
            log_path=tmp_path / f"process-{len(started)}.log",
        )
        process.env = {**micro_process_env, **(env or {})}  # not over os.environ: no stray MICRO_*
        started.append(process)
        return process.start(timeout=60)

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A certificate authority for this test session only, to sign servers' and clients' certificates."""
    import trustme

    return trustme.CA()


@pytest.fixture(scope="session")
def tls_client(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A client's certificate and key signed by ``tls_ca``, and the CA itself, as PEM files."""
    directory: Path = tmp_path_factory.mktemp("tls-client")
    return TLSFiles.issue(tls_ca, directory, "micro-test-client")
