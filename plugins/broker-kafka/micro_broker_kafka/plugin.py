"""The Kafka driver's settings: declared through ``micro_add_options``, read by ``from_options``.

Security settings are handed to kafka-python as they are, so SASL and TLS work the way
kafka-python documents them; only the empty ones are left out.
"""

from __future__ import annotations

from typing import Any

from micro_core.broker.base import DEFAULT_MAX_REDELIVERIES
from micro_core.hookspecs import hookimpl
from micro_core.options import Options

#: Seconds without a heartbeat before the group gives a member's partitions to the others.
DEFAULT_SESSION_TIMEOUT = 10.0

#: Option name -> kafka-python setting, for the settings passed through unchanged.
_CLIENT_SETTINGS = {
    "broker_kafka_security_protocol": "security_protocol",
    "broker_kafka_sasl_mechanism": "sasl_mechanism",
    "broker_kafka_sasl_username": "sasl_plain_username",
    "broker_kafka_sasl_password": "sasl_plain_password",
    "broker_kafka_ssl_cafile": "ssl_cafile",
    "broker_kafka_ssl_certfile": "ssl_certfile",
    "broker_kafka_ssl_keyfile": "ssl_keyfile",
}


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "broker_kafka_security_protocol",
        "PLAINTEXT",
        "Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    )
    options.add(
        "broker_kafka_sasl_mechanism", "", "Kafka SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"
    )
    options.add("broker_kafka_sasl_username", "", "Kafka SASL user name")
    options.add("broker_kafka_sasl_password", "", "Kafka SASL password")
    options.add("broker_kafka_ssl_cafile", "", "CA bundle (PEM) that signs the Kafka brokers' certificates")
    options.add("broker_kafka_ssl_certfile", "", "client certificate (PEM) for Kafka TLS client auth")
    options.add("broker_kafka_ssl_keyfile", "", "client private key (PEM) for Kafka TLS client auth")
    options.add(
        "broker_kafka_max_redeliveries",
        DEFAULT_MAX_REDELIVERIES,
        "redeliveries of a failing message before it goes to <topic>.dlq",
        int,
    )
    options.add(
        "broker_kafka_session_timeout",
        DEFAULT_SESSION_TIMEOUT,
        "seconds before a silent consumer's partitions go to the rest of its group",
        float,
    )
    options.add(
        "broker_kafka_partitions", -1, "partitions of the topics the driver creates (-1: broker default)", int
    )
    options.add(
        "broker_kafka_replication_factor",
        -1,
        "replication factor of the topics the driver creates (-1: broker default)",
        int,
    )


def broker_arguments(options: Options) -> dict[str, Any]:
    """Keyword arguments of :class:`~micro_broker_kafka.KafkaBroker` from resolved ``options``."""
    micro_add_options(options)  # declared even when plugin autoloading is off
    client = {setting: options[name] for name, setting in _CLIENT_SETTINGS.items() if options[name]}
    return {
        "max_redeliveries": options["broker_kafka_max_redeliveries"],
        "session_timeout": options["broker_kafka_session_timeout"],
        "partitions": options["broker_kafka_partitions"],
        "replication_factor": options["broker_kafka_replication_factor"],
        "client_config": client,
    }
