"""Limits that answer at once instead of letting work pile up: a client rate limit and a bulkhead.

- :class:`RateLimit` (client side): a token bucket per callee service. A call over the
  limit is not sent; it fails at once with **429 Too Many Requests** (``id`` =
  ``micro.ratelimit``), which the client does not retry.
- :class:`Bulkhead` (server side): at most ``limit`` calls of one endpoint handled at
  once, so one slow endpoint cannot take every task and connection of the service. A
  call beyond it is answered **503 Service Unavailable** at once, which the client
  understands as "try another node" (retried there within the deadline, this node
  cooled down in its selector).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from micro_core import errors


class RateLimit:
    """``rate`` calls per second with bursts of up to ``burst``, per callee service."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # service -> (tokens, when)

    def take(self, service: str) -> None:
        """Spend a token for a call to ``service``; raise ``errors.TooManyRequests`` if none."""
        now = self._clock()
        tokens, then = self._buckets.get(service, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[service] = (tokens, now)
            raise errors.TooManyRequests(
                f"calls to {service} are limited to {self.rate:g}/s, burst {self.burst} (client_rate_limit)",
                id="micro.ratelimit",
            )
        self._buckets[service] = (tokens - 1, now)


class Bulkhead:
    """At most ``limit`` calls of one endpoint at once; the next is refused with a 503."""

    __slots__ = ("_running", "limit", "name")

    def __init__(self, name: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a bulkhead needs a limit >= 1, not {limit}")
        self.name = name
        self.limit = limit
        self._running = 0

    def enter(self, service: str) -> None:
        if self._running >= self.limit:
            raise errors.ServiceUnavailable(
                f"{self.name}: {self.limit} calls already in progress (server_max_concurrent)", id=service
            )
        self._running += 1

    def leave(self) -> None:
        self._running -= 1


__all__ = ["Bulkhead", "RateLimit"]
