"""RabbitMQ broker for micro: ``--broker rabbitmq --broker-address amqp://user:pass@host:5672/vhost``."""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_broker_rabbitmq._subscription import RabbitMQEvent, RabbitMQSubscription
    from micro_broker_rabbitmq.broker import RabbitMQBroker

__getattr__ = lazy_exports(
    __name__,
    {
        "RabbitMQEvent": "._subscription",
        "RabbitMQSubscription": "._subscription",
        "RabbitMQBroker": ".broker",
    },
)
__all__ = ["RabbitMQBroker", "RabbitMQEvent", "RabbitMQSubscription"]
