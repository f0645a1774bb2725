"""The pytest plugin of micro_core (entry point ``pytest11``): fixtures for service tests.

``micro_settings`` gives settings for memory drivers private to one test, so tests
never see each other's services; ``micro_service`` starts services in-process on
them and stops them after the test::

    async def test_hello(micro_service):
        service = await micro_service(Greeter(), name="greeter")
        reply = await service.client.call("greeter", "Greeter.Hello", {"name": "Ada"})
        assert reply == {"message": "Hello Ada"}

For TLS tests against real servers, ``tls_ca`` is a throwaway certificate authority
(``trustme``, a test dependency) and ``tls_client`` a client identity it signed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.service import Service
from micro_core.testing.tls import TLSFiles

if TYPE_CHECKING:
    import trustme

StartService = Callable[..., Awaitable[Service]]


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
