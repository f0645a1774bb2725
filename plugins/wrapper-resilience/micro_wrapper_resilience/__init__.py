"""Resilience for micro: a circuit breaker per node and endpoint, a client rate limit, a server bulkhead."""

from micro_wrapper_resilience.breaker import Breakers, CircuitBreaker, State, is_failure
from micro_wrapper_resilience.limits import Bulkhead, RateLimit

__all__ = ["Breakers", "Bulkhead", "CircuitBreaker", "RateLimit", "State", "is_failure"]
