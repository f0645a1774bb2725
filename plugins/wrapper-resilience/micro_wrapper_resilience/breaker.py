"""Circuit breakers, one per node and endpoint: stop calling what keeps failing, probe it later.

A breaker is **closed** (calls go through) until ``failures`` calls in a row fail; then
**open** (the node is passed over for that endpoint) for ``reset`` seconds; then
**half-open**: one call at a time probes it, a success closes the breaker, a failure
opens it again. A failure is what says the node is unwell: no connection, a timeout,
or a 5xx answer; a 4xx is the caller's problem and counts as an answer.

The call wrapper cannot see which node the selector picks, so it picks it: a per-call
selector filter narrows each attempt's candidates to one node whose breaker lets the
call through, and remembers it, so every attempt's outcome is charged to its node.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from enum import StrEnum

import msgspec

from micro_core import errors
from micro_core.registry.model import Node, Service


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def is_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the node is unwell (as opposed to the request being wrong)."""
    if isinstance(exc, errors.MicroError):
        return exc.code >= 500 or exc.code == errors.Timeout.code
    return isinstance(exc, (ConnectionError, OSError, TimeoutError))


class CircuitBreaker:
    """The breaker of one node for one endpoint."""

    __slots__ = ("_clock", "_failures", "_opened", "_probing", "failures", "reset", "state")

    def __init__(self, failures: int, reset: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.reset = reset
        self.state = State.CLOSED
        self._failures = 0
        self._opened = 0.0
        self._probing = False
        self._clock = clock

    def allows(self) -> bool:
        """Whether a call may go to the node now; in half-open, takes the single probe slot."""
        if self.state is State.CLOSED:
            return True
        if self.state is State.OPEN:
            if self._clock() - self._opened < self.reset:
                return False
            self.state = State.HALF_OPEN
        if self._probing:
            return False
        self._probing = True
        return True

    def succeeded(self) -> None:
        self.state = State.CLOSED
        self._failures = 0
        self._probing = False

    def failed(self) -> None:
        self._failures += 1
        self._probing = False
        if self.state is State.HALF_OPEN or self._failures >= self.failures:
            self.state = State.OPEN
            self._opened = self._clock()


class Breakers:
    """Every breaker of one client, made on first use: (service, endpoint, node id) -> breaker."""

    def __init__(self, failures: int, reset: float) -> None:
        self.failures = failures
        self.reset = reset
        self._breakers: dict[tuple[str, str, str], CircuitBreaker] = {}

    def of(self, service: str, endpoint: str, node: str) -> CircuitBreaker:
        key = (service, endpoint, node)
        breaker = self._breakers.get(key)
        if breaker is None:
            breaker = self._breakers[key] = CircuitBreaker(self.failures, self.reset)
        return breaker

    def state(self, service: str, endpoint: str, node: str) -> State:
        """The breaker's state, without taking a probe slot (for tests and status pages)."""
        breaker = self._breakers.get((service, endpoint, node))
        return State.CLOSED if breaker is None else breaker.state


class Attempts:
    """One call's node picks: the selector filter that makes them, and their outcomes."""

    __slots__ = ("_breakers", "_endpoint", "_service", "picked", "refused")

    def __init__(self, breakers: Breakers, service: str, endpoint: str) -> None:
        self._breakers = breakers
        self._service = service
        self._endpoint = endpoint
        #: The nodes picked, one per attempt, in order.
        self.picked: list[CircuitBreaker] = []
        #: Nodes passed over because their breaker is open.
        self.refused = 0

    def __call__(self, services: list[Service]) -> list[Service]:
        """The selector filter: one node whose breaker lets this attempt through, or none."""
        tried = {id(breaker) for breaker in self.picked}
        candidates: list[tuple[Service, Node, CircuitBreaker]] = []
        again: list[tuple[Service, Node, CircuitBreaker]] = []
        for service in services:
            for node in service.nodes:
                breaker = self._breakers.of(self._service, self._endpoint, node.id)
                (again if id(breaker) in tried else candidates).append((service, node, breaker))
        random.shuffle(candidates)
        random.shuffle(again)
        for service, node, breaker in candidates + again:  # untried nodes first, as the client would
            if breaker.allows():
                self.picked.append(breaker)
                return [msgspec.structs.replace(service, nodes=[node])]
            self.refused += 1
        return []

    def settle(self, error: BaseException | None) -> None:
        """Charge the call's outcome: every attempt but the last failed (the client retried)."""
        for breaker in self.picked[:-1]:
            breaker.failed()
        if self.picked:
            if error is not None and is_failure(error):
                self.picked[-1].failed()
            else:
                self.picked[-1].succeeded()


__all__ = ["Attempts", "Breakers", "CircuitBreaker", "State", "is_failure"]
