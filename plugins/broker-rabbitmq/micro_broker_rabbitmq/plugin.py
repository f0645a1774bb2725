"""The RabbitMQ driver's settings: declared through ``micro_add_options``, read by ``from_options``."""

from __future__ import annotations

from typing import Any

from micro_core.broker.base import DEFAULT_MAX_REDELIVERIES
from micro_core.hookspecs import hookimpl
from micro_core.options import Options

DEFAULT_EXCHANGE = "micro"
#: Unacknowledged messages a subscription holds at once; also how many handlers run at once.
DEFAULT_PREFETCH = 32
#: Seconds between AMQP heartbeats; a silent server is given up on after about two of them.
DEFAULT_HEARTBEAT = 10.0
#: Seconds a publish (or subscribe) may wait for a connection and the server's confirm.
DEFAULT_TIMEOUT = 30.0


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "broker_rabbitmq_exchange", DEFAULT_EXCHANGE, "RabbitMQ topic exchange that carries the topics"
    )
    options.add(
        "broker_rabbitmq_prefetch",
        DEFAULT_PREFETCH,
        "unacknowledged messages per subscription (and handlers running at once)",
        int,
    )
    options.add(
        "broker_rabbitmq_max_redeliveries",
        DEFAULT_MAX_REDELIVERIES,
        "redeliveries of a failing message before it goes to <topic>.dlq",
        int,
    )
    options.add("broker_rabbitmq_heartbeat", DEFAULT_HEARTBEAT, "seconds between AMQP heartbeats", float)
    options.add(
        "broker_rabbitmq_timeout",
        DEFAULT_TIMEOUT,
        "seconds a publish waits for a connection and the server's confirm before it fails",
        float,
    )
    options.add(
        "broker_rabbitmq_tls_ca", "", "CA bundle (PEM) that signs the server's certificate (amqps://)"
    )
    options.add("broker_rabbitmq_tls_cert", "", "client certificate (PEM) for TLS client authentication")
    options.add("broker_rabbitmq_tls_key", "", "client private key (PEM) for TLS client authentication")


def broker_arguments(options: Options) -> dict[str, Any]:
    """Keyword arguments of :class:`~micro_broker_rabbitmq.RabbitMQBroker` from resolved ``options``."""
    micro_add_options(options)  # declared even when plugin autoloading is off
    return {
        "exchange": options["broker_rabbitmq_exchange"],
        "prefetch": options["broker_rabbitmq_prefetch"],
        "max_redeliveries": options["broker_rabbitmq_max_redeliveries"],
        "heartbeat": options["broker_rabbitmq_heartbeat"],
        "timeout": options["broker_rabbitmq_timeout"],
        "tls_ca": options["broker_rabbitmq_tls_ca"],
        "tls_cert": options["broker_rabbitmq_tls_cert"],
        "tls_key": options["broker_rabbitmq_tls_key"],
    }
