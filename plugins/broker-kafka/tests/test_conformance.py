"""The broker conformance suite on a real Apache Kafka."""

from __future__ import annotations

import pytest

from micro_broker_kafka import KafkaBroker
from micro_broker_kafka.testing import KafkaServer
from micro_core.broker import Broker
from micro_core.testing.conformance.broker import BrokerConformance, BrokerFactory


class TestKafkaBroker(BrokerConformance):
    #: Kafka keeps order per partition only; topics here have two, so queue groups can share.
    ordered = False
    #: A record belongs to the member that owns its partition: a failing member retries it
    #: and then dead-letters it (see README, "Known limits").
    redelivers_to_other_members = False

    @pytest.fixture
    def broker_factory(self, kafka_server: KafkaServer) -> BrokerFactory:
        async def connect() -> Broker:
            broker = KafkaBroker(kafka_server.address)
            await broker.connect()
            return broker

        return connect
