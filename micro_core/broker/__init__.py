"""Brokers: asynchronous publish/subscribe with queue groups and explicit or automatic acks."""

from micro_core.broker.base import Broker, BrokerError, Event, EventHandler, Subscription, deliver

__all__ = ["Broker", "BrokerError", "Event", "EventHandler", "Subscription", "deliver"]
