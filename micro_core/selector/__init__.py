"""Client-side load balancing: pick a node of a service for each call, from a watched cache.

``random`` (the default) and ``roundrobin`` are the built-in strategies; filters narrow
the candidates per call.
"""

from micro_core.selector.base import Filter, Probe, Selector, Unreachable
from micro_core.selector.cache import RandomSelector, RoundRobinSelector
from micro_core.selector.filters import by_endpoint, by_metadata, by_version

__all__ = [
    "Filter",
    "Probe",
    "RandomSelector",
    "RoundRobinSelector",
    "Selector",
    "Unreachable",
    "by_endpoint",
    "by_metadata",
    "by_version",
]
