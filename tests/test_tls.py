"""micro_core.tls: contexts from PEM files; the HTTP transport and broker on (mutual) TLS."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest
import trustme

from micro_core import Options, Plugins, Service
from micro_core.testing.conformance.transport import SecureTransport, TLSConformance
from micro_core.testing.tls import TLSFiles
from micro_core.tls import TLSConfig, client_context
from micro_core.transport import Message
from micro_core.transport.http import HTTPTransport


def test_a_context_trusts_only_the_given_ca(tls_client: TLSFiles) -> None:
    context = client_context(tls_client.ca, tls_client.cert, tls_client.key)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # the given CA instead of the system's roots


def test_verify_false_accepts_any_server() -> None:
    context = client_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


@pytest.mark.parametrize(
    ("files", "complaint"),
    [
        ({"ca": "/nonexistent/ca.pem"}, "cannot load tls_ca '/nonexistent/ca.pem'"),
        ({"cert": "/nonexistent/c.pem"}, "cannot load tls_cert '/nonexistent/c.pem'"),
        ({"key": "/etc/client.key"}, "tls_key '/etc/client.key' needs a tls_cert"),
    ],
)
def test_an_unusable_file_is_named(files: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        client_context(**files)


# --- the transport and the http broker on (mutual) TLS ---------------------------------------


class TestHTTPTransportTLS(TLSConformance):
    @pytest.fixture
    def secure_transport(self) -> SecureTransport:
        return lambda tls: HTTPTransport(tls=tls)


def test_a_bad_tls_setting_fails_at_start_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot load tls_ca"):
        HTTPTransport(tls=TLSConfig(ca=str(tmp_path / "missing.pem")))


async def test_services_call_and_publish_over_mutual_tls_from_micro_variables(
    tls_ca: trustme.CA, tls_client: TLSFiles, tmp_path: Path
) -> None:
    """Only MICRO_* variables: the transport and the http broker both go over mutual TLS."""
    tls_server = TLSFiles.issue(tls_ca, tmp_path / "server", "127.0.0.1")
    environ = {
        "MICRO_REGISTRY": "local",
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "registry"),
        "MICRO_TLS_CA": tls_server.ca,
        "MICRO_TLS_CERT": tls_server.cert,
        "MICRO_TLS_KEY": tls_server.key,
        "MICRO_TLS_CLIENT_CERT": tls_client.cert,
        "MICRO_TLS_CLIENT_KEY": tls_client.key,
    }
    got: asyncio.Queue[str] = asyncio.Queue()

    class Greeter:
        async def hello(self, name: str) -> str:
            return f"Hello {name}"

    async def on_news(text: str) -> None:
        await got.put(text)

    def service(name: str, *handlers: object) -> Service:
        return Service(
            name, handlers=handlers, plugins=Plugins(autoload=False), options=Options(environ=environ)
        )

    greeter, caller = service("greeter", Greeter()), service("caller")
    greeter.subscribe("news", on_news)
    async with greeter, caller:
        assert await caller.client.call("greeter", "Greeter.Hello", "Ada") == "Hello Ada"
        await caller.client.publish("news", "over TLS")
        assert await asyncio.wait_for(got.get(), 10) == "over TLS"
        [entry] = await caller.registry.get_service("micro.http.broker")
        assert entry.nodes[0].metadata["secure"] == "true"
        with pytest.raises(ConnectionError):  # the same service, called in plaintext
            connection = await HTTPTransport().dial(greeter.address, timeout=5)
            await connection.call(Message({"Micro-Endpoint": "Greeter.Hello"}, b'"Eve"'), timeout=5)


def test_the_tls_settings_come_from_flags_too(tls_client: TLSFiles) -> None:
    def transport(**flags: str) -> HTTPTransport:
        options = Options(flags=flags, environ={"MICRO_TLS_CA": "/ignored/when/a/flag/is/given"})
        Plugins(autoload=False).add_options(options)
        return HTTPTransport.from_options(options)

    files = {"ca": tls_client.ca, "client_cert": tls_client.cert, "client_key": tls_client.key}
    assert transport(**{f"tls_{name}": path for name, path in files.items()}).tls == TLSConfig(**files)
    with pytest.raises(ValueError, match="cannot load tls_ca '/ignored"):
        transport()  # without the flag, the variable counts
