"""Prometheus metrics for micro: ``--metrics-address 127.0.0.1:9100`` serves ``/metrics``.

A process that only calls (no service started) serves its own with ``MetricsServer(address)``.
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_wrapper_prometheus.exposition import MetricsServer

__getattr__ = lazy_exports(__name__, {"MetricsServer": ".exposition"})
__all__ = ["MetricsServer"]
