"""The broker rules every driver keeps, checked on a real RabbitMQ node."""

from __future__ import annotations

import pytest

from micro_broker_rabbitmq import RabbitMQBroker
from micro_broker_rabbitmq.testing import RabbitMQServer
from micro_core.broker import Broker
from micro_core.testing.conformance.broker import BrokerConformance, BrokerFactory


class TestRabbitMQBroker(BrokerConformance):
    @pytest.fixture
    def broker_factory(self, rabbitmq_server: RabbitMQServer) -> BrokerFactory:
        async def new() -> Broker:
            broker = RabbitMQBroker(rabbitmq_server.address)
            await broker.connect()
            return broker

        return new
