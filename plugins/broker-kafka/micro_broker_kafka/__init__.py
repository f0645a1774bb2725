"""Apache Kafka broker for micro: ``--broker kafka --broker-address host:9092,host2:9092``."""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_broker_kafka._subscription import KafkaEvent, KafkaSubscription
    from micro_broker_kafka.broker import KafkaBroker

__getattr__ = lazy_exports(
    __name__,
    {
        "KafkaEvent": "._subscription",
        "KafkaSubscription": "._subscription",
        "KafkaBroker": ".broker",
    },
)
__all__ = ["KafkaBroker", "KafkaEvent", "KafkaSubscription"]
