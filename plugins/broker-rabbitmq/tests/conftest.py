"""A real RabbitMQ node for the whole test session, and connected brokers on it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from micro_broker_rabbitmq import RabbitMQBroker
from micro_broker_rabbitmq.testing import OpenBroker, RabbitMQServer


@pytest.fixture(scope="session")
def rabbitmq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq")).start()
    yield server
    server.stop()


@pytest.fixture
async def open_broker(rabbitmq_server: RabbitMQServer) -> AsyncIterator[OpenBroker]:
    """Connected brokers on the session's node (settings as keywords); all closed after the test."""
    brokers: list[RabbitMQBroker] = []

    async def connect(address: str = "", **settings: Any) -> RabbitMQBroker:
        broker = RabbitMQBroker(address or rabbitmq_server.address, **settings)
        await broker.connect()
        brokers.append(broker)
        return broker

    yield connect
    for broker in reversed(brokers):
        await broker.close()


@pytest.fixture
def topic() -> str:
    """A topic of this test's own (durable queues outlive a test on the shared node)."""
    return f"test.{uuid.uuid4().hex[:8]}"
