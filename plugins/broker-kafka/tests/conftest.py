"""A real Apache Kafka for the whole test session, and connected brokers on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from micro_broker_kafka import KafkaBroker
from micro_broker_kafka._kafka import KafkaAdminClient
from micro_broker_kafka.testing import KafkaServer

BrokerFactory = Callable[..., Awaitable[KafkaBroker]]


@pytest.fixture(scope="session")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    server = KafkaServer(tmp_path_factory.mktemp("kafka")).start()
    yield server
    server.stop()


@pytest.fixture
async def broker_factory(kafka_server: KafkaServer) -> AsyncIterator[BrokerFactory]:
    """Connected brokers on the session's server; all closed after the test."""
    brokers: list[KafkaBroker] = []

    async def connect(**settings: Any) -> KafkaBroker:
        broker = KafkaBroker(kafka_server.address, **settings)
        await broker.connect()
        brokers.append(broker)
        return broker

    yield connect
    for broker in brokers:
        await broker.close()


@pytest.fixture
async def broker(broker_factory: BrokerFactory) -> KafkaBroker:
    return await broker_factory()


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name of this test's own."""
    return "test." + request.node.name.replace("[", ".").replace("]", "").replace("/", ".")[:200]


@pytest.fixture
async def committed(kafka_server: KafkaServer) -> AsyncIterator[Callable[[str], Awaitable[dict[int, int]]]]:
    """The offsets a consumer group has committed, by partition, as the server has them."""
    admin = await asyncio.to_thread(KafkaAdminClient, bootstrap_servers=kafka_server.address)

    async def offsets(group: str) -> dict[int, int]:
        answer = await asyncio.to_thread(admin.list_group_offsets, {group: None})
        return {tp.partition: meta.offset for tp, meta in answer.get(group, {}).items()}

    yield offsets
    await asyncio.to_thread(admin.close)
