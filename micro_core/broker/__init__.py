"""Brokers: asynchronous publish/subscribe with queue groups and explicit or automatic acks."""

from micro_core.broker.base import (
    DEAD_LETTER_REASON,
    DEAD_LETTER_SUFFIX,
    DEFAULT_MAX_REDELIVERIES,
    Broker,
    BrokerError,
    Event,
    EventHandler,
    Rejected,
    Subscription,
    attempt,
    check_message,
    dead_letter,
    deliver,
)

__all__ = [
    "DEAD_LETTER_REASON",
    "DEAD_LETTER_SUFFIX",
    "DEFAULT_MAX_REDELIVERIES",
    "Broker",
    "BrokerError",
    "Event",
    "EventHandler",
    "Rejected",
    "Subscription",
    "attempt",
    "check_message",
    "dead_letter",
    "deliver",
]
