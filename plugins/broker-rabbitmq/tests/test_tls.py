"""``amqps://`` against real RabbitMQ nodes: the server's certificate checked, client certificates shown.

Two nodes with AMQPS listeners serve the session: one takes any client that trusts its
certificate, the other also requires a client certificate signed by the test CA.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from micro_broker_rabbitmq import RabbitMQBroker
from micro_broker_rabbitmq.testing import RabbitMQServer
from micro_core import Service
from micro_core.broker import BrokerError, Event
from micro_core.options import Options
from micro_core.testing.tls import TLSFiles
from micro_core.transport import Message

#: Seconds a refused connection may take: refusals must be quick and never hang.
REFUSED_WITHIN = 15


def _tls_node(tls_ca: trustme.CA, workdir: Path, *, require_client_cert: bool) -> RabbitMQServer:
    files = TLSFiles.issue(tls_ca, workdir, "127.0.0.1")
    return RabbitMQServer(workdir, tls=files, require_client_cert=require_client_cert).start()


@pytest.fixture(scope="session")
def tls_server(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    """A node whose AMQPS listener takes clients without a certificate."""
    server = _tls_node(tls_ca, tmp_path_factory.mktemp("rabbitmq-tls"), require_client_cert=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mtls_server(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    """A node whose AMQPS listener requires a client certificate signed by the test CA."""
    server = _tls_node(tls_ca, tmp_path_factory.mktemp("rabbitmq-mtls"), require_client_cert=True)
    yield server
    server.stop()


@pytest.fixture
async def connected() -> AsyncIterator[list[RabbitMQBroker]]:
    """Brokers a test connected; closed after it."""
    brokers: list[RabbitMQBroker] = []
    yield brokers
    for broker in reversed(brokers):
        await broker.close()


async def connect(brokers: list[RabbitMQBroker], address: str, **tls: Any) -> RabbitMQBroker:
    broker = RabbitMQBroker(address, timeout=10, **tls)
    await broker.connect()
    brokers.append(broker)
    return broker


async def round_trip(broker: RabbitMQBroker) -> Message:
    """Publish one message to a topic of its own and return it as the subscriber got it."""
    topic = f"tls.{uuid.uuid4().hex[:8]}"
    received: asyncio.Queue[Event] = asyncio.Queue()
    await broker.subscribe(topic, received.put)
    await broker.publish(topic, Message({"X-Order": "42"}, b"paid"))
    event = await asyncio.wait_for(received.get(), 20)
    return event.message


async def refusal(address: str, **tls: Any) -> str:
    """The error a broker connecting to ``address`` with ``tls`` settings fails with."""
    broker = RabbitMQBroker(address, timeout=10, **tls)
    with pytest.raises(BrokerError) as caught:
        async with asyncio.timeout(REFUSED_WITHIN):
            await broker.connect()
    return str(caught.value)


async def test_messages_travel_over_amqps_with_the_servers_ca(
    tls_server: RabbitMQServer, tls_client: TLSFiles, connected: list[RabbitMQBroker]
) -> None:
    broker = await connect(connected, tls_server.tls_address, tls_ca=str(tls_client.ca))
    message = await round_trip(broker)
    assert message.header["X-Order"] == "42"
    assert message.body == b"paid"


async def test_server_certificate_the_client_does_not_trust_is_refused(tls_server: RabbitMQServer) -> None:
    # Without tls_ca the system's roots decide, and they never signed the test CA.
    error = await refusal(tls_server.tls_address)
    assert "certificate verify failed" in error
    assert f"127.0.0.1:{tls_server.tls_port}" in error
    assert "guest:guest" not in error


async def test_client_certificate_opens_a_node_that_requires_one(
    mtls_server: RabbitMQServer, tls_client: TLSFiles, connected: list[RabbitMQBroker]
) -> None:
    broker = await connect(
        connected,
        mtls_server.tls_address,
        tls_ca=str(tls_client.ca),
        tls_cert=str(tls_client.cert),
        tls_key=str(tls_client.key),
    )
    message = await round_trip(broker)
    assert (message.header["X-Order"], message.body) == ("42", b"paid")


async def test_client_without_certificate_is_refused_by_a_node_that_requires_one(
    mtls_server: RabbitMQServer, tls_client: TLSFiles
) -> None:
    error = await refusal(mtls_server.tls_address, tls_ca=str(tls_client.ca))
    assert "certificate required" in error
    assert f"127.0.0.1:{mtls_server.tls_port}" in error


async def test_client_certificate_from_another_ca_is_refused(
    mtls_server: RabbitMQServer, tls_client: TLSFiles, tmp_path: Path
) -> None:
    stranger = TLSFiles.issue(trustme.CA(), tmp_path, "micro-test-client")
    error = await refusal(
        mtls_server.tls_address,
        tls_ca=str(tls_client.ca),
        tls_cert=str(stranger.cert),
        tls_key=str(stranger.key),
    )
    assert "unknown ca" in error


async def test_service_options_turn_on_tls_with_a_client_certificate(
    mtls_server: RabbitMQServer, tls_client: TLSFiles
) -> None:
    # What a deployment sets: the environment names the broker, the amqps:// address
    # and the PEM files; nothing in code mentions TLS.
    environ = {
        "MICRO_REGISTRY": "memory",
        "MICRO_TRANSPORT": "memory",
        "MICRO_BROKER": "rabbitmq",
        "MICRO_BROKER_ADDRESS": mtls_server.tls_address,
        "MICRO_BROKER_RABBITMQ_TLS_CA": str(tls_client.ca),
        "MICRO_BROKER_RABBITMQ_TLS_CERT": str(tls_client.cert),
        "MICRO_BROKER_RABBITMQ_TLS_KEY": str(tls_client.key),
        "MICRO_BROKER_RABBITMQ_TIMEOUT": "10",
    }
    topic = f"tls.{uuid.uuid4().hex[:8]}"
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    consumer = Service("tls-consumer", options=Options(environ=environ))

    async def on_order(order: dict[str, str]) -> None:
        await received.put(order)

    consumer.subscribe(topic, on_order, queue="billing")
    publisher = Service("tls-publisher", options=Options(environ=environ))
    await consumer.start()
    try:
        await publisher.connect()
        try:
            await publisher.client.publish(topic, {"order": "42"})
            assert await asyncio.wait_for(received.get(), 20) == {"order": "42"}
        finally:
            await publisher.close()
    finally:
        await consumer.stop()


def test_an_unusable_tls_file_is_named_before_connecting() -> None:
    # Every case of micro_core.tls.client_context is tested there; this is the wiring.
    with pytest.raises(ValueError, match=r"cannot load tls_ca '/nonexistent/ca\.pem'"):
        RabbitMQBroker("amqps://127.0.0.1/", tls_ca="/nonexistent/ca.pem")


def test_tls_settings_on_a_plain_amqp_address_are_refused(tls_client: TLSFiles) -> None:
    # Otherwise the broker would talk in the clear while the operator believes in TLS.
    with pytest.raises(ValueError, match=r"need an amqps:// address, not 'amqp://app:\*\*\*@mq:5672/'"):
        RabbitMQBroker("amqp://app:pw@mq:5672/", tls_ca=str(tls_client.ca))
