"""The driver is found by name and configured through options, as ``micro --broker rabbitmq`` does."""

from __future__ import annotations

from micro_broker_rabbitmq import RabbitMQBroker
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry.memory import MemoryRegistry


def test_options_select_and_tune_the_driver() -> None:
    plugins = Plugins(environ={})
    options = Options(
        code={"broker_address": "amqp://app:pw@mq:5672/shop"},
        environ={"MICRO_BROKER_RABBITMQ_PREFETCH": "8", "MICRO_BROKER_RABBITMQ_EXCHANGE": "events"},
    )
    plugins.add_options(options)
    assert "broker_rabbitmq_max_redeliveries" in options
    broker = plugins.broker("rabbitmq", MemoryRegistry(), options)
    assert isinstance(broker, RabbitMQBroker)
    assert (broker.exchange, broker.prefetch, broker.max_redeliveries) == ("events", 8, 3)
    assert broker.parameters.virtual_host == "shop"
    assert broker.where == "amqp://app:***@mq:5672/shop"
