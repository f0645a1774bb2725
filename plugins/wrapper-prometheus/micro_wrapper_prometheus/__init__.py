"""Prometheus metrics for micro: ``--metrics-address 127.0.0.1:9100`` serves ``/metrics``.

A process that only calls (no service started) serves its own with ``MetricsServer(address)``.
"""

from micro_wrapper_prometheus.exposition import MetricsServer

__all__ = ["MetricsServer"]
