"""The metrics, in the process's default Prometheus registry (beside the application's own).

Names follow Prometheus's conventions: ``_total`` counters, ``_seconds`` histograms.
``code`` is ``ok`` or the micro error code (``404``, ``503``…), so the error rate is
``rate(micro_server_requests_total{code!="ok"}[1m])``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_RPC = ("service", "endpoint")

client_requests = Counter(
    "micro_client_requests", "calls made, by callee service, endpoint and outcome", [*_RPC, "code"]
)
client_latency = Histogram("micro_client_request_duration_seconds", "call latency, retries included", _RPC)
client_in_flight = Gauge("micro_client_requests_in_flight", "calls waiting for their reply", _RPC)

server_requests = Counter(
    "micro_server_requests", "calls served, by service, endpoint and outcome", [*_RPC, "code"]
)
server_latency = Histogram("micro_server_request_duration_seconds", "handler latency", _RPC)
server_in_flight = Gauge("micro_server_requests_in_flight", "calls being handled", _RPC)

published = Counter("micro_messages_published", "messages the broker accepted, by topic", ["topic"])
publish_errors = Counter("micro_messages_publish_errors", "publishes the broker refused", ["topic"])
delivered = Counter(
    "micro_messages_delivered", "delivery attempts by topic and outcome (acked, failed)", ["topic", "outcome"]
)
redelivered = Counter(
    "micro_messages_redelivered", "deliveries of a message this process failed before", ["topic"]
)
dead_lettered = Counter(
    "micro_messages_dead_lettered",
    "messages whose last allowed delivery failed here, so the broker dead-letters them",
    ["topic"],
)
deliveries_in_flight = Gauge("micro_messages_in_flight", "deliveries being handled", ["topic"])

__all__ = [
    "client_in_flight",
    "client_latency",
    "client_requests",
    "dead_lettered",
    "delivered",
    "deliveries_in_flight",
    "publish_errors",
    "published",
    "redelivered",
    "server_in_flight",
    "server_latency",
    "server_requests",
]
