"""Apache Kafka broker for micro: ``--broker kafka --broker-address host:9092,host2:9092``."""

from micro_broker_kafka._subscription import KafkaEvent, KafkaSubscription
from micro_broker_kafka.broker import KafkaBroker

__all__ = ["KafkaBroker", "KafkaEvent", "KafkaSubscription"]
